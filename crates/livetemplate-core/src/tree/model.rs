//! The tree's model: a [`Tree`] owns its arenas (dynamic text, slot values, loop items,
//! statics); nodes, lists and items are small copyable indices into them.

use std::fmt;
use std::num::NonZeroU32;

use super::keys::KeyPlan;

/// The literal text of one template branch, split at its dynamic slots.
///
/// Statics are interned process-wide for the life of the process, like the templates they
/// come from: equal statics are one allocation and compare by address.
pub struct StaticsData {
    pub(super) text: Box<str>,
    pub(super) ends: Box<[u32]>,
    /// Where the key of a loop item with these statics comes from.
    pub(super) key: KeyPlan,
}

impl PartialEq for StaticsData {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.ends == other.ends
    }
}

impl Eq for StaticsData {}

impl std::hash::Hash for StaticsData {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
        self.ends.hash(state);
    }
}

impl StaticsData {
    /// Statics of `text` split at `ends` (the end of each part), with their key plan.
    pub(super) fn new(text: &str, ends: &[u32]) -> Self {
        StaticsData {
            text: text.into(),
            ends: ends.into(),
            key: KeyPlan::of(text, ends),
        }
    }

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
    #[inline]
    pub(super) fn new(index: usize) -> Self {
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
    #[inline]
    pub(super) fn range(self) -> std::ops::Range<usize> {
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
    /// A component instance, by its cid: its HTML is the instance's own tree.
    Component(u32),
    /// A `for` loop over a [`Stream`](crate::stream::Stream): its pending items and operations.
    Stream(StreamSlot),
}

/// A rendered `for` loop over a stream: the pending items (every one, the limit not
/// applied) and the operations that place them in the browser's list.
///
/// Read them with [`Tree::stream_items`] and [`Tree::stream_ops`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamSlot {
    /// A span of [`Tree::items`]: the pending items, in the order of the list an empty
    /// browser list becomes.
    pub items: Span,
    /// Index in [`Tree::streams`] of the operations' text.
    pub ops: u32,
}

/// One operation of a stream slot, as [`StreamOps`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOp<'a> {
    /// The limit (`"n"`): positive keeps the first n items, negative the last |n|.
    Limit(i64),
    /// Remove every item.
    Reset,
    /// Delete the item with this DOM id (a JSON string literal, quotes included).
    Delete(&'a str),
    /// Insert pending item `item` (an index into the slot's items) at `at`; its DOM id is the
    /// JSON string literal `dom_id`.
    Insert {
        /// `-1` append, `0` prepend, `k` index.
        at: i64,
        /// Index in the slot's items.
        item: usize,
        /// The DOM id as a JSON string literal, quotes included.
        dom_id: &'a str,
    },
}

/// The operations of a stream slot, parsed from their text: one per line, `n<limit>`,
/// `r`, `d<json id>`, `i<at> <item> <json id>` (written by `Stream`, read by the encoder).
#[derive(Debug, Clone)]
pub struct StreamOps<'a>(std::str::Lines<'a>);

impl<'a> StreamOps<'a> {
    /// The operations in `text`.
    pub fn new(text: &'a str) -> Self {
        StreamOps(text.lines())
    }
}

impl<'a> Iterator for StreamOps<'a> {
    type Item = StreamOp<'a>;
    fn next(&mut self) -> Option<StreamOp<'a>> {
        loop {
            let line = self.0.next()?;
            let (tag, rest) = line.split_at_checked(1)?;
            let op = match tag {
                "n" => rest.parse().ok().map(StreamOp::Limit),
                "r" => Some(StreamOp::Reset),
                "d" => Some(StreamOp::Delete(rest)),
                "i" => {
                    let mut parts = rest.splitn(3, ' ');
                    match (parts.next(), parts.next(), parts.next()) {
                        (Some(at), Some(item), Some(dom_id)) => match (at.parse(), item.parse()) {
                            (Ok(at), Ok(item)) => Some(StreamOp::Insert { at, item, dom_id }),
                            _ => None,
                        },
                        _ => None,
                    }
                }
                _ => None,
            };
            if op.is_some() {
                return op;
            }
        }
    }
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
    /// The key of the item's root element (its `data-key`, else its `id`), if it has one: a
    /// range in [`Tree::text`].
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
    /// The operations' text of each stream slot ([`StreamSlot::ops`]): ranges in `text`.
    pub streams: Vec<TextRange>,
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
            + self.streams.capacity() * std::mem::size_of::<TextRange>()
    }

    /// The pending items of a stream slot, one per insert operation, in the operations'
    /// order (every one: the limit is the browser's to apply).
    pub fn stream_items(&self, slot: &StreamSlot) -> &[Item] {
        &self.items[slot.items.range()]
    }

    /// The operations of a stream slot.
    pub fn stream_ops(&self, slot: &StreamSlot) -> StreamOps<'_> {
        StreamOps::new(self.streams.get(slot.ops as usize).map_or("", |r| self.text(*r)))
    }

    /// The limit of a stream slot, if it has one.
    pub fn stream_limit(&self, slot: &StreamSlot) -> Option<i64> {
        self.stream_ops(slot).find_map(|op| match op {
            StreamOp::Limit(n) => Some(n),
            _ => None,
        })
    }

    /// The items of a stream slot in the order an empty browser list shows them after the
    /// slot's operations and limit: indices into [`Self::stream_items`].
    pub fn stream_order(&self, slot: &StreamSlot) -> Vec<usize> {
        let n_items = self.stream_items(slot).len();
        // Each pending item has one insert: its DOM id.
        let mut ids: Vec<&str> = vec![""; n_items];
        for op in self.stream_ops(slot) {
            if let StreamOp::Insert { item, dom_id, .. } = op
                && item < n_items
            {
                ids[item] = dom_id;
            }
        }
        let mut list: Vec<usize> = Vec::new();
        let mut limit = None;
        for op in self.stream_ops(slot) {
            match op {
                StreamOp::Limit(n) => limit = Some(n),
                StreamOp::Reset => list.clear(),
                StreamOp::Delete(id) => list.retain(|&i| ids[i] != id),
                StreamOp::Insert { at, item, dom_id } => {
                    if item >= n_items {
                        continue;
                    }
                    if let Some(p) = list.iter().position(|&i| ids[i] == dom_id) {
                        list[p] = item;
                    } else {
                        let at = if at < 0 {
                            list.len()
                        } else {
                            (at as usize).min(list.len())
                        };
                        list.insert(at, item);
                    }
                }
            }
        }
        match limit {
            Some(n) if n > 0 => list.truncate(n as usize),
            Some(n) => {
                let keep = n.unsigned_abs() as usize;
                if list.len() > keep {
                    list.drain(..list.len() - keep);
                }
            }
            None => {}
        }
        list
    }

    /// This tree as a connection keeps it once its frame was sent: every stream slot empty,
    /// keeping only its limit. Returns `None` when no stream slot has an item or an operation
    /// (keep the tree as it is). The copy holds only what the next diff needs, so a connection's memory does not
    /// grow with the items it streamed.
    pub fn without_stream_items(&self) -> Option<Tree> {
        // Every item comes with its insert: a tree whose stream slots hold no operation but
        // their limit holds no item either.
        let pending = self
            .streams
            .iter()
            .any(|r| self.text(*r).lines().any(|line| !line.starts_with('n')));
        if !pending {
            return None;
        }
        let mut out = Tree {
            root: self.root,
            text: String::new(),
            dyns: Vec::new(),
            items: Vec::new(),
            statics: self.statics.clone(),
            streams: Vec::new(),
        };
        out.root = self.copy_node(&self.root, &mut out);
        out.text.shrink_to_fit();
        out.dyns.shrink_to_fit();
        out.items.shrink_to_fit();
        out.statics.shrink_to_fit();
        out.streams.shrink_to_fit();
        Some(out)
    }

    fn copy_range(&self, r: TextRange, out: &mut Tree) -> TextRange {
        let start = out.text.len() as u32;
        out.text.push_str(self.text(r));
        TextRange {
            start,
            end: out.text.len() as u32,
        }
    }

    fn copy_node(&self, node: &Node, out: &mut Tree) -> Node {
        let dyns: Vec<Dyn> = self.dyns(node).iter().map(|d| self.copy_dyn(d, out)).collect();
        let start = out.dyns.len() as u32;
        out.dyns.extend(dyns);
        Node {
            statics: node.statics,
            dyns: Span {
                start,
                len: out.dyns.len() as u32 - start,
            },
        }
    }

    fn copy_dyn(&self, d: &Dyn, out: &mut Tree) -> Dyn {
        match d {
            Dyn::Text(r) => Dyn::Text(self.copy_range(*r, out)),
            Dyn::Branch(n) => Dyn::Branch(n.map(|n| self.copy_node(&n, out))),
            Dyn::Component(cid) => Dyn::Component(*cid),
            Dyn::List(list) => {
                let items: Vec<Item> = self.items[list.items.range()]
                    .iter()
                    .map(|it| Item {
                        key: it.key.map(|k| self.copy_range(k, out)),
                        node: self.copy_node(&it.node, out),
                    })
                    .collect();
                let start = out.items.len() as u32;
                out.items.extend(items);
                Dyn::List(List {
                    items: Span {
                        start,
                        len: out.items.len() as u32 - start,
                    },
                    otherwise: list.otherwise,
                })
            }
            Dyn::Stream(slot) => {
                let start = out.text.len() as u32;
                if let Some(n) = self.stream_limit(slot) {
                    out.text.push_str(&format!("n{n}\n"));
                }
                let ops = out.streams.len() as u32;
                out.streams.push(TextRange {
                    start,
                    end: out.text.len() as u32,
                });
                Dyn::Stream(StreamSlot {
                    items: Span {
                        start: out.items.len() as u32,
                        len: 0,
                    },
                    ops,
                })
            }
        }
    }

    /// The key of `item`, if it has one.
    pub fn key(&self, item: &Item) -> Option<&str> {
        item.key.map(|r| self.text(r))
    }

    /// The HTML this tree stands for (a component slot writes nothing: see
    /// [`Tree::write_html_with`]).
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(self.text.len() * 2 + 64);
        self.write_node(&self.root, &mut out);
        out
    }

    /// Append the HTML of `node` to `out`.
    pub fn write_node(&self, node: &Node, out: &mut String) {
        self.write_node_with(node, out, &mut |_, _| {});
    }

    /// Append the HTML of the whole tree to `out`, `component(cid, out)` writing the HTML of
    /// each component slot.
    pub fn write_html_with(&self, out: &mut String, component: &mut dyn FnMut(u32, &mut String)) {
        self.write_node_with(&self.root, out, component);
    }

    fn write_node_with(&self, node: &Node, out: &mut String, component: &mut dyn FnMut(u32, &mut String)) {
        let statics = self.statics_of(node);
        let dyns = self.dyns(node);
        for (i, dyn_) in dyns.iter().enumerate() {
            out.push_str(statics.get(i));
            self.write_dyn(dyn_, out, component);
        }
        out.push_str(statics.get(dyns.len()));
    }

    fn write_dyn(&self, dyn_: &Dyn, out: &mut String, component: &mut dyn FnMut(u32, &mut String)) {
        match dyn_ {
            Dyn::Text(r) => out.push_str(self.text(*r)),
            Dyn::Branch(Some(node)) => self.write_node_with(node, out, component),
            Dyn::Branch(None) => {}
            Dyn::List(list) => {
                for item in self.items(list) {
                    self.write_node_with(&item.node, out, component);
                }
                if let Some(node) = self.otherwise(list) {
                    self.write_node_with(node, out, component);
                }
            }
            Dyn::Component(cid) => component(*cid, out),
            Dyn::Stream(slot) => {
                let items = self.stream_items(slot);
                for i in self.stream_order(slot) {
                    self.write_node_with(&items[i].node, out, component);
                }
            }
        }
    }

    /// Wrap the root in the element every component instance has:
    /// `<div lvt-component="ID">…</div>`, the escaped id `id_html` in a text slot before
    /// the root's own slots (so the wrapped statics are one per template, not per instance).
    pub(crate) fn wrap_component_root(&mut self, id_html: &str) {
        let old = self.statics_of(&self.root);
        let wrapped = super::intern::wrapped(old);
        let start = self.text.len() as u32;
        self.text.push_str(id_html);
        let id_range = TextRange {
            start,
            end: self.text.len() as u32,
        };
        let first = self.dyns.len() as u32;
        self.dyns.push(Dyn::Text(id_range));
        let range = self.root.dyns.range();
        self.dyns.extend_from_within(range);
        let n = self.statics.len();
        let id = match self.statics.iter().position(|s| same_statics_ptr(s, wrapped)) {
            Some(i) => StaticsId::new(i),
            None => {
                self.statics.push(wrapped);
                StaticsId::new(n)
            }
        };
        self.root = Node {
            statics: id,
            dyns: Span {
                start: first,
                len: self.dyns.len() as u32 - first,
            },
        };
    }
}
