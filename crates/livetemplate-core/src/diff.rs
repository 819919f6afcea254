//! Tree diff and wire encoding: turns a new [`Tree`] into the smallest JSON that brings a
//! client holding the previous tree up to date (see `docs/protocol.md`).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt::Write as _;

use crate::protocol::{ServerFrame, key};
use crate::tree::{Dyn, Item, List, Node, Statics, StaticsData, TextRange, Tree, same_bytes, same_statics_ptr};

/// Per-connection encoder: remembers which statics the client already holds.
#[derive(Debug, Default)]
pub struct Encoder {
    ids: HashMap<usize, u32>,
    held: Vec<Statics>,
    pending: Vec<u32>,
    scratch: String,
    /// The body of the frame being built, kept between frames for its capacity.
    body: String,
    /// How the two trees' texts line up, for the diff in progress.
    same: SameText,
    /// The keyed lists of the client's tree (the new tree of the last diff) whose keys are
    /// known to be all there and unique, by the start of their items: sorted.
    ///
    /// A list matched to such a list item by item (each new item to an unused old item with
    /// its key, each other key checked absent from the old list and not repeated) has unique
    /// keys too, so only the first diff of a list needs to check all its keys through a map.
    /// Should a caller diff against another tree than the last new one, this can only make a
    /// list with repeated keys take the keyed diff instead of the positional one; the frame is
    /// right either way, as every new item is matched to an old item with its key.
    unique_prev: Vec<u32>,
    /// The same for the new tree of the diff in progress.
    unique_next: Vec<u32>,
}

/// Where the old and the new tree's texts are byte-for-byte equal: a common prefix and a
/// common suffix. A text slot at the same offsets inside the prefix, or at the same distance
/// from the end inside the suffix, is unchanged without comparing its bytes: one pass over the
/// whole text (a few bytes per instruction) replaces a comparison per slot.
#[derive(Debug, Default, Clone, Copy)]
struct SameText {
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
        self.unique_prev.clear();
        let mut body = String::with_capacity(tree.text.len() * 2 + 128);
        self.write_node(tree, &tree.root, &mut body);
        let mut frame = ServerFrame::with_capacity(body.len() + 64);
        frame.version();
        frame.reply(reply_to);
        self.write_pending(&mut frame);
        frame.tree(&body);
        frame.into_string()
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
            Dyn::Text(r) => write_json_str(out, tree.text(*r)),
            Dyn::Branch(None) => out.push_str("\"\""),
            Dyn::Branch(Some(node)) => self.write_node(tree, node, out),
            Dyn::List(list) => self.write_list(tree, list, out),
        }
    }

    fn write_list(&mut self, tree: &Tree, list: &List, out: &mut String) {
        out.push_str("{\"l\":[");
        let items = tree.items(list);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.write_node(tree, &item.node, out);
        }
        out.push(']');
        if let Some(node) = tree.otherwise(list) {
            out.push_str(",\"e\":");
            self.write_node(tree, node, out);
        }
        out.push('}');
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
                    write_json_str(out, nt.text(*b));
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
                    write_json_str(out, nt.text(*b));
                }
            }
            (Dyn::Branch(None), Dyn::Branch(None)) => {}
            (Dyn::Branch(Some(a)), Dyn::Branch(Some(b))) if same_statics_ptr(ot.statics_of(a), nt.statics_of(b)) => {
                self.diff_node(ot, a, nt, b, out)
            }
            (Dyn::List(a), Dyn::List(b)) => self.diff_list(ot, a, nt, b, out),
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
                self.update_op(ot, &oi[i].node, nt, &ni[i].node, i, &mut ops);
            }
        } else {
            match match_keys(ot, oi, nt, ni, old_unique) {
                Some(from_old) => {
                    self.unique_next.push(new.items.start);
                    self.keyed_ops(ot, oi, from_old, nt, ni, &mut ops)
                }
                None => {
                    if tracing::enabled!(tracing::Level::DEBUG)
                        && (has_duplicate_or_partial_keys(ot, oi) || has_duplicate_or_partial_keys(nt, ni))
                    {
                        tracing::debug!("loop items with missing or duplicate data-key: diffing by position");
                    }
                    self.positional_ops(ot, oi, nt, ni, &mut ops)
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

    fn positional_ops(&mut self, ot: &Tree, oi: &[Item], nt: &Tree, ni: &[Item], ops: &mut Vec<String>) {
        let common = oi.len().min(ni.len());
        for i in (ni.len()..oi.len()).rev() {
            ops.push(format!("[\"r\",{i}]"));
        }
        for (i, item) in ni.iter().enumerate().skip(common) {
            let mut s = format!("[\"i\",{i},");
            self.write_node(nt, &item.node, &mut s);
            s.push(']');
            ops.push(s);
        }
        for i in 0..common {
            self.update_op(ot, &oi[i].node, nt, &ni[i].node, i, ops);
        }
    }

    #[inline(always)]
    fn update_op(&mut self, ot: &Tree, old: &Node, nt: &Tree, new: &Node, i: usize, ops: &mut Vec<String>) {
        if !self.known_unchanged(ot, old, nt, new) {
            self.update_op_slow(ot, old, nt, new, i, ops);
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
    fn update_op_slow(&mut self, ot: &Tree, old: &Node, nt: &Tree, new: &Node, i: usize, ops: &mut Vec<String>) {
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
            let mut s = format!("[\"i\",{i},");
            self.write_node(nt, new, &mut s);
            s.push(']');
            ops.push(s);
        }
    }

    fn keyed_ops(
        &mut self,
        ot: &Tree,
        oi: &[Item],
        from_old: Vec<Option<usize>>,
        nt: &Tree,
        ni: &[Item],
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
                    None => self.write_node(nt, &ni[j].node, &mut s),
                }
            }
            s.push_str("]]");
            ops.push(s);
        } else if structural > 0 {
            for op in plan() {
                match op {
                    StructOp::Remove(i) => ops.push(format!("[\"r\",{i}]")),
                    StructOp::Insert { at, j } => {
                        let mut s = format!("[\"i\",{at},");
                        self.write_node(nt, &ni[j].node, &mut s);
                        s.push(']');
                        ops.push(s);
                    }
                    StructOp::Move { from, to } => ops.push(format!("[\"m\",{from},{to}]")),
                }
            }
        }
        for (j, o) in from_old.iter().enumerate() {
            if let Some(o) = o {
                self.update_op(ot, &oi[*o].node, nt, &ni[j].node, j, ops);
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

/// One structural edit of a keyed list, in the client's current indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StructOp {
    /// `["r", i]`.
    Remove(usize),
    /// `["i", at, node of new item j]`.
    Insert { at: usize, j: usize },
    /// `["m", from, to]`.
    Move { from: usize, to: usize },
}

/// Plans the structural edits of a keyed list: `from_old[j]` is the old index new item `j`
/// reuses (none: a new item), `n_old` the old length. Returns the number of removes, inserts
/// and moves, and a function listing them (see [`structural_ops`]).
///
/// Items that keep their place at the start and at the end (same key at the same index
/// from either end) are left out of the longest-increasing-subsequence and the simulation:
/// they are always in the subsequence the full computation picks (they hold the smallest
/// ranks at the front and the largest at the back, in order), so the plan, shifted by the
/// common prefix's length, is exactly the one for the whole list.
fn keyed_plan(from_old: &[Option<usize>], n_old: usize) -> (usize, impl FnOnce() -> Vec<StructOp>) {
    let n_new = from_old.len();
    let common = n_old.min(n_new);
    let mut pre = 0;
    while pre < common && from_old[pre] == Some(pre) {
        pre += 1;
    }
    let mut suf = 0;
    while pre + suf < common && from_old[n_new - 1 - suf] == Some(n_old - 1 - suf) {
        suf += 1;
    }
    let m_old = n_old - pre - suf;
    let mid: Vec<Option<usize>> = from_old[pre..n_new - suf].iter().map(|o| o.map(|o| o - pre)).collect();
    let mut kept = vec![false; m_old];
    for o in mid.iter().flatten() {
        kept[*o] = true;
    }
    let removals = kept.iter().filter(|k| !**k).count();
    let inserts = mid.iter().filter(|o| o.is_none()).count();
    // Rank of each kept old item among kept items, in new order.
    let mut rank_of_old = vec![usize::MAX; m_old];
    let mut r = 0;
    for (i, k) in kept.iter().enumerate() {
        if *k {
            rank_of_old[i] = r;
            r += 1;
        }
    }
    let seq: Vec<usize> = mid.iter().flatten().map(|o| rank_of_old[*o]).collect();
    let stable = lis(&seq);
    let moves = seq.len() - stable.iter().filter(|s| **s).count();
    let plan = move || {
        let mut stable_of_old = vec![false; m_old];
        for (s, o) in stable.iter().zip(mid.iter().flatten()) {
            stable_of_old[*o] = *s;
        }
        let mut plan = Vec::new();
        structural_ops(&mid, &kept, &stable_of_old, &mut plan);
        for op in &mut plan {
            *op = match *op {
                StructOp::Remove(i) => StructOp::Remove(i + pre),
                StructOp::Insert { at, j } => StructOp::Insert {
                    at: at + pre,
                    j: j + pre,
                },
                StructOp::Move { from, to } => StructOp::Move {
                    from: from + pre,
                    to: to + pre,
                },
            };
        }
        plan
    };
    (removals + inserts + moves, plan)
}

/// A Fenwick tree of slot occupancy: the client index of an item is the number of occupied
/// slots before its slot.
struct Occupancy(Vec<i32>);

impl Occupancy {
    /// Built in linear time from per-slot occupancy.
    fn new(occupied: &[bool]) -> Self {
        let n = occupied.len();
        let mut t = vec![0i32; n + 1];
        for (i, o) in occupied.iter().enumerate() {
            t[i + 1] += i32::from(*o);
            let parent = (i + 1) + ((i + 1) & (i + 1).wrapping_neg());
            if parent <= n {
                t[parent] += t[i + 1];
            }
        }
        Occupancy(t)
    }

    fn add(&mut self, slot: usize, delta: i32) {
        let mut i = slot + 1;
        while i < self.0.len() {
            self.0[i] += delta;
            i += i & i.wrapping_neg();
        }
    }

    /// Occupied slots before `slot`.
    fn before(&self, slot: usize) -> usize {
        let mut i = slot;
        let mut sum = 0i32;
        while i > 0 {
            sum += self.0[i];
            i -= i & i.wrapping_neg();
        }
        sum as usize
    }
}

/// The removes, inserts and moves that turn the old keyed list into the new one's order.
///
/// Removes go first (old indices, descending). Then the new order is walked backwards and
/// every item that is not stable (not in the longest increasing subsequence) is inserted or
/// moved right before its successor. This is the result of simulating the client's list
/// with `Vec::insert`/`remove`, but every item's index is read from a Fenwick tree over a
/// fixed slot order instead of being searched for, so it costs O(n log n), not O(n²).
///
/// Slots: stable items split both orders into the same gaps. Gap `k` (before the k-th stable
/// item, or the end) holds first the old slots of the non-stable kept items that start in
/// it (old order), then the slots of the non-stable new items that end up in it (new order),
/// then the stable item's own slot. An item placed before its successor lands in its gap's
/// second region, right before its successor's slot, with nothing occupied in between.
fn structural_ops(from_old: &[Option<usize>], kept: &[bool], stable_of_old: &[bool], ops: &mut Vec<StructOp>) {
    for i in (0..kept.len()).rev() {
        if !kept[i] {
            ops.push(StructOp::Remove(i));
        }
    }
    let mut work_len = kept.iter().filter(|k| **k).count();
    // Gap of each kept old item, and of each new item that is not stable.
    let mut old_gap = vec![0usize; kept.len()];
    let mut gaps = 0;
    for o in 0..kept.len() {
        if kept[o] {
            old_gap[o] = gaps;
            if stable_of_old[o] {
                gaps += 1;
            }
        }
    }
    let mut new_gap = vec![0usize; from_old.len()];
    let mut g = 0;
    for (j, o) in from_old.iter().enumerate() {
        match o {
            Some(o) if stable_of_old[*o] => g += 1,
            _ => new_gap[j] = g,
        }
    }
    let mut old_cnt = vec![0usize; gaps + 1];
    let mut chain_cnt = vec![0usize; gaps + 1];
    for o in 0..kept.len() {
        if kept[o] && !stable_of_old[o] {
            old_cnt[old_gap[o]] += 1;
        }
    }
    for (j, o) in from_old.iter().enumerate() {
        if !matches!(o, Some(o) if stable_of_old[*o]) {
            chain_cnt[new_gap[j]] += 1;
        }
    }
    let mut base = vec![0usize; gaps + 1];
    for k in 0..gaps {
        base[k + 1] = base[k] + old_cnt[k] + chain_cnt[k] + 1;
    }
    let total = base[gaps] + old_cnt[gaps] + chain_cnt[gaps];
    // Current slot of each kept old item, and target slot of each non-stable new item.
    let mut old_slot = vec![0usize; kept.len()];
    let mut seen = vec![0usize; gaps + 1];
    let mut occupied = vec![false; total];
    for o in 0..kept.len() {
        if !kept[o] {
            continue;
        }
        let k = old_gap[o];
        let slot = if stable_of_old[o] {
            base[k] + old_cnt[k] + chain_cnt[k]
        } else {
            seen[k] += 1;
            base[k] + seen[k] - 1
        };
        old_slot[o] = slot;
        occupied[slot] = true;
    }
    seen.iter_mut().for_each(|c| *c = 0);
    let mut chain_slot = vec![0usize; from_old.len()];
    for (j, o) in from_old.iter().enumerate() {
        if !matches!(o, Some(o) if stable_of_old[*o]) {
            let k = new_gap[j];
            chain_slot[j] = base[k] + old_cnt[k] + seen[k];
            seen[k] += 1;
        }
    }
    let mut occ = Occupancy::new(&occupied);
    // Walk new order backwards, placing each item right before its successor.
    let mut next: Option<usize> = None; // client index of new[j+1]
    for j in (0..from_old.len()).rev() {
        let anchor = next.unwrap_or(work_len);
        let pos = match from_old[j] {
            None => {
                ops.push(StructOp::Insert { at: anchor, j });
                occ.add(chain_slot[j], 1);
                work_len += 1;
                anchor
            }
            Some(o) if stable_of_old[o] => occ.before(old_slot[o]),
            Some(o) => {
                let from = occ.before(old_slot[o]);
                let to = if from < anchor { anchor - 1 } else { anchor };
                if from != to {
                    ops.push(StructOp::Move { from, to });
                }
                occ.add(old_slot[o], -1);
                occ.add(chain_slot[j], 1);
                to
            }
        };
        next = Some(pos);
    }
}

/// `{"i":` for a node's first changed slot, `,"i":` for the others.
#[inline]
fn push_slot_header(out: &mut String, first_written: bool, i: usize) {
    out.push_str(if first_written { ",\"" } else { "{\"" });
    if i < 10 {
        out.push(char::from(b'0' + i as u8));
    } else {
        push_index(out, i);
    }
    out.push_str("\":");
}

fn push_index(out: &mut String, i: usize) {
    push_u64(out, i as u64);
}

fn push_u64(out: &mut String, i: u64) {
    out.push_str(itoa::Buffer::new().format(i));
}

/// Item key → index in its list. Keys often come from user data, so the map keeps std's
/// randomly keyed SipHash: crafted keys cannot force collisions.
type KeyMap<'a> = HashMap<&'a str, usize, RandomState>;

/// The index of every item by key, when every item has one and none repeats.
fn keyed<'t>(tree: &'t Tree, items: &[Item]) -> Option<KeyMap<'t>> {
    let mut map = KeyMap::with_capacity_and_hasher(items.len(), RandomState::new());
    for (i, item) in items.iter().enumerate() {
        let k = tree.key(item)?;
        if map.insert(k, i).is_some() {
            return None;
        }
    }
    Some(map)
}

/// Wrong guesses [`match_keys`] resolves by scanning the old keys before it uses a map.
const SCAN_LIMIT: usize = 8;

/// For each new item, the index of the old item with the same key, or none for a new key;
/// `None` when an item of either list has no key or a key repeats in its list.
///
/// A new item's old index is first guessed from its predecessor's (the next or previous old
/// item: runs of kept items, reversed runs; the first or last for the first item) and checked
/// by comparing keys. A wrong guess looks the key up: in a map of every old key, which also
/// finds a key repeated in the old list, or — when the old list's keys are known unique
/// (`old_unique`) and there were at most [`SCAN_LIMIT`] wrong guesses so far (an inserted or
/// moved item) — by scanning the old keys, without building the map. Each new item goes to a
/// distinct old item with its key, and each other new key is checked absent from the old list
/// and not repeated, so with unique old keys a match means the new list's keys are unique too.
fn match_keys(ot: &Tree, oi: &[Item], nt: &Tree, ni: &[Item], old_unique: bool) -> Option<Vec<Option<usize>>> {
    let old_key = |o: usize| {
        oi[o]
            .key
            .and_then(|r| ot.text.as_bytes().get(r.start as usize..r.end as usize))
    };
    let mut map = if old_unique { None } else { Some(keyed(ot, oi)?) };
    let mut from_old = Vec::with_capacity(ni.len());
    let mut used = vec![false; oi.len()];
    let mut fresh = KeyMap::with_hasher(RandomState::new());
    let mut scans = 0;
    let mut prev: Option<usize> = None;
    for (j, item) in ni.iter().enumerate() {
        let k = nt.key(item)?;
        let kb = k.as_bytes();
        let fits = |c: usize| !used[c] && old_key(c).is_some_and(|o| same_bytes(o, kb));
        let guess = match prev {
            Some(p) if p + 1 < oi.len() && fits(p + 1) => Some(p + 1),
            Some(p) if p > 0 && fits(p - 1) => Some(p - 1),
            None if !oi.is_empty() && fits(0) => Some(0),
            None if !oi.is_empty() && fits(oi.len() - 1) => Some(oi.len() - 1),
            _ => None,
        };
        let found = match guess {
            Some(o) => Some(o),
            None if map.is_none() && scans < SCAN_LIMIT => {
                scans += 1;
                let mut hits = (0..oi.len()).filter(|o| old_key(*o).is_some_and(|k| same_bytes(k, kb)));
                match (hits.next(), hits.next()) {
                    (Some(_), Some(_)) => return None,
                    (found, _) => found,
                }
            }
            None => {
                if map.is_none() {
                    map = Some(keyed(ot, oi)?);
                }
                map.as_ref().and_then(|m| m.get(k).copied())
            }
        };
        match found {
            // Another new item has this key already.
            Some(o) if std::mem::replace(&mut used[o], true) => return None,
            Some(o) => prev = Some(o),
            None if fresh.insert(k, j).is_some() => return None,
            None => {}
        }
        from_old.push(found);
    }
    // Every old key must be there for the keyed diff (the map checked it when built).
    if map.is_none() && (0..oi.len()).any(|o| old_key(o).is_none()) {
        return None;
    }
    Some(from_old)
}

fn has_duplicate_or_partial_keys(tree: &Tree, items: &[Item]) -> bool {
    items.iter().any(|i| i.key.is_some()) && keyed(tree, items).is_none()
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
        cur = if prev[i] == usize::MAX { None } else { Some(prev[i]) };
    }
    out
}

/// Append `s` as a JSON string literal.
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
mod tests {
    use super::*;

    /// The original O(n²) simulation, as the reference for `structural_ops`.
    fn structural_ops_naive(from_old: &[Option<usize>], kept: &[bool], stable_of_old: &[bool]) -> Vec<StructOp> {
        const NEW: usize = usize::MAX;
        let mut ops = Vec::new();
        let mut work: Vec<usize> = (0..kept.len()).collect();
        for i in (0..kept.len()).rev() {
            if !kept[i] {
                ops.push(StructOp::Remove(i));
                work.remove(i);
            }
        }
        let mut next: Option<usize> = None;
        for j in (0..from_old.len()).rev() {
            let anchor = next.unwrap_or(work.len());
            let pos = match from_old[j] {
                None => {
                    ops.push(StructOp::Insert { at: anchor, j });
                    work.insert(anchor, NEW - j);
                    anchor
                }
                Some(o) if stable_of_old[o] => work.iter().position(|w| *w == o).expect("kept item"),
                Some(o) => {
                    let from = work.iter().position(|w| *w == o).expect("kept item");
                    let to = if from < anchor { anchor - 1 } else { anchor };
                    if from != to {
                        ops.push(StructOp::Move { from, to });
                        let v = work.remove(from);
                        work.insert(to, v);
                    }
                    to
                }
            };
            next = Some(pos);
        }
        ops
    }

    #[test]
    fn structural_ops_match_simulation() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = |m: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % m.max(1)
        };
        for _ in 0..3000 {
            let n_old = rnd(40);
            // Half the lists get few edits, so they keep a common start and end.
            let rare = if rnd(2) == 0 { 4 } else { 30 };
            // New list: a shuffled subset of old keys plus some new ones.
            let mut new: Vec<Option<usize>> = (0..n_old).filter(|_| rnd(rare) != 0).map(Some).collect();
            for i in (1..new.len()).rev() {
                if rnd(rare) == 0 {
                    let k = rnd(i + 1);
                    new.swap(i, k);
                }
            }
            for _ in 0..rnd(4) {
                let at = rnd(new.len() + 1);
                new.insert(at, None);
            }
            let mut kept = vec![false; n_old];
            for o in new.iter().flatten() {
                kept[*o] = true;
            }
            let mut rank = vec![0; n_old];
            let mut r = 0;
            for i in 0..n_old {
                if kept[i] {
                    rank[i] = r;
                    r += 1;
                }
            }
            let seq: Vec<usize> = new.iter().flatten().map(|o| rank[*o]).collect();
            let stable = lis(&seq);
            let mut stable_of_old = vec![false; n_old];
            for (s, o) in stable.iter().zip(new.iter().flatten()) {
                stable_of_old[*o] = *s;
            }
            let mut fast = Vec::new();
            structural_ops(&new, &kept, &stable_of_old, &mut fast);
            let naive = structural_ops_naive(&new, &kept, &stable_of_old);
            assert_eq!(fast, naive, "{new:?}");
            // The trimmed plan: same count and same ops as the whole list's.
            let removals = kept.iter().filter(|k| !**k).count();
            let inserts = new.iter().filter(|o| o.is_none()).count();
            let moves = stable.iter().filter(|s| !**s).count();
            let (structural, plan) = keyed_plan(&new, n_old);
            assert_eq!(structural, removals + inserts + moves, "{new:?}");
            assert_eq!(plan(), naive, "{new:?}");
        }
    }

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
