//! [`Stream`]: a collection the server renders once per item, sends, and forgets.
//!
//! A page field of type `Stream<T>` holds only the *pending* operations of the current step
//! (inserts, updates, deletes by DOM id, a reset) and the optional limit. The template
//! iterates it like a list (`{% for m in messages %}`): the loop yields the pending items as
//! [`StreamItem`]s. The frame sent to the browser carries these operations (`"x"` on the
//! wire, see `docs/protocol.md`); once it is sent the engine drops them, so the server's
//! memory does not grow with the number of items ever streamed. The browser keeps the items
//! (bounded by the limit).
//!
//! ```
//! use livetemplate_core::stream::Stream;
//!
//! #[derive(Clone)]
//! struct Message { id: u64, text: String }
//!
//! let mut messages = Stream::new(|m: &Message| format!("msg-{}", m.id)).limit(-100);
//! messages.insert(Message { id: 1, text: "hi".into() });          // append
//! messages.insert_at(0, Message { id: 2, text: "first".into() }); // prepend
//! messages.delete_by_dom_id("msg-1");
//! assert_eq!(messages.held(), 1);
//! let ids: Vec<&str> = messages.iter().map(|m| m.dom_id.as_str()).collect();
//! assert_eq!(ids, ["msg-2"]);
//! assert_eq!(messages.iter().next().map(|m| m.text.as_str()), Some("first")); // Deref to Message
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::diff::write_json_str;

/// How a stream names an item's DOM id.
type DomIdFn<T> = Arc<dyn Fn(&T) -> String + Send + Sync>;

/// One pending item of a [`Stream`], as the template's loop yields it: its DOM id, and the
/// value, which it dereferences to (`{{ m.text }}` reads `Message::text`).
///
/// Write `id="{{ m.dom_id }}"` on the item's root element for the keyed layout (the browser
/// patches that element directly); without it (unkeyed layout) the browser finds the item by
/// its position in its own list.
#[derive(Clone, Debug)]
pub struct StreamItem<T> {
    /// The item's DOM id, as the stream's id function gave it.
    pub dom_id: String,
    value: T,
}

impl<T> StreamItem<T> {
    /// The item's value.
    pub fn value(&self) -> &T {
        &self.value
    }
}

impl<T> Deref for StreamItem<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// A pending operation for the browser's list (after the last reset, if any).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    /// Remove the item with this DOM id.
    Delete(String),
    /// Insert pending entry `entry` at `at`.
    Insert { at: i64, entry: usize },
}

/// A collection rendered once per item and then forgotten by the server: see the
/// [module documentation](self) and the guide's "Streams" section.
///
/// - Build it with [`Stream::new`] (the DOM id of an item) and optionally [`limit`](Self::limit).
/// - Change it in actions: [`insert`](Self::insert), [`insert_at`](Self::insert_at),
///   [`update`](Self::update), [`extend`](Self::extend), [`delete`](Self::delete),
///   [`delete_by_dom_id`](Self::delete_by_dom_id), [`reset`](Self::reset).
/// - Iterate it in the template; the loop yields the pending items ([`StreamItem`]).
///
/// Pending operations are compacted as they come: an insert of a DOM id already pending
/// replaces that item's value in place; a delete of a pending insert drops it (unless a
/// later insert at an index `k > 0` depends on its place); a reset drops everything before
/// it. After each frame the engine drops them all ([`held`](Self::held) is then 0). Without
/// a live connection (the page rendered after a no-JS form post) pending inserts accumulate
/// so the page shows them, bounded by the limit.
///
/// A `Stream` is not persistable (`#[lvt(persist)]` does not accept it): the browser holds
/// the items; a new connection mounts the page again, which refills the stream.
pub struct Stream<T> {
    dom_id: Option<DomIdFn<T>>,
    limit: Option<i64>,
    /// A reset is pending: the browser empties its list before the ops.
    reset: bool,
    ops: Vec<Op>,
    /// The items the pending inserts send, in the order of their inserts.
    entries: Vec<StreamItem<T>>,
    /// The list an empty browser list becomes with `ops` applied (before the limit): indices
    /// into `entries`.
    view: Vec<usize>,
    /// DOM id of each entry in `view` → its index in `entries`.
    ids: HashMap<String, usize>,
    /// Items numbered so far by a stream without an id function.
    numbered: u64,
}

impl<T> Clone for Stream<T>
where
    T: Clone,
{
    fn clone(&self) -> Self {
        Stream {
            dom_id: self.dom_id.clone(),
            limit: self.limit,
            reset: self.reset,
            ops: self.ops.clone(),
            entries: self.entries.clone(),
            view: self.view.clone(),
            ids: self.ids.clone(),
            numbered: self.numbered,
        }
    }
}

impl<T> Default for Stream<T> {
    /// A stream without an id function: items are numbered `item-1`, `item-2`, … in insert
    /// order, so [`update`](Self::update) and [`delete`](Self::delete) cannot find them (use
    /// [`Stream::new`] for those).
    fn default() -> Self {
        Stream {
            dom_id: None,
            limit: None,
            reset: false,
            ops: Vec::new(),
            entries: Vec::new(),
            view: Vec::new(),
            ids: HashMap::new(),
            numbered: 0,
        }
    }
}

impl<T> fmt::Debug for Stream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("limit", &self.limit)
            .field("reset", &self.reset)
            .field("ops", &self.ops)
            .field("held", &self.entries.len())
            .finish()
    }
}

/// A pending list this many times the limit's size is cut to the limit (see [`Stream::limit`]).
const CUT_FACTOR: usize = 2;
/// … and this many items more, so one step's inserts up to the limit are never cut early.
const CUT_SLACK: usize = 64;

impl<T> Stream<T> {
    /// An empty stream whose items' DOM ids are `dom_id(&item)` (unique among the items the
    /// browser holds; an insert of an id the browser has replaces that item in place).
    ///
    /// ```
    /// # use livetemplate_core::stream::Stream;
    /// # #[derive(Clone)] struct Message { id: u64 }
    /// let s = Stream::new(|m: &Message| format!("msg-{}", m.id));
    /// assert_eq!(s.held(), 0);
    /// ```
    pub fn new(dom_id: impl Fn(&T) -> String + Send + Sync + 'static) -> Self {
        Stream {
            dom_id: Some(Arc::new(dom_id)),
            ..Stream::default()
        }
    }

    /// Keep at most `n` items in the browser: a positive `n` keeps the first `n`, a negative
    /// one the last `|n|` (use `-n` with appends and `n` with prepends, so the newest stay);
    /// `0` means no limit. The browser applies it after each frame's operations.
    ///
    /// The server applies it to its pending items too: the page rendered without a live
    /// connection shows the first or last `|n|`, and past about twice `|n|` pending items the
    /// ones outside the limit are dropped (for streams that append or prepend; inserts at an
    /// index `k > 0` keep what comes before them).
    pub fn limit(mut self, n: i64) -> Self {
        self.set_limit(n);
        self
    }

    /// Change the limit (see [`limit`](Self::limit)); sent with the next frame.
    pub fn set_limit(&mut self, n: i64) {
        self.limit = (n != 0).then_some(n);
    }

    /// The limit, if any (see [`limit`](Self::limit)).
    pub fn get_limit(&self) -> Option<i64> {
        self.limit
    }

    /// Append `item` (or replace in place the item with its DOM id).
    pub fn insert(&mut self, item: T) {
        self.insert_at(-1, item);
    }

    /// Insert `item` at index `at` of the browser's list: `-1` appends, `0` prepends, `k`
    /// inserts before the item at `k` (clamped to the list's length). When an item with the
    /// same DOM id is in the list, it is replaced in place instead (its position stays).
    pub fn insert_at(&mut self, at: i64, item: T) {
        let dom_id = self.dom_id_of(&item);
        if let Some(&e) = self.ids.get(&dom_id) {
            self.entries[e].value = item;
            return;
        }
        let len = self.view.len();
        let index = if at < 0 { len } else { (at as usize).min(len) };
        let entry = self.entries.len();
        self.ids.insert(dom_id.clone(), entry);
        self.ops.push(Op::Insert { at, entry });
        self.entries.push(StreamItem { dom_id, value: item });
        self.view.insert(index, entry);
        self.bound();
    }

    /// Re-send `item` (the item with its DOM id), replacing it in place in the browser's
    /// list; appended when the browser does not have it.
    pub fn update(&mut self, item: T) {
        self.insert_at(-1, item);
    }

    /// Append every item of `items`, in order.
    pub fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        for item in items {
            self.insert_at(-1, item);
        }
    }

    /// Delete the item with `item`'s DOM id from the browser's list.
    pub fn delete(&mut self, item: &T) {
        let dom_id = self.dom_id_of_existing(item);
        self.delete_by_dom_id(&dom_id);
    }

    /// Delete the item whose DOM id is `dom_id` from the browser's list (nothing happens when
    /// it has none).
    pub fn delete_by_dom_id(&mut self, dom_id: &str) {
        let mut kept_insert = false;
        if let Some(e) = self.ids.remove(dom_id) {
            self.view.retain(|&v| v != e);
            if self.droppable(e) {
                self.drop_entries(&[e]);
            } else {
                kept_insert = true;
            }
        }
        // After a reset the browser's list holds only what the pending ops inserted.
        if !self.reset || kept_insert {
            self.ops.push(Op::Delete(dom_id.to_string()));
        }
    }

    /// Empty the browser's list. Inserts after it in the same step refill it.
    pub fn reset(&mut self) {
        self.reset = true;
        self.ops.clear();
        self.entries.clear();
        self.view.clear();
        self.ids.clear();
    }

    /// Items the server holds right now: the pending inserts (0 after a frame was sent).
    pub fn held(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is pending (no insert, delete or reset).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && !self.reset
    }

    /// The pending items, as the template's loop yields them: the list an empty browser list
    /// would show after the pending operations and the limit.
    pub fn iter(&self) -> std::vec::IntoIter<&StreamItem<T>> {
        let (from, to) = self.window();
        self.view[from..to]
            .iter()
            .map(|&e| &self.entries[e])
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// The part of `view` within the limit.
    fn window(&self) -> (usize, usize) {
        let n = self.view.len();
        match self.limit {
            Some(l) if l > 0 => (0, n.min(l as usize)),
            Some(l) => (n.saturating_sub(l.unsigned_abs() as usize), n),
            None => (0, n),
        }
    }

    fn dom_id_of(&mut self, item: &T) -> String {
        match &self.dom_id {
            Some(f) => f(item),
            None => {
                self.numbered += 1;
                format!("item-{}", self.numbered)
            }
        }
    }

    fn dom_id_of_existing(&self, item: &T) -> String {
        match &self.dom_id {
            Some(f) => f(item),
            None => String::new(),
        }
    }

    /// The last entry inserted at an index `k > 0`, if any. Entries are numbered in the order
    /// of their inserts, so the insert of entry `e` can be dropped without moving what the
    /// browser does with the ops after it exactly when no later insert lands at an index
    /// `k > 0` (whose place depends on the items before it): when `e >= last_positional`.
    fn last_positional(&self) -> Option<usize> {
        self.ops.iter().rev().find_map(|op| match op {
            Op::Insert { at, entry } if *at > 0 => Some(*entry),
            _ => None,
        })
    }

    /// True when the insert of `entry` can be dropped (see [`Self::last_positional`]).
    fn droppable(&self, entry: usize) -> bool {
        self.last_positional().is_none_or(|l| entry >= l)
    }

    /// Remove `gone` (entries no longer in `view`) and their inserts, renumbering the rest.
    fn drop_entries(&mut self, gone: &[usize]) {
        let mut keep = vec![true; self.entries.len()];
        for &g in gone {
            keep[g] = false;
        }
        let mut renum = vec![usize::MAX; self.entries.len()];
        let mut next = 0;
        for (i, k) in keep.iter().enumerate() {
            if *k {
                renum[i] = next;
                next += 1;
            }
        }
        let mut i = 0;
        self.entries.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        self.ops.retain_mut(|op| match op {
            Op::Insert { entry, .. } if !keep[*entry] => false,
            Op::Insert { entry, .. } => {
                *entry = renum[*entry];
                true
            }
            Op::Delete(_) => true,
        });
        for v in &mut self.view {
            *v = renum[*v];
        }
        for e in self.ids.values_mut() {
            *e = renum[*e];
        }
    }

    /// Keep the pending list bounded by the limit: past `CUT_FACTOR` times it (plus
    /// `CUT_SLACK`), the items outside the limit are dropped where their inserts can be.
    fn bound(&mut self) {
        let Some(l) = self.limit else { return };
        let keep = l.unsigned_abs() as usize;
        if self.entries.len() <= keep.saturating_mul(CUT_FACTOR).saturating_add(CUT_SLACK) {
            return;
        }
        let (from, to) = self.window();
        let outside: Vec<usize> = self.view[..from].iter().chain(&self.view[to..]).copied().collect();
        let last = self.last_positional();
        let gone: Vec<usize> = outside.into_iter().filter(|&e| last.is_none_or(|l| e >= l)).collect();
        if gone.is_empty() {
            return;
        }
        let set: HashSet<usize> = gone.iter().copied().collect();
        self.view.retain(|e| !set.contains(e));
        self.ids.retain(|_, e| !set.contains(e));
        self.drop_entries(&gone);
    }

    /// Every pending item in the order of their inserts, the limit not applied: the marked
    /// render sends them all, the ops place them, and the browser applies the limit.
    #[doc(hidden)]
    pub fn __lvt_all(&self) -> std::slice::Iter<'_, StreamItem<T>> {
        self.entries.iter()
    }

    /// The pending operations as the tree builder reads them (see [`crate::tree::StreamOps`]).
    #[doc(hidden)]
    pub fn __lvt_ops(&self) -> OpsText<'_, T> {
        OpsText(self)
    }

    /// A step ended without a live connection (a no-JS form post): apply the limit to the
    /// pending list, as a browser applies it after each frame, so the page shown next and a
    /// later connection's first frame show what a live browser would.
    #[doc(hidden)]
    pub fn __lvt_apply_limit(&mut self) {
        if self.limit.is_none() {
            return;
        }
        let (from, to) = self.window();
        if from == 0 && to == self.view.len() {
            return;
        }
        let outside: Vec<usize> = self.view[..from].iter().chain(&self.view[to..]).copied().collect();
        self.view.truncate(to);
        self.view.drain(..from);
        let mut gone = Vec::new();
        let last = self.last_positional();
        for e in outside {
            self.ids.remove(&self.entries[e].dom_id);
            if last.is_none_or(|l| e >= l) {
                gone.push(e);
            } else {
                // Its insert stays (a later insert's place depends on it): delete it after.
                self.ops.push(Op::Delete(self.entries[e].dom_id.clone()));
            }
        }
        self.drop_entries(&gone);
    }

    /// A frame carrying the pending operations was sent: drop them.
    #[doc(hidden)]
    pub fn __lvt_sent(&mut self) {
        self.reset = false;
        self.ops.clear();
        self.ops.shrink_to(8);
        self.entries.clear();
        self.entries.shrink_to(8);
        self.view.clear();
        self.view.shrink_to(8);
        self.ids.clear();
        self.ids.shrink_to(8);
    }
}

impl<'a, T> IntoIterator for &'a Stream<T> {
    type Item = &'a StreamItem<T>;
    type IntoIter = std::vec::IntoIter<&'a StreamItem<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The text of a stream's pending operations, written into the marked render just before
/// its loop (see [`crate::tree::StreamOps`] for the format).
#[doc(hidden)]
pub struct OpsText<'a, T>(&'a Stream<T>);

impl<T> fmt::Debug for OpsText<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OpsText").field(self.0).finish()
    }
}

impl<T> fmt::Display for OpsText<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut out = String::new();
        if let Some(l) = s.limit {
            out.push_str(&format!("n{l}\n"));
        }
        if s.reset {
            out.push_str("r\n");
        }
        for op in &s.ops {
            match op {
                Op::Delete(id) => {
                    out.push('d');
                    write_json_str(&mut out, id);
                }
                Op::Insert { at, entry } => {
                    out.push_str(&format!("i{at} {entry} "));
                    write_json_str(&mut out, &s.entries[*entry].dom_id);
                }
            }
            out.push('\n');
        }
        f.write_str(&out)
    }
}

impl<T> askama::FastWritable for OpsText<'_, T> {
    fn write_into(&self, dest: &mut dyn fmt::Write, _: &dyn askama::Values) -> askama::Result<()> {
        write!(dest, "{self}")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Stream<u32> {
        Stream::new(|n: &u32| format!("n{n}"))
    }

    fn ids(s: &Stream<u32>) -> Vec<String> {
        s.iter().map(|i| i.dom_id.clone()).collect()
    }

    #[test]
    fn pending_list_is_an_empty_list_after_the_ops() {
        let mut st = s();
        st.insert(1);
        st.insert_at(0, 2);
        st.insert_at(1, 3);
        assert_eq!(ids(&st), ["n2", "n3", "n1"]);
        st.update(3);
        assert_eq!(ids(&st), ["n2", "n3", "n1"]);
        st.delete(&2);
        assert_eq!(ids(&st), ["n3", "n1"]);
        // n2's insert stays: the insert at 1 after it depends on its place.
        assert_eq!(
            st.__lvt_ops().to_string(),
            "i-1 0 \"n1\"\ni0 1 \"n2\"\ni1 2 \"n3\"\nd\"n2\"\n"
        );
        st.reset();
        st.insert(9);
        st.delete_by_dom_id("n7");
        assert_eq!(st.__lvt_ops().to_string(), "r\ni-1 0 \"n9\"\n");
        st.__lvt_sent();
        assert_eq!(st.held(), 0);
        assert!(st.is_empty());
        assert_eq!(st.__lvt_ops().to_string(), "");
    }

    #[test]
    fn limit_windows_and_bounds_the_pending_list() {
        let mut st = s().limit(-3);
        st.extend(0..10);
        assert_eq!(ids(&st), ["n7", "n8", "n9"]);
        assert_eq!(st.held(), 10);
        st.extend(10..1000);
        assert!(st.held() <= 3 * 2 + CUT_SLACK + 1, "{}", st.held());
        assert_eq!(ids(&st), ["n997", "n998", "n999"]);
        let mut st = s().limit(2);
        for i in 0..1000 {
            st.insert_at(0, i);
        }
        assert!(st.held() <= 2 * 2 + CUT_SLACK + 1);
        assert_eq!(ids(&st), ["n999", "n998"]);
        assert!(st.__lvt_ops().to_string().starts_with("n2\n"));
    }

    #[test]
    fn default_streams_number_their_items() {
        let mut st: Stream<&str> = Stream::default();
        st.insert("a");
        st.insert("b");
        let ids: Vec<_> = st.iter().map(|i| i.dom_id.clone()).collect();
        assert_eq!(ids, ["item-1", "item-2"]);
    }
}
