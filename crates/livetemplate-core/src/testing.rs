//! Test support: a reference client that applies wire frames exactly as the browser client
//! does, [`TestPage`], which runs a page in process through the real frame path, and
//! [`store_conformance`], which checks a [`PersistStore`].
//!
//! ```
//! # async fn demo() -> livetemplate_core::Result<()> {
//! # use livetemplate_core::testing::ClientTree;
//! let mut client = ClientTree::new();
//! // A whole number's text may come as a JSON number.
//! client.apply(r#"{"v":2,"s":{"0":["<p>","</p>"]},"t":{"s":0,"0":1}}"#)?;
//! client.apply(r#"{"r":1,"d":{"0":2}}"#)?;
//! assert_eq!(client.html(), "<p>2</p>");
//! // A list: items as arrays of their slot values, their statics the list's `s`.
//! client.apply(r#"{"v":2,"s":{"0":["<ul>","</ul>"],"1":["<li>","</li>"]},"t":{"s":0,"0":{"s":1,"l":[["a"],["b"]]}}}"#)?;
//! client.apply(r#"{"d":{"0":{"o":[["i",2,["c"]],["u",0,{"0":"A"}]]}}}"#)?;
//! assert_eq!(client.html(), "<ul><li>A</li><li>b</li><li>c</li></ul>");
//! # Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;

use serde_json::{Map, Value};

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use crate::conformance::store_conformance;

mod selectors;
use selectors::{Clicked, Doc, Event, KeyKind};

use crate::app::{App, Closing, Outbound};
use crate::error::{Error, Result};
use crate::group::GroupId;
use crate::page::{Page, PageRoute, Request};
use crate::protocol::key;
use crate::state::{IntoController, LiveState};
use crate::store::{MemoryStore, PersistStore};
use crate::transport::run_connection_noting;

/// The client side of the protocol: a statics table and the current tree, rebuilt into HTML.
///
/// Positional loop items (arrays of slot values) are kept as node objects with the list's
/// statics id (`{"s":id,"0":…}`), so node diffs and renders treat both item forms alike; a
/// list keeps its `"s"` for the items later ops insert. A dyn that is a JSON number is its
/// decimal text (`501` renders `501`); only integers of at most 15 digits are accepted, the
/// ones a browser's `String(n)` gives back unchanged, so a frame with any other number is an
/// error, as a frame the browser would render differently. A stream slot (`{"x":[…]}`) keeps
/// its own list of items with their DOM ids; each stream value's ops and limit apply to it.
#[derive(Debug, Default, Clone)]
pub struct ClientTree {
    statics: HashMap<String, Vec<String>>,
    root: Option<Value>,
    /// Component instances' nodes, by cid (the frames' `"c"`).
    components: HashMap<String, Value>,
}

/// The frame keys of live navigation: the server's (the new URL; the frame carries the new
/// page's whole tree) and the client's request.
use crate::protocol::key::{NAVIGATE, NAVIGATE_TO as NAVIGATE_REQUEST};

fn bad(msg: impl Into<String>) -> Error {
    Error::protocol(msg)
}

impl ClientTree {
    /// An empty client.
    pub fn new() -> Self {
        Self::default()
    }

    /// Apply one server frame.
    pub fn apply(&mut self, frame: &str) -> Result<()> {
        let value: Value = serde_json::from_str(frame).map_err(|e| bad(format!("frame is not JSON: {e}")))?;
        let Value::Object(mut obj) = value else {
            return Err(bad("frame is not an object"));
        };
        if obj.contains_key(key::VERSION) || obj.contains_key(NAVIGATE) {
            // A new connection, or a live navigation to another page: statics ids start over.
            self.statics.clear();
        }
        if let Some(Value::Object(table)) = obj.remove(key::STATICS) {
            for (id, parts) in table {
                let parts: Vec<String> = serde_json::from_value(parts).map_err(|e| bad(format!("bad statics: {e}")))?;
                self.statics.insert(id, parts);
            }
        }
        if let Some(mut t) = obj.remove(key::TREE) {
            normalize(&mut t)?;
            self.root = Some(t);
            // A whole tree comes with every live instance: the client drops the others.
            self.components.clear();
        }
        if let Some(d) = obj.remove(key::DIFF) {
            let root = self.root.as_mut().ok_or_else(|| bad("diff before any tree"))?;
            apply_node_diff(root, d)?;
        }
        if let Some(c) = obj.remove(key::COMPONENTS) {
            let Value::Object(c) = c else {
                return Err(bad("\"c\" is not an object"));
            };
            for (cid, value) in c {
                match value {
                    Value::Null => {
                        self.components.remove(&cid);
                    }
                    Value::Object(o) if o.contains_key("s") => {
                        let mut node = Value::Object(o);
                        normalize(&mut node)?;
                        self.components.insert(cid, node);
                    }
                    diff @ Value::Object(_) => {
                        let node = self
                            .components
                            .get_mut(&cid)
                            .ok_or_else(|| bad(format!("diff for component {cid}, which the client does not hold")))?;
                        apply_node_diff(node, diff)?;
                    }
                    _ => return Err(bad(format!("component {cid}: not a node, a diff or null"))),
                }
            }
        }
        Ok(())
    }

    /// The cids of the component instances the client holds, in increasing order.
    pub fn component_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.components.keys().filter_map(|k| k.parse().ok()).collect();
        ids.sort_unstable();
        ids
    }

    /// The HTML of the current tree.
    pub fn html(&self) -> String {
        let mut out = String::new();
        if let Some(root) = &self.root {
            self.render(root, &mut out);
        }
        out
    }

    fn render(&self, v: &Value, out: &mut String) {
        match v {
            Value::String(s) => out.push_str(s),
            // Checked by `normalize` when the frame was applied.
            Value::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Object(o) if o.contains_key("c") && !o.contains_key("s") => {
                let cid = match o.get("c") {
                    Some(Value::Number(n)) => n.to_string(),
                    _ => return,
                };
                match self.components.get(&cid) {
                    Some(node) => self.render(node, out),
                    None => out.push_str("<!-- missing component -->"),
                }
            }
            Value::Object(o) if o.contains_key(STREAM_ITEMS) => {
                for entry in o
                    .get(STREAM_ITEMS)
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    if let Some(node) = entry.get(1) {
                        self.render(node, out);
                    }
                }
            }
            Value::Object(o) if o.contains_key("l") => {
                let items = o
                    .get("l")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                for item in items {
                    self.render(item, out);
                }
                if items.is_empty()
                    && let Some(e) = o.get("e")
                {
                    self.render(e, out);
                }
            }
            Value::Object(o) => {
                let sid = match o.get("s") {
                    Some(Value::Number(n)) => n.to_string(),
                    Some(Value::String(s)) => s.clone(),
                    _ => return,
                };
                let Some(statics) = self.statics.get(&sid) else {
                    out.push_str("<!-- missing statics -->");
                    return;
                };
                for (i, part) in statics.iter().enumerate() {
                    out.push_str(part);
                    if i + 1 < statics.len()
                        && let Some(d) = o.get(&i.to_string())
                    {
                        self.render(d, out);
                    }
                }
            }
            _ => {}
        }
    }
}

fn apply_node_diff(node: &mut Value, diff: Value) -> Result<()> {
    let Value::Object(diff) = diff else {
        return Err(bad("node diff is not an object"));
    };
    let Value::Object(node) = node else {
        return Err(bad("node diff applied to a non-node"));
    };
    for (k, v) in diff {
        let slot = node.entry(k).or_insert(Value::Null);
        apply_dyn_diff(slot, v)?;
    }
    Ok(())
}

/// Turn the positional items of every list in the full value `v` into node objects (see
/// [`ClientTree`]).
fn normalize(v: &mut Value) -> Result<()> {
    if let Value::Number(n) = v {
        return wire_number(n);
    }
    let Value::Object(o) = v else { return Ok(()) };
    if o.contains_key("x") {
        // A stream slot in a full value: its ops applied to an empty list.
        let mut slot = Value::Null;
        apply_stream(&mut slot, std::mem::take(o))?;
        *v = slot;
        return Ok(());
    }
    if o.contains_key("l") {
        let list_statics = o.get("s").cloned();
        if let Some(Value::Array(items)) = o.get_mut("l") {
            for item in items {
                normalize_item(item, list_statics.as_ref())?;
            }
        }
        if let Some(e) = o.get_mut("e") {
            normalize(e)?;
        }
        return Ok(());
    }
    for (k, d) in o.iter_mut() {
        if k != "s" {
            normalize(d)?;
        }
    }
    Ok(())
}

/// Largest magnitude of a number dyn: 15 digits, exact in a JS double.
const MAX_WIRE_NUMBER: i64 = 999_999_999_999_999;

/// A number dyn must be an integer of at most 15 digits (see [`ClientTree`]).
fn wire_number(n: &serde_json::Number) -> Result<()> {
    match n.as_i64() {
        Some(i) if (-MAX_WIRE_NUMBER..=MAX_WIRE_NUMBER).contains(&i) => Ok(()),
        _ => Err(bad(format!("number dyn {n} is not an integer of at most 15 digits"))),
    }
}

/// A list item in either form, as a node object; `list_statics` is the list's `s`.
fn normalize_item(item: &mut Value, list_statics: Option<&Value>) -> Result<()> {
    if let Value::Array(dyns) = item {
        let s = list_statics.ok_or_else(|| bad("positional item in a list without \"s\""))?;
        let mut node = Map::new();
        node.insert("s".into(), s.clone());
        for (i, d) in std::mem::take(dyns).into_iter().enumerate() {
            node.insert(i.to_string(), d);
        }
        *item = Value::Object(node);
    }
    if !matches!(item, Value::Object(o) if o.contains_key("s")) {
        return Err(bad("list item is neither an array nor a node"));
    }
    normalize(item)
}

fn apply_dyn_diff(slot: &mut Value, diff: Value) -> Result<()> {
    // `l` (a full list) and `o` (list ops) before `s`: lists carry `s` too.
    match diff {
        Value::Object(o) if o.contains_key("x") => apply_stream(slot, o),
        Value::Object(o) if o.contains_key("l") => {
            let mut v = Value::Object(o);
            normalize(&mut v)?;
            *slot = v;
            Ok(())
        }
        Value::Object(mut o) if o.contains_key("o") => {
            let ops = o
                .remove("o")
                .and_then(|v| if let Value::Array(a) = v { Some(a) } else { None });
            let m = slot.as_object_mut().ok_or_else(|| bad("list ops on a non-list"))?;
            // A new `s` holds for the items of these ops and later ones.
            if let Some(s) = o.remove("s") {
                m.insert("s".into(), s);
            }
            let list_statics = m.get("s").cloned();
            let list = m
                .get_mut("l")
                .and_then(Value::as_array_mut)
                .ok_or_else(|| bad("list ops on a non-list"))?;
            for op in ops.unwrap_or_default() {
                apply_op(list, op, list_statics.as_ref())?;
            }
            if let Some(mut e) = o.remove("e")
                && let Some(m) = slot.as_object_mut()
            {
                normalize(&mut e)?;
                m.insert("e".into(), e);
            }
            Ok(())
        }
        // A component slot (`{"c":cid}`) replaces the slot's value.
        Value::Object(o) if o.contains_key("c") && !o.contains_key("s") => {
            *slot = Value::Object(o);
            Ok(())
        }
        Value::Object(o) if !o.contains_key("s") => apply_node_diff(slot, Value::Object(o)),
        mut other => {
            normalize(&mut other)?;
            *slot = other;
            Ok(())
        }
    }
}

/// Where the client keeps a stream slot's items: `[[dom id, node], …]`.
const STREAM_ITEMS: &str = "xl";

/// Apply a stream value (`{"s":…,"x":[…],"n":…}`) to `slot`: its list when it is a stream
/// slot already, else an empty one. Ops in order, then the limit.
fn apply_stream(slot: &mut Value, mut value: Map<String, Value>) -> Result<()> {
    let mut items: Vec<Value> = match slot {
        Value::Object(o) => match o.remove(STREAM_ITEMS) {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let list_statics = value.remove("s");
    let Some(Value::Array(ops)) = value.remove("x") else {
        return Err(bad("stream ops are not an array"));
    };
    let id_of = |e: &Value| e.get(0).and_then(Value::as_str).map(str::to_owned);
    for op in ops {
        let Value::Array(op) = op else {
            return Err(bad("stream op is not an array"));
        };
        match op.first().and_then(Value::as_str) {
            Some("r") => items.clear(),
            Some("d") => {
                let id = op
                    .get(1)
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("stream delete without id"))?;
                items.retain(|e| id_of(e).as_deref() != Some(id));
            }
            Some("i") => {
                let at = op
                    .get(1)
                    .and_then(Value::as_i64)
                    .ok_or_else(|| bad("stream insert without index"))?;
                let id = op
                    .get(2)
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("stream insert without id"))?;
                let mut item = op.get(3).cloned().ok_or_else(|| bad("stream insert without item"))?;
                normalize_item(&mut item, list_statics.as_ref())?;
                let entry = Value::Array(vec![Value::String(id.to_owned()), item]);
                if let Some(pos) = items.iter().position(|e| id_of(e).as_deref() == Some(id)) {
                    items[pos] = entry;
                } else {
                    let at = if at < 0 {
                        items.len()
                    } else {
                        (at as usize).min(items.len())
                    };
                    items.insert(at, entry);
                }
            }
            _ => return Err(bad("unknown stream op")),
        }
    }
    if let Some(n) = value.remove("n") {
        let n = n.as_i64().ok_or_else(|| bad("stream limit is not an integer"))?;
        let keep = n.unsigned_abs() as usize;
        if items.len() > keep {
            if n > 0 {
                items.truncate(keep);
            } else {
                items.drain(..items.len() - keep);
            }
        }
    }
    let mut o = Map::new();
    o.insert(STREAM_ITEMS.into(), Value::Array(items));
    *slot = Value::Object(o);
    Ok(())
}

fn index(v: Option<&Value>, len: usize) -> Result<usize> {
    let i = v.and_then(Value::as_u64).ok_or_else(|| bad("list op without index"))? as usize;
    if i > len {
        return Err(bad(format!("list index {i} out of range {len}")));
    }
    Ok(i)
}

fn apply_op(list: &mut Vec<Value>, op: Value, list_statics: Option<&Value>) -> Result<()> {
    let Value::Array(op) = op else {
        return Err(bad("list op is not an array"));
    };
    match op.first().and_then(Value::as_str) {
        Some("r") => {
            let i = index(op.get(1), list.len().saturating_sub(1))?;
            list.remove(i);
        }
        Some("i") => {
            let i = index(op.get(1), list.len())?;
            let mut item = op.get(2).cloned().unwrap_or(Value::Null);
            normalize_item(&mut item, list_statics)?;
            list.insert(i, item);
        }
        Some("m") => {
            let from = index(op.get(1), list.len().saturating_sub(1))?;
            let v = list.remove(from);
            let to = index(op.get(2), list.len())?;
            list.insert(to, v);
        }
        Some("u") => {
            let i = index(op.get(1), list.len().saturating_sub(1))?;
            apply_node_diff(&mut list[i], op.get(2).cloned().unwrap_or(Value::Null))?;
        }
        Some("o") => {
            let entries = op
                .get(1)
                .and_then(Value::as_array)
                .ok_or_else(|| bad("rebuild without entries"))?;
            let mut next = Vec::with_capacity(entries.len());
            for e in entries {
                match e {
                    Value::Number(n) => {
                        let i = n.as_u64().ok_or_else(|| bad("bad rebuild index"))? as usize;
                        next.push(list.get(i).cloned().ok_or_else(|| bad("rebuild index out of range"))?);
                    }
                    item => {
                        let mut item = item.clone();
                        normalize_item(&mut item, list_statics)?;
                        next.push(item);
                    }
                }
            }
            *list = next;
        }
        _ => return Err(bad("unknown list op")),
    }
    Ok(())
}

/// A component instance of a [`TestPage`], by id (see [`TestPage::component`]).
#[derive(Debug)]
pub struct ComponentRef<'p> {
    page: &'p mut TestPage,
    id: &'p str,
}

impl ComponentRef<'_> {
    /// Run the instance's action `name` with `data`; the reply.
    pub async fn act(self, name: &str, data: Value) -> Frame {
        self.page.act_on(self.id, name, data).await
    }
}

/// A frame the server sent, or, when the connection had closed instead, how it closed.
#[derive(Debug, Clone)]
pub struct Frame {
    text: String,
    closed: Option<Closing>,
    /// The action of the server push that caused it (see [`Frame::pushed_by`]).
    cause: Option<String>,
}

impl Frame {
    /// The frame's JSON text, as on the wire.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// Its size in bytes on the wire.
    pub fn len(&self) -> usize {
        self.text.len()
    }
    /// True for an empty frame: none came because the connection closed (see
    /// [`Frame::closed`]).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
    /// How the server closed the connection, when it closed instead of answering.
    pub fn closed(&self) -> Option<&Closing> {
        self.closed.as_ref()
    }
    /// For a frame a server push caused, the push's action: the action a publish,
    /// `session.trigger_action` or `hub.trigger` ran, `presence` for a change of presence on a
    /// topic the page subscribed to, `lvt:reload` for persisted fields another tab saved.
    /// `None` for an answer to the page's own message (and the first frame).
    pub fn pushed_by(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// Whether the frame is of `kind` (see [`PushKind`]); a frame can be of several kinds.
    pub fn is(&self, kind: PushKind) -> bool {
        let json = self.json();
        let has = |k: &str| json.get(k).is_some();
        match kind {
            PushKind::Diff => has(key::DIFF) || has(key::COMPONENTS) || has(key::TREE),
            PushKind::Event => has(key::EVENTS),
            PushKind::Navigation => has(key::REDIRECT) || has(key::PATCH) || has(NAVIGATE),
            PushKind::Presence => self.cause.as_deref() == Some(crate::hub::PRESENCE_ACTION),
        }
    }

    /// The frame parsed.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
    /// The error message it carries, if any; for a connection that closed instead of
    /// answering, `connection closed: <code> <reason>`.
    pub fn error(&self) -> Option<String> {
        if let Some(c) = &self.closed {
            return Some(format!("connection closed: {} {}", c.code, c.reason));
        }
        self.json().get(key::ERROR).and_then(Value::as_str).map(str::to_string)
    }
}

/// The kinds of frame [`TestPage::next_push_of`] waits for. A frame can be of several kinds
/// (a presence change's frame is also a diff).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PushKind {
    /// It changes what the page shows: a diff (`"d"`), component changes (`"c"`) or a whole
    /// tree (`"t"`).
    Diff,
    /// It carries events for the page's hooks (`"events"`, from `ctx.push_event`).
    Event,
    /// It moves the browser: `redirect`, `patch` (`push_patch`) or `navigate`
    /// (`push_navigate`).
    Navigation,
    /// A change of presence on a topic the page subscribed to caused it (the `presence`
    /// action the hub pushes).
    Presence,
}

/// What the server answered a form POST without JavaScript ([`TestPage::post`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// `303 See Other` to this URL (path and query): the action succeeded. Load it with
    /// [`TestPage::follow`].
    Redirect(String),
    /// The POST failed: nothing was changed.
    Failed {
        /// The HTTP status: 422 when the form named no action or the action returned an
        /// error, 500 for an internal failure.
        status: u16,
        /// The message the user reads.
        message: String,
        /// The live region's HTML that a GET of the page renders now.
        html: String,
    },
}

impl PostOutcome {
    /// The URL of a redirect, `None` for a failure.
    pub fn location(&self) -> Option<&str> {
        match self {
            PostOutcome::Redirect(url) => Some(url),
            PostOutcome::Failed { .. } => None,
        }
    }
}

/// A page under test, run in process through the same connection loop, frame parser and
/// encoder as a real WebSocket connection; the replies are applied by [`ClientTree`].
///
/// Pushed frames (from `session.trigger_action`, publishes, presence) are applied as they
/// arrive: while waiting for an action's reply, or in [`TestPage::next_push`] and
/// [`TestPage::next_push_of`].
///
/// Actions are sent by name ([`act`](TestPage::act)), or, as a user would, by CSS selector on
/// the rendered HTML: [`click`](TestPage::click), [`submit`](TestPage::submit),
/// [`change`](TestPage::change), [`keydown`](TestPage::keydown) build the action and its data
/// from the element's attributes and the form's fields exactly as the browser client does, and
/// fail the test when the element or its binding is missing or names no action of the page.
/// [`post`](TestPage::post) runs the same form through the no-JavaScript POST path.
pub struct TestPage {
    app: Arc<App>,
    path: String,
    group: GroupId,
    inbound: Option<mpsc::Sender<String>>,
    outbound: mpsc::Receiver<Outbound>,
    task: Option<JoinHandle<Closing>>,
    client: ClientTree,
    last: Frame,
    next_ref: u64,
    /// What caused each frame after the first (see [`run_connection_noting`]).
    causes: mpsc::UnboundedReceiver<Option<String>>,
    /// Pushed frames [`TestPage::next_push_of`] passed over, oldest first.
    pending: VecDeque<Frame>,
    /// The component instances in the first frame: the page route knows their actions.
    first_components: Vec<String>,
}

impl std::fmt::Debug for TestPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPage")
            .field("path", &self.path)
            .field("html", &self.client.html())
            .finish_non_exhaustive()
    }
}

/// The URL a browser at `current` shows after `history.pushState(null, '', patch)`, for the
/// patches `ctx.push_patch` allows (a path on the site, or a query).
fn patched_url(current: &str, patch: &str) -> String {
    let patch = patch.split('#').next().unwrap_or("");
    if patch.starts_with('/') {
        patch.to_string()
    } else if patch.starts_with('?') {
        let path = current.split('?').next().unwrap_or(current);
        format!("{path}{patch}")
    } else {
        current.to_string()
    }
}

/// Run a no-JS POST of `fields` for `req` as the HTTP transport does: find the action,
/// run it, and answer with where the `303` goes or the failure.
async fn post_form(app: &App, req: &Request, fields: Vec<(String, String)>, multipart: bool) -> PostOutcome {
    let failed = |status: u16, message: String| async move {
        let html = match app.route(&req.path) {
            Some(route) => route
                .render(app.services(), req)
                .await
                .unwrap_or_else(|e| format!("<!-- the page failed to render: {e} -->")),
            None => String::new(),
        };
        PostOutcome::Failed { status, message, html }
    };
    let Some(route) = app.route(&req.path) else {
        return failed(404, format!("There is no page at {}.", req.path)).await;
    };
    let target = fields
        .iter()
        .find(|(k, _)| k == crate::component::TARGET_FIELD)
        .map(|(_, v)| v.as_str());
    let actions = route.form_action_names(target);
    let Some((action, data)) = crate::transport::choose_action(fields, &actions) else {
        let list = if actions.is_empty() {
            "(none)".to_string()
        } else {
            actions.join(", ")
        };
        return failed(
            422,
            format!(
                "The form names no action of {}: its submit button needs a name= that is one of: {list}.",
                req.path
            ),
        )
        .await;
    };
    let ran = if multipart {
        app.post_with_files(req, &action, &data, Vec::new()).await
    } else {
        app.post(req, &action, &data).await
    };
    match ran {
        Ok(nav) => PostOutcome::Redirect(crate::transport::form::after_post(
            &req.path,
            &req.query,
            nav.as_deref(),
        )),
        Err(err) => match err.reference() {
            None => failed(422, err.client_message().into_owned()).await,
            Some(_) => failed(500, format!("Nothing was changed: {}.", err.client_message())).await,
        },
    }
}

/// How many pushed frames a [`TestPage`] keeps for `next_push`/`next_push_of` (the oldest go
/// first).
const PENDING_MAX: usize = 1024;

/// How long a test waits for a frame before failing.
const WAIT: Duration = Duration::from_secs(10);

impl TestPage {
    /// Mount `controller` with `initial` state at `/test`, in an app with an in-memory store.
    ///
    /// The client message rate limit is lifted, so a test can send as many actions as fast
    /// as it likes; to test with an app's own limits, build the app and use
    /// [`TestPage::connect`].
    ///
    /// `controller` is a [`Controller`](crate::Controller) whose state is `S`, or a read-only page's type
    /// (`#[actions] impl About {}`), whose state is the type of `initial`.
    pub async fn mount<C, S>(controller: C, initial: S) -> Result<TestPage>
    where
        C: IntoController<S>,
        S: LiveState,
    {
        let route: Arc<dyn PageRoute> = Arc::new(Page::new("/test", controller.into_controller(), initial));
        Self::mount_route(route, Arc::new(MemoryStore::new()), GroupId::random()).await
    }

    /// Mount an existing page route with the given store and group (rate limit lifted, as
    /// for [`TestPage::mount`]).
    #[doc(hidden)]
    pub async fn mount_route(
        route: Arc<dyn PageRoute>,
        store: Arc<dyn PersistStore>,
        group: GroupId,
    ) -> Result<TestPage> {
        let path = route.path().to_string();
        let app = App::builder()
            .route(route)
            .shared_store(store)
            .config(|c| {
                c.rate_per_sec = f64::INFINITY;
                c.rate_burst = f64::INFINITY;
            })
            .build()?;
        Self::connect(Arc::new(app), &path, group).await
    }

    /// Open a connection to page `path` of `app` for `group`, like a browser tab would.
    /// `path` may carry a query (`/items?page=2`): the page's `ctx.query()` and
    /// `ctx.param(..)` read it, in `mount` as in actions.
    pub async fn connect(app: Arc<App>, path: &str, group: GroupId) -> Result<TestPage> {
        let url = path;
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let req = Request {
            path: path.to_string(),
            query: query.to_string(),
            group: group.clone(),
        };
        let (in_tx, in_rx) = mpsc::channel(64);
        let (out_tx, mut out_rx) = mpsc::channel(app.config().outbound_queue.max(1));
        let (cause_tx, causes) = mpsc::unbounded_channel();
        let task = tokio::spawn(run_connection_noting(app.clone(), req, in_rx, out_tx, Some(cause_tx)));
        let first = match tokio::time::timeout(WAIT, out_rx.recv()).await {
            Ok(Some(Outbound::Text(t))) => t,
            _ => {
                let closing = task
                    .await
                    .map_err(|e| Error::config(format!("connection task failed: {e}")))?;
                return Err(Error::config(format!(
                    "the page closed before its first frame: {} {}",
                    closing.code, closing.reason
                )));
            }
        };
        let mut client = ClientTree::new();
        client.apply(&first)?;
        let first_components = Doc::parse(&client.html()).component_ids();
        Ok(TestPage {
            app,
            path: url.to_string(),
            group,
            inbound: Some(in_tx),
            outbound: out_rx,
            task: Some(task),
            client,
            last: Frame {
                text: first,
                closed: None,
                cause: None,
            },
            next_ref: 1,
            causes,
            pending: VecDeque::new(),
            first_components,
        })
    }

    /// Run action `name` with `data` (a JSON object, or `null`): the frame is encoded as a
    /// client would send it, parsed by the server, and the reply applied to the client tree.
    pub async fn act(&mut self, name: &str, data: Value) -> Frame {
        let mut msg = Map::new();
        msg.insert(key::ACTION.into(), Value::String(name.into()));
        if !data.is_null() {
            msg.insert(key::DATA.into(), data);
        }
        self.request(msg).await
    }

    /// Run action `name` of component instance `id` (the id the page gave it) with `data`,
    /// as a browser sends it: the client frame's `"t"` names the instance. Returns the reply.
    pub async fn act_on(&mut self, id: &str, name: &str, data: Value) -> Frame {
        let mut msg = Map::new();
        msg.insert(key::ACTION.into(), Value::String(name.into()));
        if !data.is_null() {
            msg.insert(key::DATA.into(), data);
        }
        msg.insert(key::TARGET.into(), Value::String(id.into()));
        self.request(msg).await
    }

    /// Component instance `id` of the page: `page.component("a").act("inc", json!({}))` is
    /// [`TestPage::act_on`]`("a", "inc", …)`.
    pub fn component<'p>(&'p mut self, id: &'p str) -> ComponentRef<'p> {
        ComponentRef { page: self, id }
    }

    /// Send `msg` with the next ref and wait for the frame answering it (pushes that arrive
    /// first are applied on the way).
    async fn request(&mut self, mut msg: Map<String, Value>) -> Frame {
        let r = self.next_ref;
        self.next_ref += 1;
        msg.insert(key::REPLY.into(), Value::from(r));
        self.send(&Value::Object(msg).to_string()).await;
        loop {
            let frame = self.receive().await;
            if frame.is_empty() || frame.json().get(key::REPLY).and_then(Value::as_u64) == Some(r) {
                return frame;
            }
            // A push that came first: applied, and kept for `next_push`/`next_push_of`.
            self.keep(frame);
        }
    }

    /// Keep a pushed frame for [`next_push`](Self::next_push) and
    /// [`next_push_of`](Self::next_push_of), the newest [`PENDING_MAX`] of them.
    fn keep(&mut self, frame: Frame) {
        if self.pending.len() == PENDING_MAX {
            self.pending.pop_front();
        }
        self.pending.push_back(frame);
    }

    /// Follow an `lvt-patch` link to `url` (`?page=2`, or a path with a query), or go back or
    /// forward to it: the address changes and the page's `handle_params` runs for it, through
    /// the same client frame a browser sends. Returns the reply.
    pub async fn patch(&mut self, url: &str) -> Frame {
        self.path = patched_url(&self.path, url);
        let mut msg = Map::new();
        msg.insert(key::PARAMS.into(), Value::String(self.path.clone()));
        self.request(msg).await
    }

    /// Move to another page of the app without a document load, as an `lvt-navigate` link
    /// does: the client frame `{"n": url}` asks the server to end this page's view and mount
    /// the one at `url` (path and query) on the same connection. The answer carries
    /// `navigate` and the new page's whole tree (its statics start afresh), which replaces
    /// the HTML; [`url`](Self::url) follows. A URL outside the app is answered with a
    /// `redirect`. Returns the answer.
    pub async fn navigate(&mut self, url: &str) -> Frame {
        let mut msg = Map::new();
        msg.insert(NAVIGATE_REQUEST.into(), Value::String(url.into()));
        let frame = self.request(msg).await;
        // A `navigate` answer that does not repeat the URL (a string one was taken when the
        // frame was applied): the requested one.
        if matches!(frame.json().get(NAVIGATE), Some(v) if !v.is_string()) {
            self.path = patched_url(&self.path, url);
            self.first_components = Doc::parse(&self.client.html()).component_ids();
        }
        frame
    }

    /// The page's HTML parsed, for the selector methods.
    fn doc(&self) -> Doc {
        Doc::parse(&self.client.html())
    }

    /// Fail a selector method: `msg`, with the page's URL.
    #[track_caller]
    fn fail(&self, msg: &str) -> ! {
        panic!("TestPage at {}: {msg}", self.path)
    }

    /// Check that `event`'s action is one the page (or the component instance it targets)
    /// has; `what` says which call built it. The page's actions are known here, and those of
    /// the component instances the connection's first frame rendered; for an instance added
    /// since, an action not found is checked on the server's answer instead: `Some(what)`
    /// then.
    #[track_caller]
    fn check_action(&self, event: &Event, what: &str) -> Option<String> {
        if event.action.starts_with("lvt:") {
            // Built-in actions (`lvt:cancel_upload`).
            return None;
        }
        let path = self.path.split('?').next().unwrap_or(&self.path);
        let route = self.app.route(path)?;
        let names = route.form_action_names(event.target.as_deref());
        if names.contains(&crate::state::normalize_action(&event.action).as_str()) {
            return None;
        }
        if let Some(t) = &event.target
            && !self.first_components.contains(t)
        {
            return Some(what.to_string());
        }
        let whose = match &event.target {
            Some(t) => format!("component instance `{t}` of {path}"),
            None => format!("the page {path}"),
        };
        let list = if names.is_empty() {
            "(none)".to_string()
        } else {
            names.join(", ")
        };
        self.fail(&format!(
            "{what} sends action `{}`, which is no action of {whose}; its actions: {list}",
            event.action
        ))
    }

    /// Send `event` as the client does and wait for the answer. With `unchecked` (see
    /// [`check_action`](Self::check_action)), an answer saying the action does not exist
    /// fails the test.
    async fn send_event(&mut self, event: Event, unchecked: Option<String>) -> Frame {
        // The client leaves out `"d"` when there is no data.
        let data = if event.data.is_empty() {
            Value::Null
        } else {
            Value::Object(event.data)
        };
        let frame = match &event.target {
            Some(t) => self.act_on(t, &event.action, data).await,
            None => self.act(&event.action, data).await,
        };
        if let Some(what) = unchecked
            && let Some(err) = frame.error()
            && err.starts_with("action `")
            && err.contains("` not found on ")
        {
            self.fail(&format!("{what} sends action `{}`: {err}", event.action));
        }
        frame
    }

    /// Resolve `f` on the page's HTML, failing with its message.
    #[track_caller]
    fn resolve<T>(&self, f: impl FnOnce(&Doc) -> std::result::Result<T, String>) -> T {
        match f(&self.doc()) {
            Ok(t) => t,
            Err(msg) => self.fail(&msg),
        }
    }

    /// Click the element `selector` matches in the page's HTML, as a user would, and return
    /// the answer.
    ///
    /// What the browser client does decides what is sent: the nearest `lvt-click` on the
    /// element or around it, with that element's `lvt-value-*` attributes as the data
    /// (`lvt-value-user-id="7"` → `{"user-id": "7"}`) and the component instance from the
    /// nearest `lvt-target`/`lvt-component`; a submit button of a form submits the form (as
    /// [`submit`](Self::submit) with the button); an `lvt-patch` link runs
    /// [`patch`](Self::patch) and an `lvt-navigate` link [`navigate`](Self::navigate) with its
    /// `href`.
    ///
    /// # Panics
    ///
    /// The selection happens at the call, so the panic points at the test's line. It panics
    /// when the selector matches no element (showing the page's HTML) or several, when the
    /// element has no binding for a click, and when the action is not one of the page's (or
    /// the targeted component's) actions (listing them).
    ///
    /// ```
    /// # use livetemplate_core::testing::TestPage;
    /// # async fn demo(page: &mut TestPage) {
    /// // <li lvt-click="remove" lvt-value-id="7">milk</li>
    /// page.click("li[lvt-value-id='7']").await; // sends remove {"id": "7"}
    /// // <form method="POST"><button name="increment">+</button></form>
    /// page.click("button[name=increment]").await; // sends increment
    /// # }
    /// ```
    #[track_caller]
    pub fn click<'p>(&'p mut self, selector: &str) -> impl Future<Output = Frame> + Send + 'p {
        let clicked = self.resolve(|d| d.click(selector));
        let unchecked = match &clicked {
            Clicked::Event(e) => self.check_action(e, &format!("click on `{selector}`")),
            _ => None,
        };
        async move {
            match clicked {
                Clicked::Event(e) => self.send_event(e, unchecked).await,
                Clicked::Patch(url) => self.patch(&url).await,
                Clicked::Navigate(url) => self.navigate(&url).await,
            }
        }
    }

    /// Submit a form with the JavaScript client, as a user who typed `fields` into it and
    /// pressed its button: `selector` matches the form (its first submit button is then the
    /// one pressed, as for Enter in a field) or one of its submit buttons. Returns the answer.
    ///
    /// The action is the pressed button's `name`, else the form's `lvt-submit`; its data the
    /// form's fields as the HTML has them (text inputs, checked checkboxes and radios,
    /// selected options, textareas; not disabled ones) with `fields` in their place, plus the
    /// button's `name: value` when it has a `value`. `fields` is a JSON object (or `null`):
    /// a string per field, an array of strings for a checkbox group or a multiple select
    /// (`[]` for none), `true`/`false` for one checkbox.
    ///
    /// # Panics
    ///
    /// As [`click`](Self::click); also when `fields` names a field the form does not have
    /// (or only disabled), gives a select, radio group or checkbox a value it does not offer,
    /// or changes a hidden field, and when the form is neither `lvt-submit` nor
    /// `method="POST"`.
    ///
    /// ```
    /// # use livetemplate_core::testing::TestPage;
    /// # use serde_json::json;
    /// # async fn demo(page: &mut TestPage) {
    /// // <form lvt-submit="add"><input name="title"><button>Add</button></form>
    /// page.submit("form", json!({"title": "milk"})).await; // sends add {"title": "milk"}
    /// # }
    /// ```
    #[track_caller]
    pub fn submit<'p>(&'p mut self, selector: &str, fields: Value) -> impl Future<Output = Frame> + Send + 'p {
        let event = self.resolve(|d| d.submit(selector, &fields));
        let unchecked = self.check_action(&event, &format!("submit of `{selector}`"));
        self.send_event(event, unchecked)
    }

    /// The form's `lvt-change` after the user typed `fields` into it: `selector` matches the
    /// form or one of its fields. The data is the form's fields with `fields` in their place
    /// (see [`submit`](Self::submit)). Returns the answer.
    ///
    /// # Panics
    ///
    /// As [`submit`](Self::submit); also when the form has no `lvt-change`.
    ///
    /// ```
    /// # use livetemplate_core::testing::TestPage;
    /// # use serde_json::json;
    /// # async fn demo(page: &mut TestPage) {
    /// // <form lvt-change="validate"><input name="email"></form>
    /// page.change("form", json!({"email": "ann@"})).await;
    /// # }
    /// ```
    #[track_caller]
    pub fn change<'p>(&'p mut self, selector: &str, fields: Value) -> impl Future<Output = Frame> + Send + 'p {
        let event = self.resolve(|d| d.change(selector, &fields));
        let unchecked = self.check_action(&event, &format!("change of `{selector}`"));
        self.send_event(event, unchecked)
    }

    /// Press `key` (a `KeyboardEvent.key`: `"Enter"`, `"a"`, `"Escape"`) in the element
    /// `selector` matches: the nearest `lvt-keydown` on it or around it sends
    /// `{"key": key}`, its `lvt-value-*` and, on a field, `"value"`. Returns the answer.
    ///
    /// # Panics
    ///
    /// As [`click`](Self::click); also when the binding's `lvt-key` is another key (the
    /// client would send nothing).
    ///
    /// ```
    /// # use livetemplate_core::testing::TestPage;
    /// # async fn demo(page: &mut TestPage) {
    /// // <input name="q" value="milk" lvt-keydown="search" lvt-key="Enter">
    /// page.keydown("input[name=q]", "Enter").await; // sends search {"key": "Enter", "value": "milk"}
    /// # }
    /// ```
    #[track_caller]
    pub fn keydown<'p>(&'p mut self, selector: &str, key: &str) -> impl Future<Output = Frame> + Send + 'p {
        let event = self.resolve(|d| d.key(selector, KeyKind::Down, key));
        let unchecked = self.check_action(&event, &format!("keydown `{key}` in `{selector}`"));
        self.send_event(event, unchecked)
    }

    /// [`keydown`](Self::keydown) for `lvt-keyup`.
    ///
    /// ```
    /// # use livetemplate_core::testing::TestPage;
    /// # async fn demo(page: &mut TestPage) {
    /// // <div lvt-keyup="moved">…</div>
    /// page.keyup("div[lvt-keyup]", "ArrowUp").await;
    /// # }
    /// ```
    #[track_caller]
    pub fn keyup<'p>(&'p mut self, selector: &str, key: &str) -> impl Future<Output = Frame> + Send + 'p {
        let event = self.resolve(|d| d.key(selector, KeyKind::Up, key));
        let unchecked = self.check_action(&event, &format!("keyup `{key}` in `{selector}`"));
        self.send_event(event, unchecked)
    }

    /// Whether the page's HTML has an element matching `selector`, and, with `text`, one
    /// whose text contains `text`.
    ///
    /// # Panics
    ///
    /// When `selector` is not a valid CSS selector.
    ///
    /// ```
    /// # use livetemplate_core::testing::TestPage;
    /// # fn demo(page: &TestPage) {
    /// assert!(page.has_element("#todos li", Some("milk")));
    /// assert!(!page.has_element(".error", None));
    /// # }
    /// ```
    #[track_caller]
    pub fn has_element(&self, selector: &str, text: Option<&str>) -> bool {
        self.resolve(|d| d.has(selector, text))
    }

    /// The outer HTML of the one element `selector` matches.
    ///
    /// # Panics
    ///
    /// When the selector matches no element (showing the page's HTML) or several.
    ///
    /// ```
    /// # use livetemplate_core::testing::TestPage;
    /// # fn demo(page: &TestPage) {
    /// assert_eq!(page.render("#count"), r#"<strong id="count">3</strong>"#);
    /// # }
    /// ```
    #[track_caller]
    pub fn render(&self, selector: &str) -> String {
        self.resolve(|d| d.outer_html(selector))
    }

    /// Post a form as a browser without JavaScript does, through the app's POST path (as the
    /// HTTP transport runs it), and return the outcome. `selector` and `fields` are as for
    /// [`submit`](Self::submit): the body is the form's fields with `fields` in their place
    /// and the pressed button's `name=value` (empty value without one); the action is the
    /// field that names one of the page's actions (of the component instance the form's
    /// `lvt-target` field names), else the page's `submit` action.
    ///
    /// The live connection is not involved (the browser has none); a success is
    /// [`PostOutcome::Redirect`], after which [`follow`](Self::follow) loads the page.
    ///
    /// # Panics
    ///
    /// When the selector matches no form or submit button, the form is not
    /// `method="POST"`, or `fields` names a field the form does not have (see
    /// [`submit`](Self::submit)). A button that names no action is not a panic: the server
    /// answers [`PostOutcome::Failed`] with status 422, as it does to a browser.
    ///
    /// ```
    /// # use livetemplate_core::testing::{PostOutcome, TestPage};
    /// # async fn demo(page: &mut TestPage) -> livetemplate_core::Result<()> {
    /// // <form method="POST"><button name="increment">+</button></form>
    /// let outcome = page.post("button[name=increment]", serde_json::Value::Null).await;
    /// assert_eq!(outcome, PostOutcome::Redirect("/counter".into()));
    /// page.follow(&outcome).await?;
    /// assert!(page.has_element("#count", Some("1")));
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn post<'p>(&'p self, selector: &str, fields: Value) -> impl Future<Output = PostOutcome> + Send + 'p {
        let (fields, multipart) = self.resolve(|d| d.post_fields(selector, &fields));
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let req = Request {
            path: path.to_string(),
            query: query.to_string(),
            group: self.group.clone(),
        };
        async move { post_form(&self.app, &req, fields, multipart).await }
    }

    /// Load the page a [`PostOutcome::Redirect`] (or any URL of the app) points to, as the
    /// browser does after the `303`: the connection is replaced by one to that page, for the
    /// same session group.
    ///
    /// Fails for a [`PostOutcome::Failed`] (there is nothing to follow; its message says
    /// why) and for a URL of no page of the app.
    pub async fn follow(&mut self, outcome: &PostOutcome) -> Result<()> {
        let url = match outcome {
            PostOutcome::Redirect(url) => url.clone(),
            PostOutcome::Failed { status, message, .. } => {
                return Err(Error::msg(format!(
                    "the POST failed ({status}: {message}); there is no redirect to follow"
                )));
            }
        };
        let path = url.split('?').next().unwrap_or(&url);
        if self.app.route(path).is_none() {
            return Err(Error::msg(format!("{url} is no page of the app")));
        }
        self.close().await;
        let next = Self::connect(self.app.clone(), &url, self.group.clone()).await?;
        *self = next;
        Ok(())
    }

    /// The page's URL as the browser's address bar would show it (path and query).
    pub fn url(&self) -> &str {
        &self.path
    }

    /// Send a raw client frame (for testing malformed input) and return the next frame.
    pub async fn send_raw(&mut self, text: &str) -> Frame {
        self.send(text).await;
        self.receive().await
    }

    async fn send(&mut self, text: &str) {
        if let Some(tx) = &self.inbound {
            let _ = tx.send(text.to_string()).await;
        }
    }

    /// Wait for the next frame and apply it; an empty frame saying how the connection
    /// closed when it did.
    async fn receive(&mut self) -> Frame {
        match self.next_frame(WAIT).await {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                self.inbound = None;
                let closed = match self.task.take() {
                    Some(task) => task.await.ok(),
                    None => None,
                };
                Frame {
                    text: String::new(),
                    closed: Some(closed.unwrap_or_else(|| Closing {
                        code: 1006,
                        reason: "connection already closed".into(),
                    })),
                    cause: None,
                }
            }
            Err(_) => panic!("no frame from {} within {WAIT:?}", self.path),
        }
    }

    /// Wait up to `timeout` for a pushed frame (one not answering this page's own action)
    /// and apply it. `None` when none came.
    ///
    /// Pushed frames that arrived while the page waited for an answer, or that
    /// [`next_push_of`](Self::next_push_of) passed over, come first (already applied).
    pub async fn next_push(&mut self, timeout: Duration) -> Option<Frame> {
        if let Some(frame) = self.pending.pop_front() {
            return Some(frame);
        }
        self.next_frame(timeout).await.ok().flatten()
    }

    /// Wait up to `timeout` for a pushed frame of `kind` and return it. Every frame that
    /// arrives is applied to the page's HTML as it comes (as a browser does); pushed frames of
    /// other kinds are kept, in order, for later calls of `next_push_of` and
    /// [`next_push`](Self::next_push). `None` when none came in time (or the connection
    /// closed).
    ///
    /// ```
    /// # use livetemplate_core::testing::{PushKind, TestPage};
    /// # use std::time::Duration;
    /// # async fn demo(page: &mut TestPage) {
    /// // Someone joined the lobby: the page ran its `presence` action.
    /// let frame = page.next_push_of(PushKind::Presence, Duration::from_secs(2)).await.unwrap();
    /// assert_eq!(frame.pushed_by(), Some("presence"));
    /// # }
    /// ```
    pub async fn next_push_of(&mut self, kind: PushKind, timeout: Duration) -> Option<Frame> {
        if let Some(i) = self.pending.iter().position(|f| f.is(kind)) {
            return self.pending.remove(i);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next_frame(left).await.ok().flatten()?;
            if frame.is(kind) {
                return Some(frame);
            }
            self.keep(frame);
        }
    }

    /// The next frame within `timeout`, applied to the client tree: `Ok(None)` when the
    /// connection closed, `Err` on timeout.
    async fn next_frame(
        &mut self,
        timeout: Duration,
    ) -> std::result::Result<Option<Frame>, tokio::time::error::Elapsed> {
        let Some(Outbound::Text(text)) = tokio::time::timeout(timeout, self.outbound.recv()).await? else {
            return Ok(None);
        };
        if let Err(err) = self.client.apply(&text) {
            panic!("the server sent a frame the client cannot apply: {err}\nframe: {text}");
        }
        // Noted by the connection before it sent the frame.
        let cause = self.causes.try_recv().ok().flatten();
        // The browser's URL follows `push_patch`; a reconnect opens the patched URL.
        if text.contains("\"patch\"")
            && let Some(url) = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get(key::PATCH).and_then(Value::as_str).map(str::to_string))
        {
            self.path = patched_url(&self.path, &url);
        }
        // A live navigation: the connection now runs the page at the new URL.
        if text.contains("\"navigate\"")
            && let Some(url) = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get(NAVIGATE).and_then(Value::as_str).map(str::to_string))
        {
            self.path = patched_url(&self.path, &url);
            // The new page's instances, rendered with its first tree.
            self.first_components = Doc::parse(&self.client.html()).component_ids();
        }
        self.last = Frame {
            text,
            closed: None,
            cause,
        };
        Ok(Some(self.last.clone()))
    }

    /// Close the connection (as a closed tab does) and return how the server closed it.
    pub async fn close(&mut self) -> Option<Closing> {
        self.inbound = None;
        let task = self.task.take()?;
        task.await.ok()
    }

    /// Drop the connection and open a new one for the same group (like a browser reconnecting).
    pub async fn reconnect(&mut self) -> Result<()> {
        self.close().await;
        let next = Self::connect(self.app.clone(), &self.path, self.group.clone()).await?;
        *self = next;
        Ok(())
    }

    /// The HTML a browser would show, rebuilt from the frames received.
    pub fn html(&self) -> String {
        self.client.html()
    }

    /// The last frame received.
    pub fn last_frame(&self) -> &Frame {
        &self.last
    }

    /// The byte size of the last frame.
    pub fn last_frame_bytes(&self) -> usize {
        self.last.len()
    }

    /// The session group this page runs in.
    pub fn group(&self) -> &GroupId {
        &self.group
    }

    /// The app this page runs in (to open more connections, or reach its hub and store).
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// The store this page persists into.
    pub fn store(&self) -> &Arc<dyn PersistStore> {
        self.app.store()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATICS: &str =
        r#""s":{"0":["<ul>","</ul>"],"1":["<li>","</li>"],"2":["<li class=x>","</li>"],"3":["<b>","</b>"]}"#;

    fn client(tree: &str) -> ClientTree {
        let mut c = ClientTree::new();
        c.apply(&format!(r#"{{"v":2,{STATICS},"t":{tree}}}"#)).unwrap();
        c
    }

    #[test]
    fn both_item_forms_in_one_list() {
        let c = client(r#"{"s":0,"0":{"s":1,"l":[["a"],{"s":2,"0":"b"},["c"]]}}"#);
        assert_eq!(c.html(), "<ul><li>a</li><li class=x>b</li><li>c</li></ul>");
    }

    #[test]
    fn ops_insert_rebuild_and_update_either_form() {
        let mut c = client(r#"{"s":0,"0":{"s":1,"l":[["a"],["b"]]}}"#);
        c.apply(r#"{"d":{"0":{"o":[["i",1,["x"]],["i",0,{"s":2,"0":"y"}],["u",3,{"0":"B"}]]}}}"#)
            .unwrap();
        assert_eq!(c.html(), "<ul><li class=x>y</li><li>a</li><li>x</li><li>B</li></ul>");
        // An array in a rebuild is a new item, an integer a current one.
        c.apply(r#"{"d":{"0":{"o":[["o",[3,["n"],0]]]}}}"#).unwrap();
        assert_eq!(c.html(), "<ul><li>B</li><li>n</li><li class=x>y</li></ul>");
    }

    #[test]
    fn an_ops_s_holds_for_its_own_items_and_later_ones() {
        // An empty list has no `s`; ops give it one.
        let mut c = client(r#"{"s":0,"0":{"l":[]}}"#);
        c.apply(r#"{"d":{"0":{"s":2,"o":[["i",0,["p"]]]}}}"#).unwrap();
        c.apply(r#"{"d":{"0":{"o":[["i",1,["q"]]]}}}"#).unwrap();
        assert_eq!(c.html(), "<ul><li class=x>p</li><li class=x>q</li></ul>");
        // A positional item with no `s` to read it by is an error, not a guess.
        let mut c = client(r#"{"s":0,"0":{"l":[]}}"#);
        assert!(c.apply(r#"{"d":{"0":{"o":[["i",0,["p"]]]}}}"#).is_err());
    }

    #[test]
    fn numbers_are_their_decimal_text_everywhere() {
        let mut c = client(r#"{"s":0,"0":{"s":1,"l":[[501],["007"],[-3]]}}"#);
        assert_eq!(c.html(), "<ul><li>501</li><li>007</li><li>-3</li></ul>");
        c.apply(r#"{"d":{"0":{"o":[["u",0,{"0":0}],["i",3,[999999999999999]],["o",[3,0,[-999999999999999]]]]}}}"#)
            .unwrap();
        assert_eq!(
            c.html(),
            "<ul><li>999999999999999</li><li>0</li><li>-999999999999999</li></ul>"
        );
        // A number in a node diff replaces a string, and the other way round.
        let mut c = client(r#"{"s":3,"0":"x"}"#);
        c.apply(r#"{"d":{"0":12}}"#).unwrap();
        assert_eq!(c.html(), "<b>12</b>");
        c.apply(r#"{"d":{"0":"12.0"}}"#).unwrap();
        assert_eq!(c.html(), "<b>12.0</b>");
        // Numbers a browser would not render as the server's text are refused.
        for bad in ["1000000000000000", "1.5", "1e3", "-1000000000000000"] {
            let mut c = client(r#"{"s":3,"0":"x"}"#);
            assert!(c.apply(&format!(r#"{{"d":{{"0":{bad}}}}}"#)).is_err(), "{bad}");
            assert!(
                ClientTree::new()
                    .apply(&format!(
                        r#"{{"v":2,{STATICS},"t":{{"s":0,"0":{{"s":1,"l":[[{bad}]]}}}}}}"#
                    ))
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_navigate_frame_starts_the_statics_afresh() {
        let mut c = client(r#"{"s":3,"0":"x"}"#);
        c.apply(r#"{"d":{"0":"y"}}"#).unwrap();
        // The new page's statics reuse ids 0 and 1; its tree replaces the old one.
        c.apply(r#"{"r":1,"navigate":"/other","s":{"0":["<h1>","</h1>"]},"t":{"s":0,"0":"Other"}}"#)
            .unwrap();
        assert_eq!(c.html(), "<h1>Other</h1>");
        // Ids the old page had and the new one did not send are gone.
        c.apply(r#"{"d":{"0":{"s":1,"0":"z"}}}"#).unwrap();
        assert!(c.html().contains("missing statics"), "{}", c.html());
    }

    #[test]
    fn lists_inside_positional_items_and_full_replacements() {
        // Slot 0 of each item holds a nested list of `<b>` items.
        let mut c = ClientTree::new();
        c.apply(
            r#"{"v":2,"s":{"0":["<ul>","</ul>"],"1":["<li>","</li>"],"2":["<b>","</b>"]},"t":{"s":0,"0":{"s":1,"l":[[{"s":2,"l":[["x"],["y"]]}]]}}}"#,
        )
        .unwrap();
        assert_eq!(c.html(), "<ul><li><b>x</b><b>y</b></li></ul>");
        c.apply(r#"{"d":{"0":{"o":[["u",0,{"0":{"o":[["u",1,{"0":"Y"}]]}}]]}}}"#)
            .unwrap();
        assert_eq!(c.html(), "<ul><li><b>x</b><b>Y</b></li></ul>");
        // A full list in a diff is checked for `l` before `s`.
        c.apply(r#"{"d":{"0":{"s":1,"l":[[""],[{"s":2,"l":[["z"]]}]]}}}"#)
            .unwrap();
        assert_eq!(c.html(), "<ul><li></li><li><b>z</b></li></ul>");
    }
}
