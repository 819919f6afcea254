//! The rendered tree: statics (template text fixed for a branch) and dynamics (expression
//! values, nested branches, loops), built by one linear pass over askama's marked output.
//!
//! The derive macro wraps every `{{ expr }}`, `if`/`match` and `for` of a template in marker
//! writes. A marker is authenticated by a [`Cell`] that only the marker's own `Display` sets, so
//! text from user data that happens to contain the same characters is never taken for one.

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

/// A marker value written into the template output by the generated wrapper.
#[doc(hidden)]
#[derive(Debug)]
pub struct Mark<'a> {
    cell: &'a Cell<u32>,
    code: u32,
}

impl<'a> Mark<'a> {
    /// A marker of `code` that authenticates itself through `cell`.
    pub fn new(cell: &'a Cell<u32>, code: u32) -> Self {
        Mark { cell, code }
    }
}

impl fmt::Display for Mark<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.cell.set(self.code);
        // The sink recognises the write by the cell, not by this text.
        f.write_str("\u{E000}")
    }
}

impl askama::FastWritable for Mark<'_> {
    #[inline]
    fn write_into(&self, dest: &mut dyn fmt::Write, _: &dyn askama::Values) -> askama::Result<()> {
        self.cell.set(self.code);
        dest.write_str("\u{E000}")?;
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
#[derive(Debug, Clone)]
pub struct Node {
    /// Literal parts; `statics.len() == dyns.len() + 1`.
    pub statics: Statics,
    /// Dynamic slot values.
    pub dyns: Vec<Dyn>,
}

/// The value of one dynamic slot.
#[derive(Debug, Clone)]
pub enum Dyn {
    /// An expression's escaped output: a range in [`Tree::text`].
    Text(TextRange),
    /// An `if`/`match`: the branch taken, or none.
    Branch(Option<Box<Node>>),
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
    /// One node per iteration.
    pub items: Vec<Item>,
    /// The loop's `else` body, when it ran.
    pub otherwise: Option<Box<Node>>,
}

/// One loop iteration.
#[derive(Debug, Clone)]
pub struct Item {
    /// The `data-key` of the item's root element, if it has one.
    pub key: Option<Box<str>>,
    /// The iteration's content.
    pub node: Node,
}

/// A whole rendered page: the root node and the dynamic text its slots point into.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The root node.
    pub root: Node,
    /// All dynamic text of the tree.
    pub text: String,
}

impl Tree {
    /// The text of a dynamic slot.
    pub fn text(&self, range: TextRange) -> &str {
        &self.text[range.start as usize..range.end as usize]
    }

    /// The HTML this tree stands for.
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(self.text.len() * 2 + 64);
        self.write_node(&self.root, &mut out);
        out
    }

    /// Append the HTML of `node` to `out`.
    pub fn write_node(&self, node: &Node, out: &mut String) {
        for (i, dyn_) in node.dyns.iter().enumerate() {
            out.push_str(node.statics.get(i));
            self.write_dyn(dyn_, out);
        }
        out.push_str(node.statics.get(node.dyns.len()));
    }

    fn write_dyn(&self, dyn_: &Dyn, out: &mut String) {
        match dyn_ {
            Dyn::Text(r) => out.push_str(self.text(*r)),
            Dyn::Branch(Some(node)) => self.write_node(node, out),
            Dyn::Branch(None) => {}
            Dyn::List(list) => {
                for item in &list.items {
                    self.write_node(&item.node, out);
                }
                if list.items.is_empty()
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
    dyns: Vec<Dyn>,
}

#[derive(Debug)]
enum Frame {
    Node(NodeBuild),
    Expr { start: u32 },
    Branch { taken: Option<Box<Node>> },
    Loop { list: List, last: Option<Statics> },
}

/// Receives askama's marked output and builds a [`Tree`] from it.
///
/// Created by the code `#[derive(LiveState)]` generates; users do not touch it.
#[doc(hidden)]
#[derive(Debug)]
pub struct TreeSink<'a> {
    cell: &'a Cell<u32>,
    stack: Vec<Frame>,
    text: String,
    pool: Vec<String>,
    ends_pool: Vec<Vec<u32>>,
    error: Option<&'static str>,
}

impl<'a> TreeSink<'a> {
    /// A sink reading markers through `cell`.
    pub fn new(cell: &'a Cell<u32>) -> Self {
        TreeSink {
            cell,
            stack: vec![Frame::Node(NodeBuild {
                role: Role::Root,
                text: String::with_capacity(256),
                ends: Vec::new(),
                dyns: Vec::new(),
            })],
            text: String::with_capacity(256),
            pool: Vec::new(),
            ends_pool: Vec::new(),
            error: None,
        }
    }

    fn new_node(&mut self, role: Role) -> Frame {
        let mut text = self.pool.pop().unwrap_or_default();
        text.clear();
        let mut ends = self.ends_pool.pop().unwrap_or_default();
        ends.clear();
        let slots = match self.stack.last() {
            Some(Frame::Loop { last: Some(s), .. }) if role == Role::Item => {
                s.len().saturating_sub(1)
            }
            _ => 0,
        };
        Frame::Node(NodeBuild {
            role,
            text,
            ends,
            dyns: Vec::with_capacity(slots),
        })
    }

    fn fail(&mut self, what: &'static str) {
        if self.error.is_none() {
            self.error = Some(what);
        }
    }

    fn push_dyn(&mut self, d: Dyn) {
        match self.stack.last_mut() {
            Some(Frame::Node(nb)) => {
                nb.ends.push(nb.text.len() as u32);
                nb.dyns.push(d);
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
        Node {
            statics,
            dyns: nb.dyns,
        }
    }

    /// Pop the top frame and fold it into its parent.
    fn close_top(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return self.fail("marker stack underflow");
        };
        match frame {
            Frame::Expr { start } => {
                let end = self.text.len() as u32;
                self.push_dyn(Dyn::Text(TextRange { start, end }));
            }
            Frame::Branch { taken } => self.push_dyn(Dyn::Branch(taken)),
            Frame::Loop { list, .. } => self.push_dyn(Dyn::List(list)),
            Frame::Node(nb) => {
                let role = nb.role;
                let hint = match self.stack.last() {
                    Some(Frame::Loop { last, .. }) if role == Role::Item => last.clone(),
                    _ => None,
                };
                let node = self.finish_node(nb, hint.as_ref());
                match (role, self.stack.last_mut()) {
                    (Role::BranchBody, Some(Frame::Branch { taken })) => {
                        *taken = Some(Box::new(node));
                    }
                    (Role::Item, Some(Frame::Loop { list, last })) => {
                        *last = Some(node.statics.clone());
                        let key = item_key(&node, &self.text);
                        list.items.push(Item { key, node });
                    }
                    (Role::Else, Some(Frame::Loop { list, .. })) => {
                        list.otherwise = Some(Box::new(node));
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

    fn on_mark(&mut self, code: u32) {
        match code {
            mark::EXPR_OPEN => {
                let start = self.text.len() as u32;
                self.stack.push(Frame::Expr { start });
            }
            mark::EXPR_CLOSE => match self.stack.last() {
                Some(Frame::Expr { .. }) => self.close_top(),
                _ => self.fail("expression end without start"),
            },
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
            mark::LOOP_OPEN => self.stack.push(Frame::Loop {
                list: List::default(),
                last: None,
            }),
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

    /// Finish building and return the tree.
    pub fn finish(mut self) -> Result<Tree> {
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
                let root = self.finish_node(nb, None);
                Ok(Tree {
                    root,
                    text: self.text,
                })
            }
            _ => Err(Error::config("template output has no root")),
        }
    }
}

impl fmt::Write for TreeSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let code = self.cell.replace(0);
        if code != 0 {
            self.on_mark(code);
            return Ok(());
        }
        match self.stack.last_mut() {
            Some(Frame::Node(nb)) => nb.text.push_str(s),
            Some(Frame::Expr { .. }) => self.text.push_str(s),
            _ => {
                if !s.is_empty() {
                    self.fail("text between control tags")
                }
            }
        }
        Ok(())
    }
}

/// The `data-key` attribute of an item's first element, if any.
fn item_key(node: &Node, text: &str) -> Option<Box<str>> {
    let s0 = node.statics.get(0);
    // Fast path: `<tr data-key="{{ id }}">`.
    if s0.ends_with("data-key=\"")
        && !s0.contains('>')
        && let (Some(Dyn::Text(r)), Some(s1)) = (node.dyns.first(), node.statics.iter().nth(1))
        && s1.starts_with('"')
    {
        return Some(text[r.start as usize..r.end as usize].into());
    }
    if let Some(pos) = s0.rfind("data-key=\"") {
        let after = &s0[pos + 10..];
        if after.is_empty() {
            if let (Some(Dyn::Text(r)), Some(s1)) = (node.dyns.first(), node.statics.iter().nth(1))
                && s1.starts_with('"')
                && !s0[..pos].contains('>')
            {
                return Some(text[r.start as usize..r.end as usize].into());
            }
        } else if let Some(end) = after.find('"')
            && !s0[..pos].contains('>')
        {
            return Some(after[..end].into());
        }
    }
    // General path: rebuild the opening tag up to its first `>` outside quotes.
    let mut tag = String::new();
    'outer: for (i, part) in node.statics.iter().enumerate() {
        tag.push_str(part);
        if tag_closed(&tag) {
            break;
        }
        match node.dyns.get(i) {
            Some(Dyn::Text(r)) => tag.push_str(&text[r.start as usize..r.end as usize]),
            _ => break 'outer,
        }
        if tag_closed(&tag) {
            break;
        }
    }
    attr_value(&tag, "data-key")
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
                let e = v
                    .find(|c: char| c.is_ascii_whitespace() || c == '/')
                    .unwrap_or(v.len());
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
        assert_eq!(
            attr_value("<tr data-key=\"a b\">", "data-key").as_deref(),
            Some("a b")
        );
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
