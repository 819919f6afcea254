//! Writing JSON text: string literals, numbers and slot keys, without serde on the hot path.
//!
//! A dyn's text goes on the wire as a JSON number when it is a canonical decimal integer
//! (see [`is_wire_number`]), else as a string: `["501","row-501","007"]` is written
//! `[501,"row-501","007"]`.

use std::fmt::Write as _;

/// `{"i":` for a node's first changed slot, `,"i":` for the others.
#[inline]
pub(super) fn push_slot_header(out: &mut String, first_written: bool, i: usize) {
    out.push_str(if first_written { ",\"" } else { "{\"" });
    if i < 10 {
        out.push(char::from(b'0' + i as u8));
    } else {
        push_index(out, i);
    }
    out.push_str("\":");
}

#[inline]
pub(super) fn push_index(out: &mut String, i: usize) {
    push_u64(out, i as u64);
}

#[inline]
fn push_u64(out: &mut String, i: u64) {
    out.push_str(itoa::Buffer::new().format(i));
}

/// Longest digit run written as a JSON number: every integer of at most 15 digits is exactly
/// a JS double, so the browser's `String(n)` gives the server's text back.
const MAX_NUMBER_DIGITS: usize = 15;

/// True when `s` is a canonical decimal integer: `-?(0|[1-9][0-9]*)`, not `-0`, at most
/// [`MAX_NUMBER_DIGITS`] digits. Such a text reads back unchanged from a JSON number in any
/// client (`String(501)` is `"501"`); `"007"`, `"-0"`, `"1.5"`, `"1e3"`, `"+1"`, `""` and
/// 16-digit numbers do not, and stay strings.
#[inline]
pub(super) fn is_wire_number(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = match b {
        [b'-', rest @ ..] => rest,
        _ => b,
    };
    match digits {
        [] => false,
        // "0" alone; "-0" and "07" are not canonical.
        [b'0', rest @ ..] => rest.is_empty() && digits.len() == b.len(),
        [_, ..] => digits.len() <= MAX_NUMBER_DIGITS && digits.iter().all(u8::is_ascii_digit),
    }
}

/// Append a dyn's text: as a JSON number when it is one ([`is_wire_number`]), else as a JSON
/// string literal.
#[inline]
pub(super) fn write_dyn_text(out: &mut String, s: &str) {
    if is_wire_number(s) {
        out.push_str(s);
    } else {
        write_json_str(out, s);
    }
}

/// Append `s` as a JSON string literal.
#[inline]
pub fn write_json_str(out: &mut String, s: &str) {
    // Most text needs no escape: one pass to check, one copy.
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", b);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_controls() {
        let mut s = String::new();
        write_json_str(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }

    #[test]
    fn only_canonical_integers_are_numbers() {
        for n in [
            "0",
            "7",
            "-7",
            "501",
            "-501",
            "999999999999999",
            "-999999999999999",
            "100000000000000",
        ] {
            assert!(is_wire_number(n), "{n}");
            let mut out = String::new();
            write_dyn_text(&mut out, n);
            assert_eq!(out, n);
        }
        for s in [
            "",
            "-",
            "-0",
            "00",
            "007",
            "-07",
            "+1",
            "1.5",
            "1e3",
            " 1",
            "1 ",
            "0x1",
            "1_000",
            "١",
            "1000000000000000",
            "-1000000000000000",
            "12345678901234567890",
        ] {
            assert!(!is_wire_number(s), "{s:?}");
            let mut out = String::new();
            write_dyn_text(&mut out, s);
            assert_eq!(out, format!("\"{s}\""));
        }
        // Every integer of at most 15 digits reads back as its own text from a double.
        for n in [
            1i64,
            9_007_199_254_740_991 / 10,
            -123_456_789_012_345,
            999_999_999_999_999,
        ] {
            let text = n.to_string();
            assert!(is_wire_number(&text));
            assert_eq!((n as f64) as i64, n);
        }
    }
}
