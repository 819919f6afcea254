//! The rendered tree: statics (template text fixed for a branch) and dynamics (expression
//! values, nested branches, loops), built by one linear pass over askama's marked output.
//!
//! The derive macro wraps every `{{ expr }}`, `if`/`match` and `for` of a template in marker
//! expressions. A marker writes no text: it queues its code in a [`MarkQueue`] shared with the
//! sink, which applies queued markers before the next write. User data therefore can never be
//! taken for a marker, whatever characters it holds.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};

/// Marker codes written by the generated template wrapper (shared with the derive).
#[doc(hidden)]
pub use livetemplate_contract::mark;

/// Markers waiting for the sink: a FIFO of 4-bit marker codes, oldest in the highest nibble.
///
/// A marker writes nothing: it only queues its code here. The sink drains the queue before
/// every write it receives (and at the end), so each marker takes effect exactly between the
/// writes it stood between in the template. Text in user data can therefore never be taken
/// for a marker, whatever characters it holds.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct MarkQueue(Cell<u64>);

impl MarkQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn take(&self) -> u64 {
        self.0.replace(0)
    }
}

/// A marker value written into the template output by the generated wrapper.
#[doc(hidden)]
#[derive(Debug)]
pub struct Mark<'a> {
    queue: &'a MarkQueue,
    code: u32,
}

impl<'a> Mark<'a> {
    /// A marker of `code` for the sink draining `queue`.
    pub fn new(queue: &'a MarkQueue, code: u32) -> Self {
        Mark { queue, code }
    }

    /// Queue the code; when the queue is full, an empty write makes the sink drain it first.
    #[inline]
    fn push(&self, flush: impl FnOnce() -> fmt::Result) -> fmt::Result {
        if self.queue.0.get() >> 60 != 0 {
            flush()?;
        }
        let q = self.queue.0.get();
        self.queue.0.set((q << 4) | u64::from(self.code));
        Ok(())
    }
}

impl fmt::Display for Mark<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.push(|| f.write_str(""))
    }
}

impl askama::FastWritable for Mark<'_> {
    #[inline]
    fn write_into(&self, dest: &mut dyn fmt::Write, _: &dyn askama::Values) -> askama::Result<()> {
        self.push(|| dest.write_str(""))?;
        Ok(())
    }
}

/// The literal text of one template branch, split at its dynamic slots.
///
/// Statics are interned process-wide for the life of the process, like the templates they
/// come from: equal statics are one allocation and compare by address.
#[derive(PartialEq, Eq, Hash)]
pub struct StaticsData {
    text: Box<str>,
    ends: Box<[u32]>,
}

impl StaticsData {
    /// Number of literal parts (one more than the node's dynamic slots).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are no parts (never the case for a built node).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The literal part `i`.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// Iterate over the parts.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

impl fmt::Debug for StaticsData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Shared, interned statics.
pub type Statics = &'static StaticsData;

/// True when `a` and `b` are the same interned statics.
#[inline]
pub fn same_statics_ptr(a: Statics, b: Statics) -> bool {
    std::ptr::eq(a, b)
}

/// A node's statics: an index into its tree's statics table ([`Tree::statics_of`]).
///
/// Nodes hold this small copyable index rather than the shared [`Statics`] themselves, so
/// building and dropping a tree of many items touches no reference counts: a 1000-row list
/// whose rows share their statics holds them once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaticsId(NonZeroU32);

impl StaticsId {
    fn new(index: usize) -> Self {
        StaticsId(NonZeroU32::MIN.saturating_add(index as u32))
    }

    /// The index in [`Tree::statics`].
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

/// One rendered template branch: its statics and the values of its dynamic slots.
///
/// Both live in the owning [`Tree`]: read them with [`Tree::statics_of`] and [`Tree::dyns`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// Literal parts (one more than the slots): an entry of [`Tree::statics`].
    pub statics: StaticsId,
    /// The node's dynamic slot values: a span of [`Tree::dyns`].
    pub dyns: Span,
}

/// A run of consecutive entries of one of a [`Tree`]'s arenas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    /// Index of the first entry.
    pub start: u32,
    /// Number of entries.
    pub len: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

/// The value of one dynamic slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dyn {
    /// An expression's escaped output: a range in [`Tree::text`].
    Text(TextRange),
    /// An `if`/`match`: the branch taken, or none.
    Branch(Option<Node>),
    /// A `for` loop.
    List(List),
}

/// A byte range of a tree's dynamic text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRange {
    /// Start byte.
    pub start: u32,
    /// End byte (exclusive).
    pub end: u32,
}

/// A rendered `for` loop.
///
/// Read its items with [`Tree::items`] and its `else` body with [`Tree::otherwise`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct List {
    /// A span of [`Tree::items`]: one item per iteration or, when `otherwise` is set, the
    /// `else` body as the only entry.
    pub items: Span,
    /// The loop ran no iteration and its `else` body ran.
    pub otherwise: bool,
}

/// One loop iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// The `data-key` of the item's root element, if it has one: a range in [`Tree::text`].
    pub key: Option<TextRange>,
    /// The iteration's content.
    pub node: Node,
}

/// A whole rendered page: the root node, and the arenas its nodes point into.
///
/// A dropped tree hands its buffers to the next tree built on the same thread, so a live
/// connection, which builds a tree and drops the previous one for every action, does not
/// allocate them again.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The root node.
    pub root: Node,
    /// All dynamic text of the tree (expression output, and item keys written in statics).
    pub text: String,
    /// The dynamic slot values of all nodes; each node's are consecutive.
    pub dyns: Vec<Dyn>,
    /// The items of all loops; each loop's are consecutive.
    pub items: Vec<Item>,
    /// The statics the nodes refer to by [`StaticsId`]; each distinct one is usually once.
    pub statics: Vec<Statics>,
}

impl Tree {
    /// The text of a dynamic slot.
    pub fn text(&self, range: TextRange) -> &str {
        &self.text[range.start as usize..range.end as usize]
    }

    /// The statics of `node`.
    pub fn statics_of(&self, node: &Node) -> Statics {
        self.statics[node.statics.index()]
    }

    /// The dynamic slot values of `node`.
    pub fn dyns(&self, node: &Node) -> &[Dyn] {
        &self.dyns[node.dyns.range()]
    }

    /// The items of `list` (none when its `else` body ran).
    pub fn items(&self, list: &List) -> &[Item] {
        if list.otherwise {
            &[]
        } else {
            &self.items[list.items.range()]
        }
    }

    /// The `else` body of `list`, when it ran.
    pub fn otherwise(&self, list: &List) -> Option<&Node> {
        if list.otherwise {
            self.items.get(list.items.start as usize).map(|i| &i.node)
        } else {
            None
        }
    }

    /// Bytes this tree holds on the heap (its arenas' capacity): what a live connection
    /// keeps for the page between actions, besides the state.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.dyns.capacity() * std::mem::size_of::<Dyn>()
            + self.items.capacity() * std::mem::size_of::<Item>()
            + self.statics.capacity() * std::mem::size_of::<Statics>()
    }

    /// The key of `item`, if it has one.
    pub fn key(&self, item: &Item) -> Option<&str> {
        item.key.map(|r| self.text(r))
    }

    /// The HTML this tree stands for.
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(self.text.len() * 2 + 64);
        self.write_node(&self.root, &mut out);
        out
    }

    /// Append the HTML of `node` to `out`.
    pub fn write_node(&self, node: &Node, out: &mut String) {
        let statics = self.statics_of(node);
        let dyns = self.dyns(node);
        for (i, dyn_) in dyns.iter().enumerate() {
            out.push_str(statics.get(i));
            self.write_dyn(dyn_, out);
        }
        out.push_str(statics.get(dyns.len()));
    }

    fn write_dyn(&self, dyn_: &Dyn, out: &mut String) {
        match dyn_ {
            Dyn::Text(r) => out.push_str(self.text(*r)),
            Dyn::Branch(Some(node)) => self.write_node(node, out),
            Dyn::Branch(None) => {}
            Dyn::List(list) => {
                for item in self.items(list) {
                    self.write_node(&item.node, out);
                }
                if let Some(node) = self.otherwise(list) {
                    self.write_node(node, out);
                }
            }
        }
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

// ---------------------------------------------------------------------------------------------
// Interning

fn interner() -> &'static Mutex<HashMap<u64, Vec<Statics>>> {
    static INTERNER: OnceLock<Mutex<HashMap<u64, Vec<Statics>>>> = OnceLock::new();
    INTERNER.get_or_init(|| Mutex::new(HashMap::new()))
}

fn same_statics(s: &StaticsData, text: &str, ends: &[u32]) -> bool {
    &*s.text == text && &*s.ends == ends
}

/// Statics interned recently on this thread, checked before the process-wide table.
const RECENT: usize = 16;

thread_local! {
    static RECENT_STATICS: std::cell::RefCell<Vec<Statics>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn intern(text: &str, ends: &[u32]) -> Statics {
    let recent = RECENT_STATICS.try_with(|r| {
        r.try_borrow()
            .ok()
            .and_then(|r| r.iter().rev().find(|s| same_statics(s, text, ends)).copied())
    });
    if let Ok(Some(s)) = recent {
        return s;
    }
    let s = intern_global(text, ends);
    let _ = RECENT_STATICS.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            if r.len() == RECENT {
                r.remove(0);
            }
            r.push(s);
        }
    });
    s
}

fn intern_global(text: &str, ends: &[u32]) -> Statics {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    ends.hash(&mut hasher);
    let h = hasher.finish();
    let mut map = match interner().lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    let bucket = map.entry(h).or_default();
    if let Some(s) = bucket.iter().find(|s| same_statics(s, text, ends)) {
        return s;
    }
    let s: Statics = Box::leak(Box::new(StaticsData {
        text: text.into(),
        ends: ends.into(),
    }));
    bucket.push(s);
    s
}

// ---------------------------------------------------------------------------------------------
// Building

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
        /// `last`'s items have their key in slot 0 (`<tr data-key="{{ id }}">`).
        key_in_slot0: bool,
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
    /// Start in `text` of the expression being written, if any.
    expr: Option<u32>,
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
            expr: None,
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
                            last,
                            key_in_slot0,
                            direct,
                            ..
                        }),
                    ) => {
                        let same = *last == Some(node.statics);
                        let slot0 = self.dyns.get(node.dyns.start as usize).filter(|_| node.dyns.len > 0);
                        let key = match slot0 {
                            // Same statics as the previous item: the key is where it was.
                            Some(Dyn::Text(r)) if same && *key_in_slot0 => Some(*r),
                            _ => {
                                let statics = &self.statics[node.statics.index()];
                                *key_in_slot0 = key_slot0(statics, &node, &self.dyns);
                                if *key_in_slot0 {
                                    match slot0 {
                                        Some(Dyn::Text(r)) => Some(*r),
                                        _ => None,
                                    }
                                } else {
                                    item_key(statics, &node, &self.dyns, &mut self.text)
                                }
                            }
                        };
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
            mark::LOOP_OPEN => {
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
                    key_in_slot0: false,
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
    /// matched its predecessor's statics completely, keyed in slot 0, and is the innermost
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
                key_in_slot0: true,
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
        let Some(Dyn::Text(key)) = self.dyns.get(start as usize) else {
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

/// Byte equality, without a library call for the short pieces templates are made of.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |x: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&x[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    match n {
        0 => true,
        1..8 => a.iter().zip(b).all(|(x, y)| x == y),
        // Two overlapping words cover 8 to 16 bytes.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// True when the item's key is the text of its slot 0: its statics start with an opening tag
/// ending in `data-key="`, the slot follows, then `"` (`<tr data-key="{{ id }}">`).
fn key_slot0(statics: &StaticsData, node: &Node, dyns: &[Dyn]) -> bool {
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
fn item_key(statics: &StaticsData, node: &Node, dyns: &[Dyn], text: &mut String) -> Option<TextRange> {
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
    fn same_bytes_at_every_length() {
        let a: Vec<u8> = (0..40u8).collect();
        for n in 0..40 {
            assert!(same_bytes(&a[..n], &a[..n]));
            for at in 0..n {
                let mut b = a[..n].to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes(&a[..n], &b), "len {n}, byte {at}");
            }
            assert!(!same_bytes(&a[..n], &a[..n + 1]));
        }
    }

    #[test]
    fn tree_entries_stay_small() {
        // One slot value or item per expression or iteration: their size is the tree's memory.
        assert_eq!(std::mem::size_of::<Dyn>(), 16);
        assert_eq!(std::mem::size_of::<Item>(), 24);
    }

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
