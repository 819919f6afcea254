//! The key of a loop item: the `data-key` attribute of its root element's opening tag or,
//! when it has none, its `id`.
//!
//! Where the key comes from is worked out once per statics, when they are interned
//! ([`KeyPlan::of`]): the value is one slot's text (`<tr id="row-{{ id }}" data-key="{{ id }}">`,
//! whatever the attribute's place), literal text and slots (`data-key="row-{{ id }}"`), or, when
//! the opening tag has a slot outside any quoted value (`<tr {{ attrs|safe }}>`), unknown until
//! the item's text is there (the tag is then rebuilt and read per item).

use super::model::{Dyn, Node, StaticsData, TextRange};

/// Where the key of an item with given statics comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyPlan {
    /// No `data-key` or `id` attribute in the opening tag: the item has no key.
    None,
    /// The text of slot `.0`, on its own: no copy (the most common case).
    Slot(u32),
    /// Literal text of the statics and slots' text, concatenated.
    Parts(Box<[KeyPart]>),
    /// The opening tag depends on a slot outside a quoted value: read it per item.
    Scan,
}

/// One piece of a [`KeyPlan::Parts`] key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyPart {
    /// Bytes `start..end` of the statics' text.
    Lit(u32, u32),
    /// The text of a slot.
    Slot(u32),
}

/// One unit of an opening tag: a byte of the statics' text (with its offset), or a slot.
#[derive(Clone, Copy)]
enum Unit {
    Byte(u8, u32),
    Slot(u32),
}

impl KeyPlan {
    /// The plan for items with these statics (`text` split by `ends`, as in [`StaticsData`]).
    pub(super) fn of(text: &str, ends: &[u32]) -> KeyPlan {
        // The units up to the end of the first opening tag, or the end of the statics.
        let bytes = text.as_bytes();
        let mut units = Vec::new();
        let mut start = 0usize;
        for (i, &end) in ends.iter().enumerate() {
            units.extend((start..end as usize).map(|at| Unit::Byte(bytes[at], at as u32)));
            if i + 1 < ends.len() {
                units.push(Unit::Slot(i as u32));
            }
            start = end as usize;
        }
        Self::of_units(&units)
    }

    fn of_units(units: &[Unit]) -> KeyPlan {
        let mut at = 0;
        // Text before the tag; a slot there could hold the tag itself.
        loop {
            match units.get(at) {
                None => return KeyPlan::None,
                Some(Unit::Slot(_)) => return KeyPlan::Scan,
                Some(Unit::Byte(b'<', _)) => break,
                Some(Unit::Byte(..)) => at += 1,
            }
        }
        at += 1;
        let is_space = |u: Option<&Unit>| matches!(u, Some(Unit::Byte(b, _)) if b.is_ascii_whitespace());
        let byte = |u: Option<&Unit>| match u {
            Some(Unit::Byte(b, _)) => Some(*b),
            _ => None,
        };
        // The tag name.
        while let Some(b) = byte(units.get(at)) {
            if b.is_ascii_whitespace() || b == b'>' || b == b'/' {
                break;
            }
            at += 1;
        }
        let mut id: Option<Vec<KeyPart>> = None;
        loop {
            while is_space(units.get(at)) || byte(units.get(at)) == Some(b'/') {
                at += 1;
            }
            match units.get(at) {
                // No `>`: not a complete tag (a comment, broken markup).
                None => return KeyPlan::None,
                Some(Unit::Slot(_)) => return KeyPlan::Scan,
                Some(Unit::Byte(b'>', _)) => break,
                Some(Unit::Byte(..)) => {}
            }
            let name_start = at;
            while let Some(b) = byte(units.get(at)) {
                if b.is_ascii_whitespace() || b == b'=' || b == b'>' || b == b'/' {
                    break;
                }
                at += 1;
            }
            if let Some(Unit::Slot(_)) = units.get(at) {
                return KeyPlan::Scan;
            }
            let name: Vec<u8> = units[name_start..at]
                .iter()
                .filter_map(|u| byte(Some(u)))
                .map(|b| b.to_ascii_lowercase())
                .collect();
            let mut value: Vec<KeyPart> = Vec::new();
            let mut ahead = at;
            while is_space(units.get(ahead)) {
                ahead += 1;
            }
            let has_value = byte(units.get(ahead)) == Some(b'=');
            if has_value {
                at = ahead + 1;
                while is_space(units.get(at)) {
                    at += 1;
                }
                match units.get(at) {
                    Some(Unit::Byte(q @ (b'"' | b'\''), _)) => {
                        let q = *q;
                        at += 1;
                        loop {
                            match units.get(at) {
                                None => return KeyPlan::None,
                                Some(Unit::Byte(b, _)) if *b == q => break,
                                Some(Unit::Byte(_, off)) => push_lit(&mut value, *off),
                                Some(Unit::Slot(s)) => value.push(KeyPart::Slot(*s)),
                            }
                            at += 1;
                        }
                        at += 1;
                    }
                    _ => loop {
                        match units.get(at) {
                            Some(Unit::Slot(_)) => return KeyPlan::Scan,
                            Some(Unit::Byte(b, off)) if !b.is_ascii_whitespace() && *b != b'>' => {
                                push_lit(&mut value, *off)
                            }
                            _ => break,
                        }
                        at += 1;
                    },
                }
            }
            if !has_value {
                // `<li hidden>`: a bare attribute is no key.
                continue;
            }
            if name == b"data-key" {
                return KeyPlan::from_parts(value);
            }
            if name == b"id" && id.is_none() {
                id = Some(value);
            }
        }
        id.map_or(KeyPlan::None, KeyPlan::from_parts)
    }

    fn from_parts(parts: Vec<KeyPart>) -> KeyPlan {
        match parts[..] {
            [KeyPart::Slot(s)] => KeyPlan::Slot(s),
            _ => KeyPlan::Parts(parts.into()),
        }
    }

    /// The slot whose text is the key, when that is the whole plan.
    #[inline]
    pub(super) fn slot(&self) -> Option<u32> {
        match self {
            KeyPlan::Slot(s) => Some(*s),
            _ => None,
        }
    }
}

/// Extend the last literal part by the byte at `off`, or start a new one.
fn push_lit(parts: &mut Vec<KeyPart>, off: u32) {
    if let Some(KeyPart::Lit(_, end)) = parts.last_mut()
        && *end == off
    {
        *end = off + 1;
        return;
    }
    parts.push(KeyPart::Lit(off, off + 1));
}

/// The key of `node` (an item with `statics`), as a range of `text`: a slot's own range, or
/// the key appended to `text` when it is made of several pieces. `dyns` is the arena holding
/// the node's slots. `None` when the item has no key, or a slot of it is not text.
pub(super) fn item_key(statics: &StaticsData, node: &Node, dyns: &[Dyn], text: &mut String) -> Option<TextRange> {
    let slots = &dyns[node.dyns.range()];
    match &statics.key {
        KeyPlan::None => None,
        KeyPlan::Slot(s) => match slots.get(*s as usize) {
            Some(Dyn::Text(r)) => Some(*r),
            _ => None,
        },
        KeyPlan::Parts(parts) => {
            let start = text.len();
            for part in parts.iter() {
                match *part {
                    KeyPart::Lit(a, b) => text.push_str(&statics.text[a as usize..b as usize]),
                    KeyPart::Slot(s) => match slots.get(s as usize) {
                        Some(Dyn::Text(r)) => text.extend_from_within(r.start as usize..r.end as usize),
                        _ => {
                            text.truncate(start);
                            return None;
                        }
                    },
                }
            }
            Some(TextRange {
                start: start as u32,
                end: text.len() as u32,
            })
        }
        KeyPlan::Scan => scan_key(statics, slots, text),
    }
}

/// The key read from the item's rebuilt opening tag: for tags with a slot outside quotes.
#[cold]
fn scan_key(statics: &StaticsData, slots: &[Dyn], text: &mut String) -> Option<TextRange> {
    thread_local! {
        static TAG: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    TAG.with(|tag| {
        // A nested use on this thread (none is known) gets a fresh buffer.
        let mut own = String::new();
        let mut borrowed = tag.try_borrow_mut();
        let tag = match borrowed.as_deref_mut() {
            Ok(t) => t,
            Err(_) => &mut own,
        };
        tag.clear();
        for (i, part) in statics.iter().enumerate() {
            tag.push_str(part);
            if tag_closed(tag) {
                break;
            }
            match slots.get(i) {
                Some(Dyn::Text(r)) => tag.push_str(&text[r.start as usize..r.end as usize]),
                _ => break,
            }
            if tag_closed(tag) {
                break;
            }
        }
        let key = attr_value(tag, "data-key").or_else(|| attr_value(tag, "id"))?;
        let start = text.len() as u32;
        text.push_str(key);
        Some(TextRange {
            start,
            end: text.len() as u32,
        })
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

fn attr_value<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
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
            return Some(value);
        }
        i = at + name.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan for statics given as their parts.
    fn plan(parts: &[&str]) -> KeyPlan {
        let mut text = String::new();
        let mut ends = Vec::new();
        for p in parts {
            text.push_str(p);
            ends.push(text.len() as u32);
        }
        KeyPlan::of(&text, &ends)
    }

    /// The key a plan gives for slot texts `slots`, against statics `parts`.
    fn key(parts: &[&str], slots: &[&str]) -> Option<String> {
        let mut text = String::new();
        let mut ends = Vec::new();
        for p in parts {
            text.push_str(p);
            ends.push(text.len() as u32);
        }
        let statics = StaticsData::new(&text, &ends);
        let mut tree_text = String::new();
        let dyns: Vec<Dyn> = slots
            .iter()
            .map(|s| {
                let start = tree_text.len() as u32;
                tree_text.push_str(s);
                Dyn::Text(TextRange {
                    start,
                    end: tree_text.len() as u32,
                })
            })
            .collect();
        let node = Node {
            statics: super::super::model::StaticsId::new(0),
            dyns: super::super::model::Span {
                start: 0,
                len: dyns.len() as u32,
            },
        };
        item_key(&statics, &node, &dyns, &mut tree_text)
            .map(|r| tree_text[r.start as usize..r.end as usize].to_string())
    }

    #[test]
    fn data_key_anywhere_in_the_tag_is_one_slot() {
        assert_eq!(plan(&["<tr data-key=\"", "\">", "</tr>"]), KeyPlan::Slot(0));
        // The table: `id` first, then `data-key`.
        assert_eq!(
            plan(&["<tr id=\"row-", "\" data-key=\"", "\"><td>", "</td></tr>"]),
            KeyPlan::Slot(1)
        );
        assert_eq!(
            plan(&["\n  <li class=\"", "\" title='", "' data-key='", "'>", "</li>"]),
            KeyPlan::Slot(2)
        );
        assert_eq!(plan(&["<tr DATA-KEY = ", " >", "</tr>"]), KeyPlan::Scan);
    }

    #[test]
    fn id_is_the_key_without_data_key() {
        assert_eq!(plan(&["<li id=\"", "\">", "</li>"]), KeyPlan::Slot(0));
        assert_eq!(
            key(&["<li class=a id=\"item-", "\">", "</li>"], &["7", "x"]).as_deref(),
            Some("item-7")
        );
        // `data-key` wins wherever it is.
        assert_eq!(
            plan(&["<li id=\"a", "\" data-key=\"", "\">", "</li>"]),
            KeyPlan::Slot(1)
        );
        // Not an attribute of the root element, or not an attribute at all.
        assert_eq!(plan(&["<li><span id=\"", "\">", "</span></li>"]), KeyPlan::None);
        assert_eq!(plan(&["<li title=\"id=", "\">", "</li>"]), KeyPlan::None);
        assert_eq!(plan(&["<li data-id=\"", "\">", "</li>"]), KeyPlan::None);
        assert_eq!(plan(&["plain text"]), KeyPlan::None);
        assert_eq!(plan(&["<li data-key id=\"", "\">", "</li>"]), KeyPlan::Slot(0));
        assert_eq!(plan(&["<br data-key/>", ""]), KeyPlan::None);
        assert_eq!(key(&["plain ", " text"], &["x"]), None);
    }

    #[test]
    fn keys_made_of_pieces_and_literals() {
        assert_eq!(
            key(&["<tr data-key=\"r-", "-", "\">", "</tr>"], &["1", "2", "x"]).as_deref(),
            Some("r-1-2")
        );
        assert_eq!(
            key(&["<tr data-key=k1><td>", "</td></tr>"], &["x"]).as_deref(),
            Some("k1")
        );
        assert_eq!(key(&["<tr data-key=\"a b\">", "</tr>"], &["x"]).as_deref(), Some("a b"));
        assert_eq!(
            key(&["<tr title='>' data-key='q'>", "</tr>"], &["x"]).as_deref(),
            Some("q")
        );
        assert_eq!(key(&["<tr xdata-key=\"no\">", "</tr>"], &["x"]), None);
        assert_eq!(key(&["<tr data-key=\"\">", "</tr>"], &["x"]).as_deref(), Some(""));
    }

    #[test]
    fn a_slot_outside_quotes_is_read_per_item() {
        let parts = ["<tr ", " data-key=\"", "\">", "</tr>"];
        assert_eq!(plan(&parts), KeyPlan::Scan);
        assert_eq!(key(&parts, &["class=x", "5", "y"]).as_deref(), Some("5"));
        assert_eq!(key(&parts, &["data-key=first", "5", "y"]).as_deref(), Some("first"));
        // A slot before the tag may hold the tag.
        assert_eq!(plan(&["", "<td>", "</td>"]), KeyPlan::Scan);
        assert_eq!(key(&["", "</tr>"], &["<tr data-key=\"z\">"]).as_deref(), Some("z"));
    }

    #[test]
    fn attr_value_reads_quoted_and_bare() {
        assert_eq!(attr_value("<tr data-key=\"a b\">", "data-key"), Some("a b"));
        assert_eq!(attr_value("<tr class=x data-key=k1>", "data-key"), Some("k1"));
        assert_eq!(attr_value("<tr xdata-key=\"no\">", "data-key"), None);
        assert_eq!(attr_value("<tr title='>' data-key='q'>", "data-key"), Some("q"));
    }
}
