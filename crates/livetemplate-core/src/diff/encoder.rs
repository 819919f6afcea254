//! The encoder's walk over two trees: full values, node and list diffs, and the frames
//! around them. Keyed lists are planned in [`super::keyed`]; JSON text is written by
//! [`super::json`].

use std::fmt::Write as _;

use super::Encoder;
use super::json::{push_index, push_slot_header, write_dyn_text, write_json_str};
use super::keyed::{StructOp, has_duplicate_or_partial_keys, keyed, keyed_plan, match_keys};
use crate::protocol::{ServerFrame, key};
use crate::tree::{
    Dyn, Item, List, Node, Statics, StaticsData, StreamOp, StreamSlot, TextRange, Tree, same_bytes, same_statics_ptr,
};

/// The page's part of a [`Encoder::component_frame`].
#[derive(Debug, Clone, Copy)]
pub enum PagePart<'a> {
    /// The page's tree did not change (a component action): no `"d"`.
    Unchanged,
    /// The whole tree (`"t"`).
    Whole(&'a Tree),
    /// The diff from the client's tree to the new one (`"d"`, when anything changed).
    Diff(&'a Tree, &'a Tree),
}

/// What happened to one component instance, for [`Encoder::component_frame`].
#[derive(Debug, Clone, Copy)]
pub enum ComponentChange<'a> {
    /// New, or re-sent whole: its full node.
    Whole(&'a Tree),
    /// Rendered again: the diff from the client's node.
    Diff(&'a Tree, &'a Tree),
    /// No slot refers to it any more: `null`.
    Gone,
}

/// Where the old and the new tree's texts are byte-for-byte equal: a common prefix and a
/// common suffix. A text slot at the same offsets inside the prefix, or at the same distance
/// from the end inside the suffix, is unchanged without comparing its bytes: one pass over the
/// whole text (a few bytes per instruction) replaces a comparison per slot.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct SameText {
    /// Bytes equal at the start of both texts.
    prefix: u32,
    /// Where the common suffix starts in the new text.
    suffix_start: u32,
    /// Length of the new text minus the old's.
    delta: i64,
}

impl SameText {
    fn of(old: &str, new: &str) -> Self {
        let (a, b) = (old.as_bytes(), new.as_bytes());
        let prefix = common_prefix(a, b);
        // The suffix may not reach into the prefix of the shorter text.
        let n = a.len().min(b.len());
        let suffix = common_suffix(&a[prefix..], &b[prefix..]).min(n - prefix);
        SameText {
            prefix: prefix as u32,
            suffix_start: (b.len() - suffix) as u32,
            delta: b.len() as i64 - a.len() as i64,
        }
    }

    /// True when the slots are known equal from their offsets alone.
    #[inline(always)]
    fn known_equal(&self, a: TextRange, b: TextRange) -> bool {
        (a == b && b.end <= self.prefix)
            || (i64::from(a.start) + self.delta == i64::from(b.start)
                && i64::from(a.end) + self.delta == i64::from(b.end)
                && b.start >= self.suffix_start)
    }
}

/// Length of the longest common prefix of `a` and `b`, compared 32 bytes at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (ca, _) = a.as_chunks::<32>();
    let (cb, _) = b.as_chunks::<32>();
    let mut i = ca.iter().zip(cb).take_while(|(x, y)| x == y).count() * 32;
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Length of the longest common suffix of `a` and `b`, compared 32 bytes at a time.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let (_, ca) = a.as_rchunks::<32>();
    let (_, cb) = b.as_rchunks::<32>();
    let mut i = ca.iter().rev().zip(cb.iter().rev()).take_while(|(x, y)| x == y).count() * 32;
    while i < n && a[n - 1 - i] == b[n - 1 - i] {
        i += 1;
    }
    i
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
        self.unique_prev.clear();
    }

    /// Forget which of the client's lists were found to have unique keys: the tree they were
    /// found in was replaced by a copy whose lists start elsewhere (see
    /// [`Tree::without_stream_items`]). The next diff checks their keys again.
    pub fn forget_unique_lists(&mut self) {
        self.unique_prev.clear();
    }

    fn statics_id(&mut self, s: Statics) -> u32 {
        let key = std::ptr::from_ref::<StaticsData>(s) as usize;
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        let id = self.held.len() as u32;
        self.ids.insert(key, id);
        self.held.push(s);
        self.pending.push(id);
        id
    }

    /// Adds `"s":{...}` to `frame` for statics not yet sent; adds nothing when none.
    fn write_pending(&mut self, frame: &mut ServerFrame) {
        if self.pending.is_empty() {
            return;
        }
        let out = frame.field(key::STATICS);
        out.push('{');
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
    }

    /// The first frame of a connection: protocol version, statics and the full tree.
    pub fn full_frame(&mut self, tree: &Tree, reply_to: Option<u64>) -> String {
        self.whole(tree, reply_to, true).into_string()
    }

    /// [`full_frame`](Self::full_frame) left open, so the caller can add keys (a
    /// navigation's URL, title and flash).
    pub(crate) fn first_frame(&mut self, tree: &Tree, reply_to: Option<u64>) -> ServerFrame {
        self.whole(tree, reply_to, true)
    }

    /// A frame whose full tree (`"t"`) replaces the one the client holds, on a connection
    /// whose client already holds statics: `"s"` carries only the statics it lacks, under new
    /// ids, and every id sent before stays valid (there is no `"v"`: a client resets its
    /// statics table only on a new connection). Left open, so the caller can add keys (an
    /// error after a view was mounted again).
    ///
    /// ```
    /// # use livetemplate_core::diff::Encoder;
    /// # use livetemplate_core::tree::Tree;
    /// # fn demo(a: &Tree, b: &Tree) {
    /// let mut encoder = Encoder::new();
    /// let first = encoder.full_frame(a, None); // {"v":2,"s":{…},"t":{…}}
    /// let mut frame = encoder.tree_frame(b, Some(7)); // {"r":7,"t":{…}}, "s" for new statics only
    /// frame.error("internal error (ref 7f3a9c)");
    /// # let _ = (first, frame.finish()); }
    /// ```
    pub fn tree_frame(&mut self, tree: &Tree, reply_to: Option<u64>) -> ServerFrame {
        self.whole(tree, reply_to, false)
    }

    fn whole(&mut self, tree: &Tree, reply_to: Option<u64>, first: bool) -> ServerFrame {
        // The client's lists are all new: none is known to have unique keys.
        self.unique_prev.clear();
        let mut body = String::with_capacity(tree.text.len() * 2 + 128);
        self.write_node(tree, &tree.root, &mut body);
        let mut frame = ServerFrame::with_capacity(body.len() + 64);
        if first {
            frame.version();
        }
        frame.reply(reply_to);
        self.write_pending(&mut frame);
        frame.tree(&body);
        frame
    }

    /// The frame that brings a client holding `old` to `new`. `reply_to` is the ref of the
    /// client message this answers. Returns `None` when nothing changed and there is no ref.
    pub fn diff_frame(&mut self, old: &Tree, new: &Tree, reply_to: Option<u64>) -> Option<String> {
        self.diff(old, new, reply_to).finish()
    }

    /// [`diff_frame`](Self::diff_frame) left open, so the caller can add keys after the diff
    /// (navigation, events). Empty (allocating nothing) when nothing changed and there is no
    /// ref.
    pub fn diff(&mut self, old: &Tree, new: &Tree, reply_to: Option<u64>) -> ServerFrame {
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        self.same = SameText::of(&old.text, &new.text);
        self.unique_next.clear();
        let full = if same_statics_ptr(old.statics_of(&old.root), new.statics_of(&new.root)) {
            self.diff_node(old, &old.root, new, &new.root, &mut body);
            false
        } else {
            self.write_node(new, &new.root, &mut body);
            true
        };
        self.unique_next.sort_unstable();
        std::mem::swap(&mut self.unique_prev, &mut self.unique_next);
        let frame = self.wrap(&body, full, reply_to);
        self.body = body;
        frame
    }

    /// A frame for a page with component instances: the page's part (`"t"` for
    /// [`PagePart::Whole`], `"d"` for [`PagePart::Diff`] when it changed), then `"c"` with one
    /// entry per instance in `changes`: a full node, a node diff (left out when empty) or
    /// `null`. `first`: the connection's first frame (`"v"`). Empty when nothing is to be sent
    /// and there is no ref.
    pub fn component_frame(
        &mut self,
        page: PagePart<'_>,
        changes: &[(u32, ComponentChange<'_>)],
        reply_to: Option<u64>,
        first: bool,
    ) -> ServerFrame {
        let mut body = String::new();
        let mut full = false;
        match page {
            PagePart::Unchanged => {}
            PagePart::Whole(tree) => {
                self.unique_prev.clear();
                self.write_node(tree, &tree.root, &mut body);
                full = true;
            }
            PagePart::Diff(old, new) => {
                self.same = SameText::of(&old.text, &new.text);
                self.unique_next.clear();
                if same_statics_ptr(old.statics_of(&old.root), new.statics_of(&new.root)) {
                    self.diff_node(old, &old.root, new, &new.root, &mut body);
                } else {
                    self.write_node(new, &new.root, &mut body);
                    full = true;
                }
                self.unique_next.sort_unstable();
                std::mem::swap(&mut self.unique_prev, &mut self.unique_next);
            }
        }
        // The keyed lists' record of unique keys is the page's (by item position in the
        // page's tree): a component's lists are checked through a map instead.
        let page_unique = std::mem::take(&mut self.unique_prev);
        let mut comps = String::new();
        for (cid, change) in changes {
            let start = comps.len();
            comps.push(if comps.is_empty() { '{' } else { ',' });
            comps.push('"');
            push_index(&mut comps, *cid as usize);
            comps.push_str("\":");
            let value_start = comps.len();
            match change {
                ComponentChange::Whole(tree) => self.write_node(tree, &tree.root, &mut comps),
                ComponentChange::Diff(old, new) => {
                    self.same = SameText::of(&old.text, &new.text);
                    self.unique_prev.clear();
                    self.unique_next.clear();
                    if same_statics_ptr(old.statics_of(&old.root), new.statics_of(&new.root)) {
                        self.diff_node(old, &old.root, new, &new.root, &mut comps);
                    } else {
                        self.write_node(new, &new.root, &mut comps);
                    }
                }
                ComponentChange::Gone => comps.push_str("null"),
            }
            if comps.len() == value_start {
                comps.truncate(start);
            }
        }
        self.unique_prev = page_unique;
        self.unique_next.clear();
        if !comps.is_empty() {
            comps.push('}');
        }
        if body.is_empty() && comps.is_empty() && reply_to.is_none() && !first {
            return ServerFrame::new();
        }
        let mut frame = ServerFrame::with_capacity(body.len() + comps.len() + 32);
        if first {
            frame.version();
        }
        frame.reply(reply_to);
        self.write_pending(&mut frame);
        if !body.is_empty() {
            if full {
                frame.tree(&body);
            } else {
                frame.diff(&body);
            }
        }
        if !comps.is_empty() {
            frame.components(&comps);
        }
        frame
    }

    /// A frame around a diff (`"d"`) or whole-tree (`"t"`) body: empty when the body is
    /// empty and there is no ref to answer.
    #[inline]
    fn wrap(&mut self, body: &str, full: bool, reply_to: Option<u64>) -> ServerFrame {
        if body.is_empty() && reply_to.is_none() {
            return ServerFrame::new();
        }
        let mut frame = ServerFrame::with_capacity(body.len() + 32);
        frame.reply(reply_to);
        if !body.is_empty() {
            self.write_pending(&mut frame);
            if full {
                frame.tree(body);
            } else {
                frame.diff(body);
            }
        }
        frame
    }

    // --- full values --------------------------------------------------------------------------

    fn write_node(&mut self, tree: &Tree, node: &Node, out: &mut String) {
        let id = self.statics_id(tree.statics_of(node));
        out.push_str("{\"s\":");
        push_index(out, id as usize);
        for (i, d) in tree.dyns(node).iter().enumerate() {
            out.push_str(",\"");
            push_index(out, i);
            out.push_str("\":");
            self.write_dyn(tree, d, out);
        }
        out.push('}');
    }

    fn write_dyn(&mut self, tree: &Tree, d: &Dyn, out: &mut String) {
        match d {
            Dyn::Text(r) => write_dyn_text(out, tree.text(*r)),
            Dyn::Branch(None) => out.push_str("\"\""),
            Dyn::Branch(Some(node)) => self.write_node(tree, node, out),
            Dyn::List(list) => self.write_list(tree, list, out),
            Dyn::Component(cid) => {
                out.push_str("{\"c\":");
                push_index(out, *cid as usize);
                out.push('}');
            }
            Dyn::Stream(slot) => self.write_stream(tree, slot, out),
        }
    }

    /// A stream slot: `{"s":id,"x":[op,…],"n":limit}`, `"s"` (the first inserted item's
    /// statics) only when an item is inserted, `"n"` only when the stream has a limit. Each
    /// insert's item is written as [`Self::write_item`] does against that `"s"`.
    fn write_stream(&mut self, tree: &Tree, slot: &StreamSlot, out: &mut String) {
        let items = tree.stream_items(slot);
        let list_statics = items.first().map(|item| tree.statics_of(&item.node));
        out.push('{');
        if let Some(s) = list_statics {
            let id = self.statics_id(s);
            out.push_str("\"s\":");
            push_index(out, id as usize);
            out.push(',');
        }
        out.push_str("\"x\":[");
        let mut limit = None;
        let mut first = true;
        for op in tree.stream_ops(slot) {
            if let StreamOp::Limit(n) = op {
                limit = Some(n);
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            match op {
                StreamOp::Reset => out.push_str("[\"r\"]"),
                StreamOp::Delete(id) => {
                    out.push_str("[\"d\",");
                    out.push_str(id);
                    out.push(']');
                }
                StreamOp::Insert { at, item, dom_id } => {
                    let _ = write!(out, "[\"i\",{at},{dom_id},");
                    match (items.get(item), list_statics) {
                        (Some(it), Some(s)) => self.write_item(tree, &it.node, s, out),
                        _ => out.push_str("[]"),
                    }
                    out.push(']');
                }
                StreamOp::Limit(_) => {}
            }
        }
        out.push(']');
        if let Some(n) = limit {
            let _ = write!(out, ",\"n\":{n}");
        }
        out.push('}');
    }

    /// A stream slot in a diff: written (as [`Self::write_stream`]) when it has operations or
    /// its limit changed; the items the browser holds are not the server's to compare.
    fn diff_stream(&mut self, ot: &Tree, old: &StreamSlot, nt: &Tree, new: &StreamSlot, out: &mut String) {
        let has_ops = nt.stream_ops(new).any(|op| !matches!(op, StreamOp::Limit(_)));
        if has_ops || ot.stream_limit(old) != nt.stream_limit(new) {
            self.write_stream(nt, new, out);
        }
    }

    /// A full list: `{"s":id,"l":[…]}`, each item whose statics are the first item's (the
    /// list's `s`, as the client keeps it) written positionally.
    fn write_list(&mut self, tree: &Tree, list: &List, out: &mut String) {
        let items = tree.items(list);
        let list_statics = items.first().map(|item| tree.statics_of(&item.node));
        out.push('{');
        if let Some(s) = list_statics {
            let id = self.statics_id(s);
            out.push_str("\"s\":");
            push_index(out, id as usize);
            out.push(',');
        }
        out.push_str("\"l\":[");
        if let Some(s) = list_statics {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                self.write_item(tree, &item.node, s, out);
            }
        }
        out.push(']');
        if let Some(node) = tree.otherwise(list) {
            out.push_str(",\"e\":");
            self.write_node(tree, node, out);
        }
        out.push('}');
    }

    /// A list item: the array of its slot values when its statics are the list's (`s`), else
    /// a node object.
    #[inline]
    fn write_item(&mut self, tree: &Tree, node: &Node, list_statics: Statics, out: &mut String) {
        if !same_statics_ptr(tree.statics_of(node), list_statics) {
            return self.write_node(tree, node, out);
        }
        out.push('[');
        for (i, d) in tree.dyns(node).iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.write_dyn(tree, d, out);
        }
        out.push(']');
    }

    // --- diffs -------------------------------------------------------------------------------

    /// Write the node diff of two nodes with the same statics; writes nothing when equal.
    fn diff_node(&mut self, ot: &Tree, old: &Node, nt: &Tree, new: &Node, out: &mut String) {
        let (odyns, ndyns) = (ot.dyns(old), nt.dyns(new));
        if self.unchanged_texts(ot, odyns, nt, ndyns) {
            return;
        }
        let start = out.len();
        let mut any = false;
        for (i, (od, nd)) in odyns.iter().zip(ndyns.iter()).enumerate() {
            // Text, the common case: skipped when unchanged, else written with no header to
            // take back.
            if let (Dyn::Text(a), Dyn::Text(b)) = (od, nd) {
                if !self.same_text(ot, *a, nt, *b) {
                    push_slot_header(out, any, i);
                    write_dyn_text(out, nt.text(*b));
                    any = true;
                }
                continue;
            }
            let slot_start = out.len();
            push_slot_header(out, any, i);
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
                if !self.same_text(ot, *a, nt, *b) {
                    write_dyn_text(out, nt.text(*b));
                }
            }
            (Dyn::Branch(None), Dyn::Branch(None)) => {}
            (Dyn::Branch(Some(a)), Dyn::Branch(Some(b))) if same_statics_ptr(ot.statics_of(a), nt.statics_of(b)) => {
                self.diff_node(ot, a, nt, b, out)
            }
            (Dyn::List(a), Dyn::List(b)) => self.diff_list(ot, a, nt, b, out),
            (Dyn::Component(a), Dyn::Component(b)) if a == b => {}
            (Dyn::Stream(a), Dyn::Stream(b)) => self.diff_stream(ot, a, nt, b, out),
            (_, nd) => self.write_dyn(nt, nd, out),
        }
    }

    fn diff_list(&mut self, ot: &Tree, old: &List, nt: &Tree, new: &List, out: &mut String) {
        let (oi, ni) = (ot.items(old), nt.items(new));
        if oi.is_empty() || ni.is_empty() {
            if oi.is_empty() && ni.is_empty() {
                let changed = match (ot.otherwise(old), nt.otherwise(new)) {
                    (None, None) => false,
                    (Some(a), Some(b)) if same_statics_ptr(ot.statics_of(a), nt.statics_of(b)) => {
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
        // The client keeps the statics of the list's first item as the list's `s`: ops keep
        // the first item's statics, and a list whose first item changed them is sent whole.
        let list_statics = ot.statics_of(&oi[0].node);
        if !same_statics_ptr(list_statics, nt.statics_of(&ni[0].node)) {
            return self.write_list(nt, new, out);
        }
        let mut ops = Vec::new();
        let same_keys = oi.len() == ni.len()
            && oi.iter().zip(ni.iter()).all(|(a, b)| match (a.key, b.key) {
                (Some(x), Some(y)) => self.same_text(ot, x, nt, y),
                (None, None) => true,
                _ => false,
            });
        // The client's list was the new list of the last diff, where its keys were found
        // unique (or not): see `unique_prev`.
        let old_unique = self.unique_prev.binary_search(&old.items.start).is_ok();
        if same_keys {
            if old_unique || (ni[0].key.is_some() && keyed(nt, ni).is_some()) {
                self.unique_next.push(new.items.start);
            }
            for i in 0..ni.len() {
                self.update_op(ot, &oi[i].node, nt, &ni[i].node, i, list_statics, &mut ops);
            }
        } else {
            match match_keys(ot, oi, nt, ni, old_unique) {
                Some(from_old) => {
                    self.unique_next.push(new.items.start);
                    self.keyed_ops(ot, oi, from_old, nt, ni, list_statics, &mut ops)
                }
                None => {
                    if tracing::enabled!(tracing::Level::DEBUG)
                        && (has_duplicate_or_partial_keys(ot, oi) || has_duplicate_or_partial_keys(nt, ni))
                    {
                        tracing::debug!("loop items with missing or duplicate data-key: diffing by position");
                    }
                    self.positional_ops(ot, oi, nt, ni, list_statics, &mut ops)
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

    fn positional_ops(&mut self, ot: &Tree, oi: &[Item], nt: &Tree, ni: &[Item], ls: Statics, ops: &mut Vec<String>) {
        let common = oi.len().min(ni.len());
        for i in (ni.len()..oi.len()).rev() {
            ops.push(format!("[\"r\",{i}]"));
        }
        for (i, item) in ni.iter().enumerate().skip(common) {
            ops.push(self.insert_op(nt, &item.node, i, ls));
        }
        for i in 0..common {
            self.update_op(ot, &oi[i].node, nt, &ni[i].node, i, ls, ops);
        }
    }

    /// The op bringing item `i` from `old` to `new`, if it changed; `ls` is the list's `s`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn update_op(
        &mut self,
        ot: &Tree,
        old: &Node,
        nt: &Tree,
        new: &Node,
        i: usize,
        ls: Statics,
        ops: &mut Vec<String>,
    ) {
        if !self.known_unchanged(ot, old, nt, new) {
            self.update_op_slow(ot, old, nt, new, i, ls, ops);
        }
    }

    /// True when the node is known unchanged from its slots' offsets alone: same statics, and
    /// every slot a text inside the texts' common prefix or suffix. Most items of a long list.
    #[inline(always)]
    fn known_unchanged(&self, ot: &Tree, old: &Node, nt: &Tree, new: &Node) -> bool {
        let same = self.same;
        same_statics_ptr(ot.statics_of(old), nt.statics_of(new))
            && all_texts(ot.dyns(old), nt.dyns(new), |a, b| same.known_equal(a, b))
    }

    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn update_op_slow(
        &mut self,
        ot: &Tree,
        old: &Node,
        nt: &Tree,
        new: &Node,
        i: usize,
        ls: Statics,
        ops: &mut Vec<String>,
    ) {
        if same_statics_ptr(ot.statics_of(old), nt.statics_of(new)) {
            if self.unchanged_texts(ot, ot.dyns(old), nt, nt.dyns(new)) {
                return;
            }
            let mut d = std::mem::take(&mut self.scratch);
            d.clear();
            self.diff_node(ot, old, nt, new, &mut d);
            if !d.is_empty() {
                ops.push(format!("[\"u\",{i},{d}]"));
            }
            self.scratch = d;
        } else {
            ops.push(format!("[\"r\",{i}]"));
            ops.push(self.insert_op(nt, new, i, ls));
        }
    }

    /// The op inserting `node` at `at`: `["i",at,item]`, the item written as [`Self::write_item`]
    /// does; `ls` is the list's `s`.
    fn insert_op(&mut self, nt: &Tree, node: &Node, at: usize, ls: Statics) -> String {
        let mut s = format!("[\"i\",{at},");
        self.write_item(nt, node, ls, &mut s);
        s.push(']');
        s
    }

    #[allow(clippy::too_many_arguments)]
    fn keyed_ops(
        &mut self,
        ot: &Tree,
        oi: &[Item],
        from_old: Vec<Option<usize>>,
        nt: &Tree,
        ni: &[Item],
        ls: Statics,
        ops: &mut Vec<String>,
    ) {
        let (structural, plan) = keyed_plan(&from_old, oi.len());
        if structural > 0 && structural * MAX_OPS_SHARE > ni.len().max(oi.len()) + 8 {
            // One rebuild op: cheaper than many single edits.
            let mut s = String::from("[\"o\",[");
            for (j, o) in from_old.iter().enumerate() {
                if j > 0 {
                    s.push(',');
                }
                match o {
                    Some(o) => push_index(&mut s, *o),
                    None => self.write_item(nt, &ni[j].node, ls, &mut s),
                }
            }
            s.push_str("]]");
            ops.push(s);
        } else if structural > 0 {
            for op in plan() {
                match op {
                    StructOp::Remove(i) => ops.push(format!("[\"r\",{i}]")),
                    StructOp::Insert { at, j } => ops.push(self.insert_op(nt, &ni[j].node, at, ls)),
                    StructOp::Move { from, to } => ops.push(format!("[\"m\",{from},{to}]")),
                }
            }
        }
        for (j, o) in from_old.iter().enumerate() {
            if let Some(o) = o {
                self.update_op(ot, &oi[*o].node, nt, &ni[j].node, j, ls, ops);
            }
        }
    }
}

impl Encoder {
    /// True when every slot is unchanged text (the usual case for most items of a long
    /// list, moved or not): a tight loop without building any output.
    #[inline(always)]
    fn unchanged_texts(&self, ot: &Tree, od: &[Dyn], nt: &Tree, nd: &[Dyn]) -> bool {
        all_texts(od, nd, |a, b| self.same_text(ot, a, nt, b))
    }

    /// True when two text slots hold the same text: known from their offsets (see
    /// [`SameText`]) or compared as bytes (no char boundary checks).
    #[inline]
    fn same_text(&self, ot: &Tree, a: TextRange, nt: &Tree, b: TextRange) -> bool {
        self.same.known_equal(a, b)
            || (a.end - a.start == b.end - b.start
                && match (
                    ot.text.as_bytes().get(a.start as usize..a.end as usize),
                    nt.text.as_bytes().get(b.start as usize..b.end as usize),
                ) {
                    (Some(x), Some(y)) => same_bytes(x, y),
                    _ => false,
                })
    }
}

/// True when both slot lists are all text, as many, and `eq` holds for each pair.
#[inline(always)]
fn all_texts(od: &[Dyn], nd: &[Dyn], eq: impl Fn(TextRange, TextRange) -> bool) -> bool {
    od.len() == nd.len()
        && od.iter().zip(nd).all(|pair| match pair {
            (Dyn::Text(a), Dyn::Text(b)) => eq(*a, *b),
            _ => false,
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_and_suffix_at_every_offset() {
        let base: Vec<u8> = (0..200u32).map(|i| b'a' + (i % 26) as u8).collect();
        for at in 0..base.len() {
            let mut changed = base.clone();
            changed[at] = b'#';
            assert_eq!(common_prefix(&base, &changed), at);
            assert_eq!(common_suffix(&base, &changed), base.len() - 1 - at);
        }
        assert_eq!(common_prefix(b"abc", b"abcdef"), 3);
        assert_eq!(common_suffix(b"def", b"abcdef"), 3);
        assert_eq!(common_prefix(b"", b"x"), 0);
        // Prefix and suffix never overlap in the shorter text: "aa" -> "aaa".
        let s = SameText::of("aa", "aaa");
        assert_eq!((s.prefix, s.suffix_start), (2, 3));
    }

    #[test]
    fn known_equal_only_inside_the_common_parts() {
        // old: "abXcd", new: "abYYcd" (one slot grew in the middle).
        let s = SameText::of("abXcd", "abYYcd");
        let r = |start, end| TextRange { start, end };
        assert!(s.known_equal(r(0, 2), r(0, 2)));
        assert!(!s.known_equal(r(2, 3), r(2, 4)));
        assert!(s.known_equal(r(3, 5), r(4, 6)));
        assert!(!s.known_equal(r(0, 3), r(0, 3)));
    }
}
