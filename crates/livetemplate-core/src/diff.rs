//! Tree diff and wire encoding: turns a new [`Tree`] into the smallest JSON that brings a
//! client holding the previous tree up to date (see `docs/protocol.md`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::tree::{Dyn, Item, List, Node, Statics, Tree};

/// Per-connection encoder: remembers which statics the client already holds.
#[derive(Debug, Default)]
pub struct Encoder {
    ids: HashMap<usize, u32>,
    held: Vec<Statics>,
    pending: Vec<u32>,
    scratch: String,
}

/// Structural list edits above this share of the list are sent as one rebuild (`"o"`).
const MAX_OPS_SHARE: usize = 3;

impl Encoder {
    /// A fresh encoder (the client holds no statics).
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget everything the client held (a new connection).
    pub fn reset(&mut self) {
        self.ids.clear();
        self.held.clear();
        self.pending.clear();
    }

    fn statics_id(&mut self, s: &Statics) -> u32 {
        let key = Arc::as_ptr(s) as usize;
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        let id = self.held.len() as u32;
        self.ids.insert(key, id);
        self.held.push(s.clone());
        self.pending.push(id);
        id
    }

    /// Writes `"s":{...}` for statics not yet sent; returns false (writing nothing) when none.
    fn write_pending(&mut self, out: &mut String) -> bool {
        if self.pending.is_empty() {
            return false;
        }
        out.push_str("\"s\":{");
        for (n, id) in self.pending.drain(..).enumerate() {
            if n > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{id}\":[");
            let s = &self.held[id as usize];
            for (i, part) in s.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(out, part);
            }
            out.push(']');
        }
        out.push('}');
        true
    }

    /// The first frame of a connection: protocol version, statics and the full tree.
    pub fn full_frame(&mut self, tree: &Tree, reply_to: Option<u64>) -> String {
        let mut body = String::with_capacity(tree.text.len() * 2 + 128);
        self.write_node(tree, &tree.root, &mut body);
        let mut out = String::with_capacity(body.len() + 64);
        out.push_str("{\"v\":1");
        if let Some(r) = reply_to {
            let _ = write!(out, ",\"r\":{r}");
        }
        out.push(',');
        self.write_pending(&mut out);
        if out.ends_with(',') {
            out.pop();
        }
        out.push_str(",\"t\":");
        out.push_str(&body);
        out.push('}');
        out
    }

    /// The frame that brings a client holding `old` to `new`. `reply_to` is the ref of the
    /// client message this answers. Returns `None` when nothing changed and there is no ref.
    pub fn diff_frame(&mut self, old: &Tree, new: &Tree, reply_to: Option<u64>) -> Option<String> {
        let mut body = String::new();
        let full = if Arc::ptr_eq(&old.root.statics, &new.root.statics) {
            self.diff_node(old, &old.root, new, &new.root, &mut body);
            false
        } else {
            self.write_node(new, &new.root, &mut body);
            true
        };
        if body.is_empty() && reply_to.is_none() {
            return None;
        }
        let mut out = String::with_capacity(body.len() + 32);
        out.push('{');
        if let Some(r) = reply_to {
            let _ = write!(out, "\"r\":{r},");
        }
        if !body.is_empty() {
            if self.write_pending(&mut out) {
                out.push(',');
            }
            out.push_str(if full { "\"t\":" } else { "\"d\":" });
            out.push_str(&body);
        }
        if out.ends_with(',') {
            out.pop();
        }
        out.push('}');
        Some(out)
    }

    // --- full values --------------------------------------------------------------------------

    fn write_node(&mut self, tree: &Tree, node: &Node, out: &mut String) {
        let id = self.statics_id(&node.statics);
        let _ = write!(out, "{{\"s\":{id}");
        for (i, d) in node.dyns.iter().enumerate() {
            let _ = write!(out, ",\"{i}\":");
            self.write_dyn(tree, d, out);
        }
        out.push('}');
    }

    fn write_dyn(&mut self, tree: &Tree, d: &Dyn, out: &mut String) {
        match d {
            Dyn::Text(r) => write_json_str(out, tree.text(*r)),
            Dyn::Branch(None) => out.push_str("\"\""),
            Dyn::Branch(Some(node)) => self.write_node(tree, node, out),
            Dyn::List(list) => self.write_list(tree, list, out),
        }
    }

    fn write_list(&mut self, tree: &Tree, list: &List, out: &mut String) {
        out.push_str("{\"l\":[");
        for (i, item) in list.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.write_node(tree, &item.node, out);
        }
        out.push(']');
        if list.items.is_empty()
            && let Some(node) = &list.otherwise
        {
            out.push_str(",\"e\":");
            self.write_node(tree, node, out);
        }
        out.push('}');
    }

    // --- diffs -------------------------------------------------------------------------------

    /// Write the node diff of two nodes with the same statics; writes nothing when equal.
    fn diff_node(&mut self, ot: &Tree, old: &Node, nt: &Tree, new: &Node, out: &mut String) {
        let start = out.len();
        let mut any = false;
        for (i, (od, nd)) in old.dyns.iter().zip(new.dyns.iter()).enumerate() {
            let slot_start = out.len();
            out.push(if any { ',' } else { '{' });
            out.push('"');
            push_index(out, i);
            out.push_str("\":");
            let value_start = out.len();
            self.diff_dyn(ot, od, nt, nd, out);
            if out.len() == value_start {
                out.truncate(slot_start);
            } else {
                any = true;
            }
        }
        if any {
            out.push('}');
        } else {
            out.truncate(start);
        }
    }

    fn diff_dyn(&mut self, ot: &Tree, od: &Dyn, nt: &Tree, nd: &Dyn, out: &mut String) {
        match (od, nd) {
            (Dyn::Text(a), Dyn::Text(b)) => {
                let b = nt.text(*b);
                if ot.text(*a) != b {
                    write_json_str(out, b);
                }
            }
            (Dyn::Branch(None), Dyn::Branch(None)) => {}
            (Dyn::Branch(Some(a)), Dyn::Branch(Some(b))) if Arc::ptr_eq(&a.statics, &b.statics) => {
                self.diff_node(ot, a, nt, b, out)
            }
            (Dyn::List(a), Dyn::List(b)) => self.diff_list(ot, a, nt, b, out),
            (_, nd) => self.write_dyn(nt, nd, out),
        }
    }

    fn diff_list(&mut self, ot: &Tree, old: &List, nt: &Tree, new: &List, out: &mut String) {
        if old.items.is_empty() || new.items.is_empty() {
            if old.items.is_empty() && new.items.is_empty() {
                let changed = match (&old.otherwise, &new.otherwise) {
                    (None, None) => false,
                    (Some(a), Some(b)) if Arc::ptr_eq(&a.statics, &b.statics) => {
                        let mut tmp = String::new();
                        self.diff_node(ot, a, nt, b, &mut tmp);
                        !tmp.is_empty()
                    }
                    _ => true,
                };
                if !changed {
                    return;
                }
            }
            return self.write_list(nt, new, out);
        }
        let mut ops = Vec::new();
        let same_keys = old.items.len() == new.items.len()
            && old
                .items
                .iter()
                .zip(new.items.iter())
                .all(|(a, b)| a.key == b.key);
        if same_keys {
            for i in 0..new.items.len() {
                self.update_op(ot, &old.items[i].node, nt, &new.items[i].node, i, &mut ops);
            }
        } else {
            match keyed(&old.items).zip(keyed(&new.items)) {
                Some((ok, nk)) => self.keyed_ops(ot, old, &ok, nt, new, &nk, &mut ops),
                None => {
                    if has_duplicate_or_partial_keys(&old.items)
                        || has_duplicate_or_partial_keys(&new.items)
                    {
                        tracing::debug!(
                            "loop items with missing or duplicate data-key: diffing by position"
                        );
                    }
                    self.positional_ops(ot, old, nt, new, &mut ops)
                }
            }
        }
        if ops.is_empty() {
            return;
        }
        out.push_str("{\"o\":[");
        for (i, op) in ops.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(op);
        }
        out.push_str("]}");
    }

    fn positional_ops(
        &mut self,
        ot: &Tree,
        old: &List,
        nt: &Tree,
        new: &List,
        ops: &mut Vec<String>,
    ) {
        let common = old.items.len().min(new.items.len());
        for i in (new.items.len()..old.items.len()).rev() {
            ops.push(format!("[\"r\",{i}]"));
        }
        for (i, item) in new.items.iter().enumerate().skip(common) {
            let mut s = format!("[\"i\",{i},");
            self.write_node(nt, &item.node, &mut s);
            s.push(']');
            ops.push(s);
        }
        for i in 0..common {
            self.update_op(ot, &old.items[i].node, nt, &new.items[i].node, i, ops);
        }
    }

    fn update_op(
        &mut self,
        ot: &Tree,
        old: &Node,
        nt: &Tree,
        new: &Node,
        i: usize,
        ops: &mut Vec<String>,
    ) {
        if Arc::ptr_eq(&old.statics, &new.statics) {
            let mut d = std::mem::take(&mut self.scratch);
            d.clear();
            self.diff_node(ot, old, nt, new, &mut d);
            if !d.is_empty() {
                ops.push(format!("[\"u\",{i},{d}]"));
            }
            self.scratch = d;
        } else {
            ops.push(format!("[\"r\",{i}]"));
            let mut s = format!("[\"i\",{i},");
            self.write_node(nt, new, &mut s);
            s.push(']');
            ops.push(s);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn keyed_ops(
        &mut self,
        ot: &Tree,
        old: &List,
        ok: &[&str],
        nt: &Tree,
        new: &List,
        nk: &[&str],
        ops: &mut Vec<String>,
    ) {
        let old_pos: HashMap<&str, usize> = ok.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        // For each new item: the old index it reuses.
        let from_old: Vec<Option<usize>> = nk.iter().map(|k| old_pos.get(k).copied()).collect();
        let mut kept = vec![false; ok.len()];
        for o in from_old.iter().flatten() {
            kept[*o] = true;
        }
        let removals = kept.iter().filter(|k| !**k).count();
        let inserts = from_old.iter().filter(|o| o.is_none()).count();
        // Rank of each kept old item among kept items, in new order.
        let mut rank_of_old = vec![usize::MAX; ok.len()];
        let mut r = 0;
        for (i, k) in kept.iter().enumerate() {
            if *k {
                rank_of_old[i] = r;
                r += 1;
            }
        }
        let seq: Vec<usize> = from_old.iter().flatten().map(|o| rank_of_old[*o]).collect();
        let stable = lis(&seq);
        let moves = seq.len() - stable.iter().filter(|s| **s).count();
        let structural = removals + inserts + moves;
        if structural > 0 && structural * MAX_OPS_SHARE > new.items.len().max(old.items.len()) + 8 {
            // One rebuild op: cheaper than many single edits.
            let mut s = String::from("[\"o\",[");
            for (j, o) in from_old.iter().enumerate() {
                if j > 0 {
                    s.push(',');
                }
                match o {
                    Some(o) => {
                        let _ = write!(s, "{o}");
                    }
                    None => self.write_node(nt, &new.items[j].node, &mut s),
                }
            }
            s.push_str("]]");
            ops.push(s);
        } else if structural > 0 {
            // Simulate the client's list to compute indices.
            const NEW: usize = usize::MAX;
            let mut work: Vec<usize> = (0..ok.len()).collect();
            for i in (0..ok.len()).rev() {
                if !kept[i] {
                    ops.push(format!("[\"r\",{i}]"));
                    work.remove(i);
                }
            }
            let mut stable_of_old = vec![false; ok.len()];
            for (s, o) in stable.iter().zip(from_old.iter().flatten()) {
                stable_of_old[*o] = *s;
            }
            // Walk new order backwards, placing each item right before its successor.
            let mut next: Option<usize> = None; // position in `work` of new[j+1]
            for j in (0..nk.len()).rev() {
                let anchor = next.unwrap_or(work.len());
                let pos = match from_old[j] {
                    None => {
                        let mut s = format!("[\"i\",{anchor},");
                        self.write_node(nt, &new.items[j].node, &mut s);
                        s.push(']');
                        ops.push(s);
                        work.insert(anchor, NEW - j);
                        anchor
                    }
                    Some(o) if stable_of_old[o] => work.iter().position(|w| *w == o).unwrap_or(0),
                    Some(o) => {
                        let from = work.iter().position(|w| *w == o).unwrap_or(0);
                        let to = if from < anchor { anchor - 1 } else { anchor };
                        if from != to {
                            ops.push(format!("[\"m\",{from},{to}]"));
                            let v = work.remove(from);
                            work.insert(to, v);
                        }
                        to
                    }
                };
                next = Some(pos);
            }
        }
        for (j, o) in from_old.iter().enumerate() {
            if let Some(o) = o {
                self.update_op(ot, &old.items[*o].node, nt, &new.items[j].node, j, ops);
            }
        }
    }
}

fn push_index(out: &mut String, mut i: usize) {
    let mut buf = [0u8; 20];
    let mut n = buf.len();
    loop {
        n -= 1;
        buf[n] = b'0' + (i % 10) as u8;
        i /= 10;
        if i == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[n..]).unwrap_or_default());
}

/// The keys of all items, when every item has one and none repeats.
fn keyed(items: &[Item]) -> Option<Vec<&str>> {
    let mut keys = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for item in items {
        let k = item.key.as_deref()?;
        if !seen.insert(k) {
            return None;
        }
        keys.push(k);
    }
    Some(keys)
}

fn has_duplicate_or_partial_keys(items: &[Item]) -> bool {
    items.iter().any(|i| i.key.is_some()) && keyed(items).is_none()
}

/// Marks the members of one longest increasing subsequence of `seq`.
fn lis(seq: &[usize]) -> Vec<bool> {
    let mut tails: Vec<usize> = Vec::new(); // indices into seq
    let mut prev = vec![usize::MAX; seq.len()];
    for (i, v) in seq.iter().enumerate() {
        let at = tails.partition_point(|t| seq[*t] < *v);
        if at > 0 {
            prev[i] = tails[at - 1];
        }
        if at == tails.len() {
            tails.push(i);
        } else {
            tails[at] = i;
        }
    }
    let mut out = vec![false; seq.len()];
    let mut cur = tails.last().copied();
    while let Some(i) = cur {
        out[i] = true;
        cur = if prev[i] == usize::MAX {
            None
        } else {
            Some(prev[i])
        };
    }
    out
}

/// Append `s` as a JSON string literal.
pub fn write_json_str(out: &mut String, s: &str) {
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
mod tests {
    use super::*;

    #[test]
    fn lis_finds_longest() {
        let m = lis(&[3, 0, 1, 4, 2]);
        assert_eq!(m.iter().filter(|x| **x).count(), 3);
        assert_eq!(lis(&[]).len(), 0);
        assert_eq!(lis(&[4, 3, 2, 1]).iter().filter(|x| **x).count(), 1);
    }

    #[test]
    fn json_strings_escape_controls() {
        let mut s = String::new();
        write_json_str(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001é\"");
    }
}
