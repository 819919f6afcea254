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
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};

/// Marker codes written by the generated template wrapper.
#[doc(hidden)]
pub mod mark {
    /// Start of an expression's output.
    pub const EXPR_OPEN: u32 = 1;
    /// End of an expression's output.
    pub const EXPR_CLOSE: u32 = 2;
    /// Start of an `if` or `match`.
    pub const BRANCH_OPEN: u32 = 3;
    /// Start of the body of the branch taken.
    pub const BRANCH_BODY: u32 = 4;
    /// End of an `if` or `match`.
    pub const BRANCH_CLOSE: u32 = 5;
    /// Start of a `for`.
    pub const LOOP_OPEN: u32 = 6;
    /// Start of one iteration.
    pub const LOOP_ITEM: u32 = 7;
    /// Start of the loop's `else` body.
    pub const LOOP_ELSE: u32 = 8;
    /// End of a `for`.
    pub const LOOP_CLOSE: u32 = 9;
}

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
/// Statics are interned process-wide, so equal statics share one allocation and compare by
/// pointer first.
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
pub type Statics = Arc<StaticsData>;

/// One rendered template branch: its statics and the values of its dynamic slots.
///
/// The slot values live in the owning [`Tree`]'s arena: read them with [`Tree::dyns`].
#[derive(Debug, Clone)]
pub struct Node {
    /// Literal parts; `statics.len() == dyns.len + 1`.
    pub statics: Statics,
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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone, Default)]
pub struct List {
    /// One item per iteration: a span of [`Tree::items`].
    pub items: Span,
    /// The loop's `else` body, when it ran.
    pub otherwise: Option<Node>,
}

/// One loop iteration.
#[derive(Debug, Clone)]
pub struct Item {
    /// The `data-key` of the item's root element, if it has one: a range in [`Tree::text`].
    pub key: Option<TextRange>,
    /// The iteration's content.
    pub node: Node,
}

/// A whole rendered page: the root node, and the arenas its nodes point into.
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
}

impl Tree {
    /// The text of a dynamic slot.
    pub fn text(&self, range: TextRange) -> &str {
        &self.text[range.start as usize..range.end as usize]
    }

    /// The dynamic slot values of `node`.
    pub fn dyns(&self, node: &Node) -> &[Dyn] {
        &self.dyns[node.dyns.range()]
    }

    /// The items of `list`.
    pub fn items(&self, list: &List) -> &[Item] {
        &self.items[list.items.range()]
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
        let dyns = self.dyns(node);
        for (i, dyn_) in dyns.iter().enumerate() {
            out.push_str(node.statics.get(i));
            self.write_dyn(dyn_, out);
        }
        out.push_str(node.statics.get(dyns.len()));
    }

    fn write_dyn(&self, dyn_: &Dyn, out: &mut String) {
        match dyn_ {
            Dyn::Text(r) => out.push_str(self.text(*r)),
            Dyn::Branch(Some(node)) => self.write_node(node, out),
            Dyn::Branch(None) => {}
            Dyn::List(list) => {
                let items = self.items(list);
                for item in items {
                    self.write_node(&item.node, out);
                }
                if items.is_empty()
                    && let Some(node) = &list.otherwise
                {
                    self.write_node(node, out);
                }
            }
        }
    }
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

fn intern(text: &str, ends: &[u32]) -> Statics {
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
        return s.clone();
    }
    let s = Arc::new(StaticsData {
        text: text.into(),
        ends: ends.into(),
    });
    bucket.push(s.clone());
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

#[derive(Debug)]
struct NodeBuild {
    role: Role,
    text: String,
    ends: Vec<u32>,
    /// Where this node's slot values start: on `TreeSink::dyns` when `direct`, else on
    /// `TreeSink::dyn_stack`.
    dyn_start: u32,
    /// No node has been opened inside this one yet, so its values go straight to the arena
    /// (only the innermost open node can be direct).
    direct: bool,
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
        last: Option<Statics>,
        /// `last`'s items have their key in slot 0 (`<tr data-key="{{ id }}">`).
        key_in_slot0: bool,
    },
}

thread_local! {
    /// The root statics of the last tree built on this thread: the usual hint for the next
    /// one, so the root is rarely interned (global lock and hash of all its text).
    static LAST_ROOT: std::cell::RefCell<Option<Statics>> = const { std::cell::RefCell::new(None) };
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

thread_local! {
    /// Lengths of the last tree built on this thread (text, dyns, items): the next tree's
    /// arenas start with that capacity instead of growing from empty.
    static LAST_SIZES: Cell<(u32, u32, u32)> = const { Cell::new((256, 0, 0)) };
    static SCRATCH: std::cell::RefCell<Option<Scratch>> = const { std::cell::RefCell::new(None) };
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
    /// Start in `text` of the expression being written, if any.
    expr: Option<u32>,
    error: Option<&'static str>,
}

impl<'a> TreeSink<'a> {
    /// A sink draining markers from `queue`.
    pub fn new(queue: &'a MarkQueue) -> Self {
        // A render nested in another on this thread finds no scratch and starts empty.
        let sc = SCRATCH.with(|c| c.borrow_mut().take()).unwrap_or_default();
        let (text, dyns, items) = LAST_SIZES.with(Cell::get);
        let mut sink = TreeSink {
            queue,
            stack: sc.stack,
            text: String::with_capacity((text as usize + text as usize / 8).max(64)),
            pool: sc.pool,
            ends_pool: sc.ends_pool,
            dyn_stack: sc.dyn_stack,
            item_stack: sc.item_stack,
            dyns: Vec::with_capacity(dyns as usize + dyns as usize / 8),
            items: Vec::with_capacity(items as usize + items as usize / 8),
            expr: None,
            error: None,
        };
        sink.stack.clear();
        sink.dyn_stack.clear();
        sink.item_stack.clear();
        let root = sink.new_node(Role::Root);
        sink.stack.push(root);
        sink
    }

    fn new_node(&mut self, role: Role) -> Frame {
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
        let mut text = self.pool.pop().unwrap_or_default();
        text.clear();
        let mut ends = self.ends_pool.pop().unwrap_or_default();
        ends.clear();
        Frame::Node(NodeBuild {
            role,
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
        match self.stack.last_mut() {
            Some(Frame::Node(nb)) => {
                nb.ends.push(nb.text.len() as u32);
                if nb.direct {
                    self.dyns.push(d);
                } else {
                    self.dyn_stack.push(d);
                }
            }
            _ => self.fail("dynamic value outside a node"),
        }
    }

    fn finish_node(&mut self, mut nb: NodeBuild, hint: Option<&Statics>) -> Node {
        nb.ends.push(nb.text.len() as u32);
        let statics = match hint {
            Some(s) if same_statics(s, &nb.text, &nb.ends) => s.clone(),
            _ => intern(&nb.text, &nb.ends),
        };
        self.pool.push(nb.text);
        self.ends_pool.push(nb.ends);
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
                let start = if direct {
                    item_start.min(self.items.len() as u32)
                } else {
                    let start = self.items.len() as u32;
                    let from = (item_start as usize).min(self.item_stack.len());
                    self.items.extend(self.item_stack.drain(from..));
                    start
                };
                let items = Span {
                    start,
                    len: self.items.len() as u32 - start,
                };
                self.push_dyn(Dyn::List(List { items, otherwise }));
            }
            Frame::Node(nb) => {
                let role = nb.role;
                let hint = match self.stack.last() {
                    Some(Frame::Loop { last, .. }) if role == Role::Item => last.clone(),
                    _ => None,
                };
                let node = self.finish_node(nb, hint.as_ref());
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
                        let same = last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &node.statics));
                        let slot0 = self.dyns.get(node.dyns.start as usize).filter(|_| node.dyns.len > 0);
                        let key = match slot0 {
                            // Same statics as the previous item: the key is where it was.
                            Some(Dyn::Text(r)) if same && *key_in_slot0 => Some(*r),
                            _ => {
                                *key_in_slot0 = key_slot0(&node, &self.dyns);
                                if *key_in_slot0 {
                                    match slot0 {
                                        Some(Dyn::Text(r)) => Some(*r),
                                        _ => None,
                                    }
                                } else {
                                    item_key(&node, &self.dyns, &mut self.text)
                                }
                            }
                        };
                        if !same {
                            *last = Some(node.statics.clone());
                        }
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
                    let f = self.new_node(Role::BranchBody);
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
                    let f = self.new_node(Role::Item);
                    self.stack.push(f);
                }
            }
            mark::LOOP_ELSE => {
                if self.unwind_to_loop() {
                    let f = self.new_node(Role::Else);
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
    #[inline]
    fn drain(&mut self, q: u64) {
        if q < 16 {
            return self.apply_mark(q as u32);
        }
        let nibbles = (64 - q.leading_zeros()).div_ceil(4);
        for i in (0..nibbles).rev() {
            self.apply_mark(((q >> (4 * i)) & 0xF) as u32);
        }
    }

    #[inline]
    fn apply_mark(&mut self, code: u32) {
        // Expressions, the most frequent markers, handled inline.
        match (code, self.expr) {
            (mark::EXPR_OPEN, None) => self.expr = Some(self.text.len() as u32),
            (mark::EXPR_CLOSE, Some(start)) => {
                self.expr = None;
                let end = self.text.len() as u32;
                self.push_dyn(Dyn::Text(TextRange { start, end }));
            }
            _ => self.on_mark(code),
        }
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
                let hint = LAST_ROOT.with(|c| c.borrow().clone());
                let root = self.finish_node(nb, hint.as_ref());
                if hint.as_ref().is_none_or(|h| !Arc::ptr_eq(h, &root.statics)) {
                    LAST_ROOT.with(|c| *c.borrow_mut() = Some(root.statics.clone()));
                }
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
                SCRATCH.with(|c| *c.borrow_mut() = Some(sc));
                LAST_SIZES.with(|c| c.set((self.text.len() as u32, self.dyns.len() as u32, self.items.len() as u32)));
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
                })
            }
            _ => Err(Error::config("template output has no root")),
        }
    }
}

impl fmt::Write for TreeSink<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let q = self.queue.take();
        if q != 0 {
            self.drain(q);
        }
        if self.expr.is_some() {
            self.text.push_str(s);
            return Ok(());
        }
        match self.stack.last_mut() {
            Some(Frame::Node(nb)) => nb.text.push_str(s),
            _ => {
                if !s.is_empty() {
                    self.fail("text between control tags")
                }
            }
        }
        Ok(())
    }
}

/// True when the item's key is the text of its slot 0: its statics start with an opening tag
/// ending in `data-key="`, the slot follows, then `"` (`<tr data-key="{{ id }}">`).
fn key_slot0(node: &Node, dyns: &[Dyn]) -> bool {
    let s0 = node.statics.get(0);
    node.statics.len() > 1
        && s0.ends_with("data-key=\"")
        && !s0.contains('>')
        && node.statics.get(1).starts_with('"')
        && matches!(dyns[node.dyns.range()].first(), Some(Dyn::Text(_)))
}

/// The `data-key` attribute of an item's first element, if any, as a range of `text` (a key
/// written in the statics is appended to `text`). `dyns` is the arena holding `node`'s slots.
fn item_key(node: &Node, dyns: &[Dyn], text: &mut String) -> Option<TextRange> {
    let slots = &dyns[node.dyns.range()];
    let s0 = node.statics.get(0);
    let first_text = match (slots.first(), node.statics.len() > 1) {
        (Some(Dyn::Text(r)), true) if node.statics.get(1).starts_with('"') => Some(*r),
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
        'outer: for (i, part) in node.statics.iter().enumerate() {
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
