//! Building a [`Tree`] from askama's marked output in one linear pass ([`TreeSink`]), with
//! the per-thread buffers trees hand back when dropped, and finding each loop item's
//! `data-key`.

use std::fmt;

use super::intern::intern;
use super::keys::item_key;
use super::markers::{MarkQueue, mark};
use super::model::{
    Dyn, Item, List, Node, Span, Statics, StaticsData, StaticsId, StreamSlot, TextRange, Tree, same_statics_ptr,
};
use super::same_bytes;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Root,
    BranchBody,
    Item,
    Else,
}

/// A node being built.
///
/// When the node is expected to repeat known statics (a loop item after the first, the root
/// of a page rendered before), its literal text is checked piece by piece against them
/// (`verify`) instead of being copied; only at the first difference is the text so far copied
/// out of them and building goes on as for a new node.
#[derive(Debug)]
struct NodeBuild {
    role: Role,
    /// The statics being checked against, while every piece so far matched.
    verify: Option<StaticsId>,
    /// Bytes of `verify`'s text matched so far.
    verified: u32,
    /// Slots taken so far while verifying.
    slots: u32,
    /// Literal text, when not verifying.
    text: String,
    /// End of each literal part, when not verifying.
    ends: Vec<u32>,
    /// Where this node's slot values start: on `TreeSink::dyns` when `direct`, else on
    /// `TreeSink::dyn_stack`.
    dyn_start: u32,
    /// No node has been opened inside this one yet, so its values go straight to the arena
    /// (only the innermost open node can be direct).
    direct: bool,
}

impl NodeBuild {
    /// Stop verifying: copy the statics matched so far into `text` and `ends`.
    #[cold]
    fn materialize(&mut self, statics: &StaticsData, pool: &mut Vec<String>, ends_pool: &mut Vec<Vec<u32>>) {
        self.verify = None;
        let mut text = pool.pop().unwrap_or_default();
        text.clear();
        text.push_str(&statics.text[..self.verified as usize]);
        let mut ends = ends_pool.pop().unwrap_or_default();
        ends.clear();
        ends.extend_from_slice(&statics.ends[..self.slots as usize]);
        self.text = text;
        self.ends = ends;
    }
}

#[derive(Debug)]
enum Frame {
    Node(NodeBuild),
    Branch {
        taken: Option<Node>,
    },
    Loop {
        /// Where this loop's items start: on `TreeSink::items` when `direct`, else on
        /// `TreeSink::item_stack`.
        item_start: u32,
        /// No loop has been opened inside this one yet, so its items go straight to the arena
        /// (only the innermost open loop can be direct).
        direct: bool,
        otherwise: Option<Node>,
        /// The statics of the last item: the next item is checked against them.
        last: Option<StaticsId>,
        /// The slot holding the key of `last`'s items, when the key is one slot's text
        /// (`<tr id="row-{{ id }}" data-key="{{ id }}">`).
        key_slot: Option<u32>,
        /// A loop over a stream ([`mark::STREAM_OPEN`]): the text of its operations once read
        /// (the expression written before its first item).
        stream: Option<Option<TextRange>>,
    },
}

/// A sink's working buffers, kept per thread between renders for their capacity.
#[derive(Debug, Default)]
struct Scratch {
    stack: Vec<Frame>,
    pool: Vec<String>,
    ends_pool: Vec<Vec<u32>>,
    dyn_stack: Vec<Dyn>,
    item_stack: Vec<Item>,
}

/// What tree building keeps per thread between renders.
#[derive(Debug)]
struct BuildCache {
    /// The sink's working buffers.
    scratch: Option<Scratch>,
    /// The buffers of the last tree dropped on this thread.
    spare: Option<Buffers>,
    /// The root statics of the last tree built on this thread: the usual hint for the next
    /// one, so the root is rarely interned.
    last_root: Option<Statics>,
    /// Lengths of the last tree built on this thread (text, dyns, items): a tree built
    /// without spare buffers starts with that capacity instead of growing from empty.
    sizes: (u32, u32, u32),
}

thread_local! {
    static BUILD: std::cell::RefCell<BuildCache> = const {
        std::cell::RefCell::new(BuildCache {
            scratch: None,
            spare: None,
            last_root: None,
            sizes: (256, 0, 0),
        })
    };
}

/// Receives askama's marked output and builds a [`Tree`] from it.
///
/// Created by the code `#[derive(LiveState)]` generates; users do not touch it.
///
/// Slot values and items are collected on two stacks while their node or loop is open (an
/// open node's values stay consecutive: its children finish before it takes its next slot),
/// and moved into the tree's arenas when it finishes.
#[doc(hidden)]
#[derive(Debug)]
pub struct TreeSink<'a> {
    queue: &'a MarkQueue,
    stack: Vec<Frame>,
    text: String,
    pool: Vec<String>,
    ends_pool: Vec<Vec<u32>>,
    dyn_stack: Vec<Dyn>,
    item_stack: Vec<Item>,
    dyns: Vec<Dyn>,
    items: Vec<Item>,
    statics: Vec<Statics>,
    /// The operations' text of each stream slot.
    streams: Vec<TextRange>,
    /// Start in `text` of the expression being written, if any.
    expr: Option<u32>,
    /// A component embed just turned its expression into a component slot: the expression's
    /// end marker, next, closes nothing.
    swallow_close: bool,
    error: Option<&'static str>,
}

impl<'a> TreeSink<'a> {
    /// A sink draining markers from `queue`.
    pub fn new(queue: &'a MarkQueue) -> Self {
        // A render nested in another on this thread finds no scratch and starts empty.
        let (sc, spare, last_root, sizes) = BUILD.with(|c| {
            let mut c = c.borrow_mut();
            (c.scratch.take(), c.spare.take(), c.last_root, c.sizes)
        });
        let sc = sc.unwrap_or_default();
        let (text, dyns, items, statics) = match spare {
            Some(b) => (b.text, b.dyns, b.items, b.statics),
            None => {
                let (text, dyns, items) = sizes;
                (
                    String::with_capacity((text as usize + text as usize / 8).max(64)),
                    Vec::with_capacity(dyns as usize + dyns as usize / 8),
                    Vec::with_capacity(items as usize + items as usize / 8),
                    Vec::new(),
                )
            }
        };
        let mut sink = TreeSink {
            queue,
            stack: sc.stack,
            text,
            pool: sc.pool,
            ends_pool: sc.ends_pool,
            dyn_stack: sc.dyn_stack,
            item_stack: sc.item_stack,
            dyns,
            items,
            statics,
            streams: Vec::new(),
            expr: None,
            swallow_close: false,
            error: None,
        };
        sink.stack.clear();
        sink.dyn_stack.clear();
        sink.item_stack.clear();
        let hint = last_root.map(|s| sink.add_statics(s));
        let root = sink.new_node(Role::Root, hint);
        sink.stack.push(root);
        sink
    }

    /// The id of `s` in this tree's table, adding it unless it is among the last few added.
    fn add_statics(&mut self, s: Statics) -> StaticsId {
        let n = self.statics.len();
        for i in (n.saturating_sub(4)..n).rev() {
            if same_statics_ptr(self.statics[i], s) {
                return StaticsId::new(i);
            }
        }
        self.statics.push(s);
        StaticsId::new(n)
    }

    fn new_node(&mut self, role: Role, verify: Option<StaticsId>) -> Frame {
        // The enclosing node's values so far move to the stack: this one's come first.
        for f in self.stack.iter_mut().rev() {
            if let Frame::Node(nb) = f {
                if nb.direct {
                    let from = (nb.dyn_start as usize).min(self.dyns.len());
                    nb.dyn_start = self.dyn_stack.len() as u32;
                    nb.direct = false;
                    self.dyn_stack.extend(self.dyns.drain(from..));
                }
                break;
            }
        }
        let (text, ends) = if verify.is_some() {
            (String::new(), Vec::new())
        } else {
            let mut text = self.pool.pop().unwrap_or_default();
            text.clear();
            let mut ends = self.ends_pool.pop().unwrap_or_default();
            ends.clear();
            (text, ends)
        };
        Frame::Node(NodeBuild {
            role,
            verify,
            verified: 0,
            slots: 0,
            text,
            ends,
            dyn_start: self.dyns.len() as u32,
            direct: true,
        })
    }

    fn fail(&mut self, what: &'static str) {
        if self.error.is_none() {
            self.error = Some(what);
        }
    }

    #[inline]
    fn push_dyn(&mut self, d: Dyn) {
        // The common case inline: the innermost node, direct, verifying, at a known slot.
        if let Some(Frame::Node(nb)) = self.stack.last_mut()
            && nb.direct
            && let Some(id) = nb.verify
        {
            let s = &self.statics[id.index()];
            let i = nb.slots as usize;
            if i + 1 < s.ends.len() && s.ends[i] == nb.verified {
                nb.slots += 1;
                self.dyns.push(d);
                return;
            }
        }
        self.push_dyn_slow(d);
    }

    #[inline(never)]
    fn push_dyn_slow(&mut self, d: Dyn) {
        match self.stack.last_mut() {
            Some(Frame::Node(nb)) => {
                if let Some(id) = nb.verify {
                    let s = &self.statics[id.index()];
                    let i = nb.slots as usize;
                    // A slot where the statics have one, and not after their last part.
                    if i + 1 < s.ends.len() && s.ends[i] == nb.verified {
                        nb.slots += 1;
                    } else {
                        nb.materialize(s, &mut self.pool, &mut self.ends_pool);
                        nb.ends.push(nb.text.len() as u32);
                    }
                } else {
                    nb.ends.push(nb.text.len() as u32);
                }
                if nb.direct {
                    self.dyns.push(d);
                } else {
                    self.dyn_stack.push(d);
                }
            }
            // A stream's operations, written just before its first item.
            Some(Frame::Loop {
                stream: Some(ops @ None),
                ..
            }) => match d {
                Dyn::Text(r) => *ops = Some(r),
                _ => self.fail("stream operations are not text"),
            },
            _ => self.fail("dynamic value outside a node"),
        }
    }

    #[inline(never)]
    fn write_static(&mut self, s: &str) {
        match self.stack.last_mut() {
            Some(Frame::Node(nb)) => {
                if let Some(id) = nb.verify {
                    let st = &self.statics[id.index()];
                    let at = nb.verified as usize;
                    if st
                        .text
                        .as_bytes()
                        .get(at..at + s.len())
                        .is_some_and(|t| same_bytes(t, s.as_bytes()))
                    {
                        nb.verified += s.len() as u32;
                        return;
                    }
                    nb.materialize(st, &mut self.pool, &mut self.ends_pool);
                }
                nb.text.push_str(s);
            }
            _ => {
                if !s.is_empty() {
                    self.fail("text between control tags")
                }
            }
        }
    }

    fn finish_node(&mut self, mut nb: NodeBuild) -> Node {
        let statics = match nb.verify {
            Some(id) => {
                let s = &self.statics[id.index()];
                if nb.slots as usize + 1 == s.ends.len() && nb.verified as usize == s.text.len() {
                    Some(id)
                } else {
                    nb.materialize(s, &mut self.pool, &mut self.ends_pool);
                    None
                }
            }
            None => None,
        };
        let statics = match statics {
            Some(id) => id,
            None => {
                nb.ends.push(nb.text.len() as u32);
                let s = intern(&nb.text, &nb.ends);
                self.add_statics(s)
            }
        };
        if nb.text.capacity() > 0 {
            self.pool.push(nb.text);
        }
        if nb.ends.capacity() > 0 {
            self.ends_pool.push(nb.ends);
        }
        let start = if nb.direct {
            nb.dyn_start.min(self.dyns.len() as u32)
        } else {
            let start = self.dyns.len() as u32;
            let from = (nb.dyn_start as usize).min(self.dyn_stack.len());
            self.dyns.extend(self.dyn_stack.drain(from..));
            start
        };
        Node {
            statics,
            dyns: Span {
                start,
                len: self.dyns.len() as u32 - start,
            },
        }
    }

    /// Pop the top frame and fold it into its parent.
    fn close_top(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return self.fail("marker stack underflow");
        };
        match frame {
            Frame::Branch { taken } => self.push_dyn(Dyn::Branch(taken)),
            Frame::Loop {
                item_start,
                direct,
                otherwise,
                stream,
                ..
            } => {
                let (mut start, mut len) = if direct {
                    let start = item_start.min(self.items.len() as u32);
                    (start, self.items.len() as u32 - start)
                } else {
                    let start = self.items.len() as u32;
                    let from = (item_start as usize).min(self.item_stack.len());
                    self.items.extend(self.item_stack.drain(from..));
                    (start, self.items.len() as u32 - start)
                };
                if let Some(ops) = stream {
                    let index = self.streams.len() as u32;
                    self.streams.push(ops.unwrap_or(TextRange { start: 0, end: 0 }));
                    return self.push_dyn(Dyn::Stream(StreamSlot {
                        items: Span { start, len },
                        ops: index,
                    }));
                }
                let mut is_else = false;
                if let Some(node) = otherwise
                    && len == 0
                {
                    // The `else` body is kept as the loop's only entry.
                    start = self.items.len() as u32;
                    len = 1;
                    is_else = true;
                    self.items.push(Item { key: None, node });
                }
                self.push_dyn(Dyn::List(List {
                    items: Span { start, len },
                    otherwise: is_else,
                }));
            }
            Frame::Node(nb) => {
                let role = nb.role;
                let node = self.finish_node(nb);
                match (role, self.stack.last_mut()) {
                    (Role::BranchBody, Some(Frame::Branch { taken })) => {
                        *taken = Some(node);
                    }
                    (
                        Role::Item,
                        Some(Frame::Loop {
                            last, key_slot, direct, ..
                        }),
                    ) => {
                        // Where the key comes from was worked out when the statics were
                        // interned (see `keys`).
                        let statics = self.statics[node.statics.index()];
                        let key = item_key(statics, &node, &self.dyns, &mut self.text);
                        *key_slot = statics.key.slot();
                        *last = Some(node.statics);
                        if *direct {
                            self.items.push(Item { key, node });
                        } else {
                            self.item_stack.push(Item { key, node });
                        }
                    }
                    (Role::Else, Some(Frame::Loop { otherwise, .. })) => {
                        *otherwise = Some(node);
                    }
                    _ => self.fail("node closed in the wrong place"),
                }
            }
        }
    }

    fn unwind_to_loop(&mut self) -> bool {
        while let Some(top) = self.stack.last() {
            match top {
                Frame::Loop { .. } => return true,
                Frame::Node(nb) if nb.role == Role::Root => break,
                _ => self.close_top(),
            }
        }
        self.fail("loop marker outside a loop");
        false
    }

    fn unwind_to_branch(&mut self) -> bool {
        while let Some(top) = self.stack.last() {
            match top {
                Frame::Branch { .. } => return true,
                Frame::Node(nb) if nb.role == Role::Root => break,
                _ => self.close_top(),
            }
        }
        self.fail("branch marker outside a branch");
        false
    }

    // Kept out of line, so `write_str`, called for every piece of output, stays small.
    #[inline(never)]
    fn on_mark(&mut self, code: u32) {
        match code {
            mark::COMPONENT => return self.component_slot(),
            mark::EXPR_CLOSE if self.swallow_close => {
                self.swallow_close = false;
                return;
            }
            _ => {}
        }
        // Any marker ends an open expression; only broken output has another one first.
        if let Some(start) = self.expr.take() {
            let end = self.text.len() as u32;
            self.push_dyn(Dyn::Text(TextRange { start, end }));
            if code == mark::EXPR_CLOSE {
                return;
            }
        }
        match code {
            mark::EXPR_OPEN => self.expr = Some(self.text.len() as u32),
            mark::EXPR_CLOSE => self.fail("expression end without start"),
            mark::BRANCH_OPEN => self.stack.push(Frame::Branch { taken: None }),
            mark::BRANCH_BODY => {
                if self.unwind_to_branch() {
                    let f = self.new_node(Role::BranchBody, None);
                    self.stack.push(f);
                }
            }
            mark::BRANCH_CLOSE => {
                if self.unwind_to_branch() {
                    self.close_top();
                }
            }
            mark::LOOP_OPEN | mark::STREAM_OPEN => {
                // The enclosing loop's items so far move to the stack: this one's come first.
                for f in self.stack.iter_mut().rev() {
                    if let Frame::Loop { item_start, direct, .. } = f {
                        if *direct {
                            let from = (*item_start as usize).min(self.items.len());
                            *item_start = self.item_stack.len() as u32;
                            *direct = false;
                            self.item_stack.extend(self.items.drain(from..));
                        }
                        break;
                    }
                }
                self.stack.push(Frame::Loop {
                    item_start: self.items.len() as u32,
                    direct: true,
                    otherwise: None,
                    last: None,
                    key_slot: None,
                    stream: (code == mark::STREAM_OPEN).then_some(None),
                })
            }
            mark::LOOP_ITEM => {
                if self.unwind_to_loop() {
                    let hint = match self.stack.last() {
                        Some(Frame::Loop { last, .. }) => *last,
                        _ => None,
                    };
                    let f = self.new_node(Role::Item, hint);
                    self.stack.push(f);
                }
            }
            mark::LOOP_ELSE => {
                if self.unwind_to_loop() {
                    let f = self.new_node(Role::Else, None);
                    self.stack.push(f);
                }
            }
            mark::LOOP_CLOSE => {
                if self.unwind_to_loop() {
                    self.close_top();
                }
            }
            _ => self.fail("unknown marker"),
        }
    }

    /// The open expression's output is a cid written by a component embed: its slot holds
    /// that component instance.
    #[cold]
    fn component_slot(&mut self) {
        let Some(start) = self.expr.take() else {
            return self.fail("component marker outside an expression");
        };
        match self.text[start as usize..].parse::<u32>() {
            Ok(cid) => {
                self.text.truncate(start as usize);
                self.push_dyn(Dyn::Component(cid));
                self.swallow_close = true;
            }
            Err(_) => self.fail("component marker after text that is not a cid"),
        }
    }

    /// Apply queued markers, oldest first.
    #[inline(never)]
    fn drain(&mut self, q: u64) {
        if q < 16 {
            return self.apply_mark(q as u32);
        }
        let nibbles = (64 - q.leading_zeros()).div_ceil(4);
        for i in (0..nibbles).rev() {
            self.apply_mark(((q >> (4 * i)) & 0xF) as u32);
        }
    }

    #[inline(always)]
    fn apply_mark(&mut self, code: u32) {
        // Expressions, the most frequent markers, handled inline.
        match (code, self.expr) {
            (mark::EXPR_OPEN, None) => self.expr = Some(self.text.len() as u32),
            (mark::EXPR_CLOSE, Some(start)) => {
                self.expr = None;
                let end = self.text.len() as u32;
                self.push_dyn(Dyn::Text(TextRange { start, end }));
            }
            (mark::LOOP_ITEM, None) if self.next_same_item() => {}
            _ => self.on_mark(code),
        }
    }

    /// The common case of a loop's next iteration, handled in place: the item being built
    /// matched its predecessor's statics completely, keyed by one slot, and is the innermost
    /// open node. It is added to the loop and its frame starts the next item, with no frame
    /// popped or pushed. Returns false, changing nothing, in any other case.
    #[inline]
    fn next_same_item(&mut self) -> bool {
        let n = self.stack.len();
        if n < 2 {
            return false;
        }
        let (below, top) = self.stack.split_at_mut(n - 1);
        let (
            Frame::Node(nb),
            Frame::Loop {
                direct: true,
                last: Some(last),
                key_slot: Some(key_slot),
                ..
            },
        ) = (&mut top[0], &below[n - 2])
        else {
            return false;
        };
        let Some(id) = nb.verify else { return false };
        let s = &self.statics[id.index()];
        if !(nb.role == Role::Item
            && nb.direct
            && id == *last
            && nb.slots as usize + 1 == s.ends.len()
            && nb.verified as usize == s.text.len())
        {
            return false;
        }
        let start = nb.dyn_start;
        let Some(Dyn::Text(key)) = self.dyns.get((start + key_slot) as usize) else {
            return false;
        };
        let node = Node {
            statics: id,
            dyns: Span {
                start,
                len: self.dyns.len() as u32 - start,
            },
        };
        self.items.push(Item { key: Some(*key), node });
        nb.verified = 0;
        nb.slots = 0;
        nb.dyn_start = self.dyns.len() as u32;
        true
    }

    /// Finish building and return the tree.
    pub fn finish(mut self) -> Result<Tree> {
        let q = self.queue.take();
        if q != 0 {
            self.drain(q);
        }
        if let Some(start) = self.expr.take() {
            let end = self.text.len() as u32;
            self.push_dyn(Dyn::Text(TextRange { start, end }));
        }
        while self.stack.len() > 1 {
            self.close_top();
        }
        if let Some(what) = self.error {
            return Err(Error::config(format!(
                "livetemplate could not split the template output ({what}); please report this template"
            )));
        }
        match self.stack.pop() {
            Some(Frame::Node(nb)) => {
                let root = self.finish_node(nb);
                self.stack.clear();
                self.dyn_stack.clear();
                self.item_stack.clear();
                let sc = Scratch {
                    stack: self.stack,
                    pool: self.pool,
                    ends_pool: self.ends_pool,
                    dyn_stack: self.dyn_stack,
                    item_stack: self.item_stack,
                };
                let root_statics = self.statics[root.statics.index()];
                let sizes = (self.text.len() as u32, self.dyns.len() as u32, self.items.len() as u32);
                BUILD.with(|c| {
                    let mut c = c.borrow_mut();
                    c.scratch = Some(sc);
                    c.last_root = Some(root_statics);
                    c.sizes = sizes;
                });
                // A smaller page than the last one: do not keep its capacity with the tree.
                if self.dyns.capacity() > 2 * self.dyns.len() + 16 {
                    self.dyns.shrink_to_fit();
                }
                if self.items.capacity() > 2 * self.items.len() + 16 {
                    self.items.shrink_to_fit();
                }
                if self.text.capacity() > 2 * self.text.len() + 256 {
                    self.text.shrink_to_fit();
                }
                Ok(Tree {
                    root,
                    text: self.text,
                    dyns: self.dyns,
                    items: self.items,
                    statics: self.statics,
                    streams: self.streams,
                })
            }
            _ => Err(Error::config("template output has no root")),
        }
    }
}

/// A queue holding just [`mark::EXPR_OPEN`] or just [`mark::EXPR_CLOSE`].
const OPEN: u64 = mark::EXPR_OPEN as u64;
const CLOSE: u64 = mark::EXPR_CLOSE as u64;

impl fmt::Write for TreeSink<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let q = self.queue.take();
        if q != 0 {
            // One expression marker, the usual case, without a call.
            match (q, self.expr) {
                (OPEN, None) => self.expr = Some(self.text.len() as u32),
                (CLOSE, Some(start)) => {
                    self.expr = None;
                    let end = self.text.len() as u32;
                    self.push_dyn(Dyn::Text(TextRange { start, end }));
                }
                _ => self.drain(q),
            }
        }
        if self.expr.is_some() {
            self.text.push_str(s);
            return Ok(());
        }
        // Literal text matching the statics being verified, the usual case, without a call.
        if let Some(Frame::Node(nb)) = self.stack.last_mut()
            && let Some(id) = nb.verify
        {
            let at = nb.verified as usize;
            let known = self.statics[id.index()].text.as_bytes().get(at..at + s.len());
            if known.is_some_and(|t| same_bytes(t, s.as_bytes())) {
                nb.verified += s.len() as u32;
                return Ok(());
            }
        }
        self.write_static(s);
        Ok(())
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        // Keep the buffers for the next tree built on this thread, unless it already has some.
        let _ = BUILD.try_with(|cache| {
            if let Ok(mut cache) = cache.try_borrow_mut()
                && cache.spare.is_none()
            {
                let mut bufs = Buffers {
                    text: std::mem::take(&mut self.text),
                    dyns: std::mem::take(&mut self.dyns),
                    items: std::mem::take(&mut self.items),
                    statics: std::mem::take(&mut self.statics),
                };
                bufs.text.clear();
                bufs.dyns.clear();
                bufs.items.clear();
                bufs.statics.clear();
                cache.spare = Some(bufs);
            }
        });
    }
}

/// A dropped tree's buffers, emptied.
#[derive(Debug)]
struct Buffers {
    text: String,
    dyns: Vec<Dyn>,
    items: Vec<Item>,
    statics: Vec<Statics>,
}
