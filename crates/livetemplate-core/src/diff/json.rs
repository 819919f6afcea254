//! Writing JSON text: string literals, numbers and slot keys, without serde on the hot path.

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
}
