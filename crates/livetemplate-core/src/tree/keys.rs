//! The `data-key` of a loop item: read from its first element's opening tag, in the statics
//! or in slot 0 (`<tr data-key="{{ id }}">`).

use super::model::{Dyn, Node, StaticsData, TextRange};

/// True when the item's key is the text of its slot 0: its statics start with an opening tag
/// ending in `data-key="`, the slot follows, then `"` (`<tr data-key="{{ id }}">`).
#[inline]
pub(super) fn key_slot0(statics: &StaticsData, node: &Node, dyns: &[Dyn]) -> bool {
    let s0 = statics.get(0);
    statics.len() > 1
        && s0.ends_with("data-key=\"")
        && !s0.contains('>')
        && statics.get(1).starts_with('"')
        && matches!(dyns[node.dyns.range()].first(), Some(Dyn::Text(_)))
}

/// The `data-key` attribute of an item's first element, if any, as a range of `text` (a key
/// written in the statics is appended to `text`). `statics` are `node`'s, `dyns` the arena
/// holding its slots.
pub(super) fn item_key(statics: &StaticsData, node: &Node, dyns: &[Dyn], text: &mut String) -> Option<TextRange> {
    let slots = &dyns[node.dyns.range()];
    let s0 = statics.get(0);
    let first_text = match (slots.first(), statics.len() > 1) {
        (Some(Dyn::Text(r)), true) if statics.get(1).starts_with('"') => Some(*r),
        _ => None,
    };
    // Fast path: `<tr data-key="{{ id }}">`.
    if s0.ends_with("data-key=\"")
        && !s0.contains('>')
        && let Some(r) = first_text
    {
        return Some(r);
    }
    let owned: Option<Box<str>> = 'found: {
        if let Some(pos) = s0.rfind("data-key=\"") {
            let after = &s0[pos + 10..];
            if after.is_empty() {
                if let Some(r) = first_text
                    && !s0[..pos].contains('>')
                {
                    return Some(r);
                }
            } else if let Some(end) = after.find('"')
                && !s0[..pos].contains('>')
            {
                break 'found Some(after[..end].into());
            }
        }
        // General path: rebuild the opening tag up to its first `>` outside quotes.
        let mut tag = String::new();
        'outer: for (i, part) in statics.iter().enumerate() {
            tag.push_str(part);
            if tag_closed(&tag) {
                break;
            }
            match slots.get(i) {
                Some(Dyn::Text(r)) => tag.push_str(&text[r.start as usize..r.end as usize]),
                _ => break 'outer,
            }
            if tag_closed(&tag) {
                break;
            }
        }
        attr_value(&tag, "data-key")
    };
    owned.map(|k| {
        let start = text.len() as u32;
        text.push_str(&k);
        TextRange {
            start,
            end: text.len() as u32,
        }
    })
}

fn tag_closed(s: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in s.chars() {
        if !started {
            if c == '<' {
                started = true;
            }
            continue;
        }
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return true,
            _ => {}
        }
    }
    false
}

fn attr_value(tag: &str, name: &str) -> Option<Box<str>> {
    let start = tag.find('<')?;
    let mut rest = &tag[start..];
    let end = {
        let mut quote: Option<char> = None;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '>') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        end
    };
    rest = &rest[..end];
    let bytes = rest.as_bytes();
    let mut i = 0;
    while let Some(off) = rest[i..].find(name) {
        let at = i + off;
        let before_ok = at > 0 && bytes[at - 1].is_ascii_whitespace();
        let after = &rest[at + name.len()..];
        let after_trim = after.trim_start();
        if before_ok && after_trim.starts_with('=') {
            let v = after_trim[1..].trim_start();
            let value = if let Some(q) = v.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let inner = &v[1..];
                &inner[..inner.find(q).unwrap_or(inner.len())]
            } else {
                let e = v.find(|c: char| c.is_ascii_whitespace() || c == '/').unwrap_or(v.len());
                &v[..e]
            };
            return Some(value.into());
        }
        i = at + name.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_value_reads_quoted_and_bare() {
        assert_eq!(attr_value("<tr data-key=\"a b\">", "data-key").as_deref(), Some("a b"));
        assert_eq!(
            attr_value("<tr class=x data-key=k1>", "data-key").as_deref(),
            Some("k1")
        );
        assert_eq!(attr_value("<tr xdata-key=\"no\">", "data-key"), None);
        assert_eq!(
            attr_value("<tr title='>' data-key='q'>", "data-key").as_deref(),
            Some("q")
        );
    }
}
