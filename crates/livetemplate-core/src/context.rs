//! What an action sees besides its state: the data the client sent, and (later) the session
//! and pubsub handles.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::group::GroupId;
use crate::hub::{Hub, Session};
use crate::upload::{Upload, UploadConfig, UploadEntry, Uploads};

/// Where an action sends the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Navigation {
    /// Load another page (`location.assign`); for a no-JS POST, the `303` goes there.
    Redirect(String),
    /// Change the URL without loading a page (`history.pushState`).
    Patch(String),
    /// Move to another page of the app on the same connection (`ctx.push_navigate`): the
    /// page is swapped without a document load; for a no-JS POST, the `303` goes there.
    Navigate(String),
}

impl Navigation {
    /// The target URL.
    pub fn url(&self) -> &str {
        match self {
            Navigation::Redirect(u) | Navigation::Patch(u) | Navigation::Navigate(u) => u,
        }
    }
}

/// A URL an action may send the browser to: a path on this site (`/x`, not `//host`), a query
/// (`?page=2`), or an absolute `http(s)` URL. Anything else (`javascript:`, `data:`) is refused.
fn safe_url(url: &str) -> bool {
    let path = url.starts_with('/') && !url.starts_with("//") && !url.starts_with("/\\");
    let query = url.starts_with('?');
    let absolute = url.starts_with("https://") || url.starts_with("http://");
    (path || query || absolute) && !url.chars().any(char::is_control)
}

/// What an action asked for besides its state change, applied only when it returns `Ok`.
#[derive(Debug, Default)]
pub struct Effects {
    /// Topics to subscribe this connection to.
    pub subscribe: Vec<String>,
    /// Topics to unsubscribe from.
    pub unsubscribe: Vec<String>,
    /// Presence to track: (topic, meta).
    pub track: Vec<(String, Value)>,
    /// Presence to stop tracking.
    pub untrack: Vec<String>,
    /// Publishes: (topic, action, data).
    pub publish: Vec<(String, String, Value)>,
    /// Where to send the browser, if anywhere.
    pub navigate: Option<Navigation>,
    /// Events for client hooks: (name, payload).
    pub events: Vec<(String, Value)>,
    /// Messages of a component to its parent (`ctx.send_parent`): (action, data).
    pub to_parent: Vec<(String, Value)>,
    /// The page's new title (`ctx.set_title`), if set.
    pub title: Option<String>,
    /// Flash changes in order: (kind, `Some(message)` put, `None` cleared).
    pub flash: Vec<(String, Option<String>)>,
}

impl Effects {
    /// Add what `other` asked for after what this one did (its navigation wins when it has
    /// one).
    pub fn extend(&mut self, other: Effects) {
        self.subscribe.extend(other.subscribe);
        self.unsubscribe.extend(other.unsubscribe);
        self.track.extend(other.track);
        self.untrack.extend(other.untrack);
        self.publish.extend(other.publish);
        if other.navigate.is_some() {
            self.navigate = other.navigate;
        }
        self.events.extend(other.events);
        self.to_parent.extend(other.to_parent);
        if other.title.is_some() {
            self.title = other.title;
        }
        self.flash.extend(other.flash);
    }

    /// True when there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.subscribe.is_empty()
            && self.unsubscribe.is_empty()
            && self.track.is_empty()
            && self.untrack.is_empty()
            && self.publish.is_empty()
            && self.navigate.is_none()
            && self.events.is_empty()
            && self.to_parent.is_empty()
            && self.title.is_none()
            && self.flash.is_empty()
    }

    /// Apply to the hub for connection `conn` (subscriptions and presence need a connection;
    /// publishes do not).
    pub async fn apply(self, hub: &Hub, conn: Option<u64>) {
        if let Some(id) = conn {
            for t in &self.unsubscribe {
                hub.unsubscribe(id, t);
            }
            for t in &self.subscribe {
                hub.subscribe(id, t);
            }
            for t in &self.untrack {
                hub.untrack(id, t);
            }
            for (t, meta) in self.track {
                hub.track(id, &t, meta);
            }
        }
        for (topic, action, data) in self.publish {
            if let Err(err) = hub.publish(&topic, &action, data, conn).await {
                tracing::warn!(topic, action, error = %err, "publish failed");
            }
        }
    }
}

/// The context of one action call.
///
/// ```
/// # use livetemplate_core as livetemplate;
/// use livetemplate::Context;
/// let ctx = Context::for_test(serde_json::json!({"notes": "  two\nlines  ", "n": "41", "on": "on"}));
/// assert_eq!(ctx.get_string("notes"), "  two\nlines  ");
/// assert_eq!(ctx.get_int("n"), 41);
/// assert!(ctx.get_bool("on"));
/// assert!(!ctx.has("missing"));
/// ```
#[derive(Debug)]
pub struct Context {
    action: Arc<str>,
    data: Map<String, Value>,
    page: Arc<str>,
    group: GroupId,
    hub: Option<Hub>,
    conn: Option<u64>,
    effects: Effects,
    query: Arc<str>,
    component: Option<Arc<str>>,
    /// The view's (or POST's) uploads; a context made alone gets its own on first use.
    uploads: Option<Uploads>,
    /// The form fields the user has not used yet (the client's `_unused_<name>` keys).
    unused: Vec<String>,
}

/// The prefix of the keys an `lvt-change` event adds for the form's fields the user has not
/// used yet: `_unused_email: ""`.
pub const UNUSED_PREFIX: &str = "_unused_";

impl Context {
    /// A context for `action` on `page` of `group`, carrying `data`.
    #[doc(hidden)]
    pub fn new(action: &str, data: Value, page: Arc<str>, group: GroupId) -> Self {
        let mut unused = Vec::new();
        let data = match data {
            Value::Object(m) if m.keys().any(|k| k.starts_with(UNUSED_PREFIX) || k.ends_with("[]")) => {
                // `_unused_<name>` keys say which fields the user has not used; a `name[]`
                // key is always a list, under `name` (as a no-JS form's `form_data` makes it).
                let mut out = Map::with_capacity(m.len());
                for (k, v) in m {
                    if let Some(name) = k.strip_prefix(UNUSED_PREFIX) {
                        unused.push(name.strip_suffix("[]").unwrap_or(name).to_string());
                    } else if let Some(name) = k.strip_suffix("[]") {
                        let list = out.entry(name).or_insert_with(|| Value::Array(Vec::new()));
                        if !list.is_array() {
                            *list = Value::Array(vec![list.take()]);
                        }
                        if let Value::Array(list) = list {
                            match v {
                                Value::Array(values) => list.extend(values),
                                one => list.push(one),
                            }
                        }
                    } else {
                        out.insert(k, v);
                    }
                }
                out
            }
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => {
                let mut m = Map::new();
                m.insert("value".into(), other);
                m
            }
        };
        Context {
            action: action.into(),
            data,
            page,
            group,
            hub: None,
            conn: None,
            effects: Effects::default(),
            query: Arc::from(""),
            component: None,
            uploads: None,
            unused,
        }
    }

    /// False for a form field the user has not interacted with yet: an `lvt-change` event
    /// marks each such field of its form with a `_unused_<name>` key, which the context takes
    /// out of the data (so [`bind`](Self::bind) never sees it). True for every other name, and
    /// always for a submit, a click or a no-JS POST. An action's [`FieldErrors`] for unused
    /// fields are not shown (Phoenix's used-input rule); see "Forms and errors" in the guide.
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// let ctx = livetemplate::Context::for_test(serde_json::json!({
    ///     "name": "Ada", "email": "", "_unused_email": ""
    /// }));
    /// assert!(ctx.used("name"));
    /// assert!(!ctx.used("email"));
    /// assert!(!ctx.has("_unused_email"));
    /// assert!(ctx.has("email"));
    /// // A name ending in `[]` (a `<select multiple>`, a checkbox group) is a list, even of one.
    /// let ctx = livetemplate::Context::for_test(serde_json::json!({"tags[]": "red"}));
    /// assert_eq!(ctx.data()["tags"], serde_json::json!(["red"]));
    /// ```
    ///
    /// [`FieldErrors`]: crate::FieldErrors
    pub fn used(&self, field: &str) -> bool {
        !self.unused.iter().any(|f| f == field)
    }

    /// Run as component instance `id` (its hooks and actions).
    #[doc(hidden)]
    pub fn with_component(mut self, id: Arc<str>) -> Self {
        self.component = Some(id);
        self
    }

    /// The id of the component instance this hook or action runs for (the id the page gave
    /// in `live_component::<C>(id, inputs)`); `None` in a page's own actions.
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// let ctx = livetemplate::Context::for_test(serde_json::Value::Null);
    /// assert_eq!(ctx.component_id(), None);
    /// ```
    pub fn component_id(&self) -> Option<&str> {
        self.component.as_deref()
    }

    /// From a component: after this step succeeds, run action `action` of the parent (the
    /// page, or the component that embeds this one) with `data`, as a step of its own (its
    /// persisted fields saved, rendered again, its diff sent). Allowed in `mount` and
    /// `update` too. In a page's own action it does nothing.
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// let mut ctx = livetemplate::Context::for_test(serde_json::Value::Null);
    /// ctx.send_parent("counter_changed", serde_json::json!({"id": "a", "count": 1}));
    /// ```
    pub fn send_parent(&mut self, action: &str, data: impl serde::Serialize) {
        if self.component.is_none() {
            return;
        }
        let data = serde_json::to_value(data).unwrap_or(Value::Null);
        self.effects.to_parent.push((action.to_string(), data));
    }

    /// Set the page URL's query string (without `?`).
    #[doc(hidden)]
    pub fn with_query(mut self, query: Arc<str>) -> Self {
        self.query = query;
        self
    }

    /// Attach the uploads of the view (or POST) this action runs in.
    #[doc(hidden)]
    pub fn with_uploads(mut self, uploads: Uploads) -> Self {
        self.uploads = Some(uploads);
        self
    }

    /// Declare upload `name` (call it in `mount`): the template renders
    /// `<input type="file" name="NAME" lvt-upload="NAME">` for it, and lists the returned
    /// handle's `entries()`; keep the handle in a field of the state. Declaring it again (a
    /// remount, a reconnect of the same view) changes its limits and keeps its entries.
    ///
    /// # Errors
    /// A config with `max_entries` 0 or a `chunk_size` over [`MAX_CHUNK`](crate::upload::MAX_CHUNK).
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// use livetemplate::{Context, upload::UploadConfig};
    /// let mut ctx = Context::for_test(serde_json::Value::Null);
    /// let avatar = ctx.allow_upload("avatar", UploadConfig {
    ///     accept: vec![".png".into(), ".jpg".into()],
    ///     max_file_size: 2_000_000,
    ///     ..Default::default()
    /// }).unwrap();
    /// assert_eq!(avatar.accept(), ".png,.jpg");
    /// ```
    pub fn allow_upload(&mut self, name: &str, config: UploadConfig) -> Result<Upload> {
        self.uploads.get_or_insert_with(Uploads::default).allow(name, config)
    }

    /// Remove entry `id` of upload `name` (what a cancel button asks for) and its temporary
    /// file, whether it is still arriving, complete or refused.
    ///
    /// # Errors
    /// No upload called `name` on this page.
    pub fn cancel_upload(&mut self, name: &str, id: u32) -> Result<()> {
        self.uploads()?.cancel(name, id)
    }

    /// Hand each complete entry of upload `name` to `f` with the path of its temporary file
    /// (move it with `std::fs::rename` or `copy`, or read it), then drop the entry and the
    /// file. Entries still arriving or refused stay. Returns what `f` returned, in order.
    ///
    /// # Errors
    /// No upload called `name`; or the first error `f` returned (that entry and the later
    /// ones stay).
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// # let mut ctx = livetemplate::Context::for_test(serde_json::Value::Null);
    /// # ctx.allow_upload("docs", Default::default()).unwrap();
    /// let sizes = ctx.consume_uploads("docs", |path, entry| {
    ///     Ok((entry.client_name.clone(), std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)))
    /// }).unwrap();
    /// assert!(sizes.is_empty(), "nothing uploaded yet");
    /// ```
    pub fn consume_uploads<T>(
        &mut self,
        name: &str,
        f: impl FnMut(&std::path::Path, &UploadEntry) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.uploads()?.consume(name, f)
    }

    /// The entries of upload `name` (empty when there is no such upload).
    pub fn upload_entries(&self, name: &str) -> Vec<UploadEntry> {
        let upload = self.uploads.as_ref().and_then(|u| u.get(name));
        upload.map(|u| u.entries()).unwrap_or_default()
    }

    fn uploads(&self) -> Result<&Uploads> {
        self.uploads
            .as_ref()
            .ok_or_else(|| Error::msg("no upload is declared on this page (`ctx.allow_upload` in `mount`)"))
    }

    /// Attach the app's hub and, on a live connection, the connection's id.
    #[doc(hidden)]
    pub fn with_hub(mut self, hub: Hub, conn: Option<u64>) -> Self {
        self.hub = Some(hub);
        self.conn = conn;
        self
    }

    /// Take what the action asked for (subscriptions, presence, publishes).
    #[doc(hidden)]
    pub fn take_effects(&mut self) -> Effects {
        std::mem::take(&mut self.effects)
    }

    /// A handle on this session group's live connections of this page, for background
    /// tasks: `session.trigger_action(name, data).await` runs an action on each of them.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use livetemplate_core as livetemplate;
    /// let mut ctx = livetemplate::Context::for_test(serde_json::Value::Null);
    /// let session = ctx.session();
    /// assert!(session.trigger_action("tick", 1).await.is_err(), "no live connection in a unit test");
    /// # });
    /// ```
    pub fn session(&self) -> Session {
        let hub = self.hub.clone().unwrap_or_else(Hub::local);
        Session::new(hub, self.page.clone(), self.group.clone())
    }

    /// True when this action runs on a live (WebSocket) connection.
    pub fn is_live(&self) -> bool {
        self.conn.is_some()
    }

    /// The topic shared by this session group's connections of this page.
    pub fn self_topic(&self) -> String {
        format!("lvt:{}:{}", self.page, self.group.as_str())
    }

    /// Subscribe this connection to `topic` (any name): actions published there run here.
    /// Takes effect when the action returns `Ok`.
    pub fn subscribe(&mut self, topic: impl Into<String>) {
        self.effects.subscribe.push(topic.into());
    }

    /// Stop receiving publishes on `topic`.
    pub fn unsubscribe(&mut self, topic: impl Into<String>) {
        self.effects.unsubscribe.push(topic.into());
    }

    /// Run `action` with `data` on every other connection subscribed to `topic`. Queued: sent
    /// only after this action returns `Ok`, dropped if it fails. The publishing connection
    /// does not run it.
    pub fn publish(&mut self, topic: impl Into<String>, action: &str, data: impl serde::Serialize) -> Result<()> {
        let data = serde_json::to_value(data).map_err(|e| Error::msg(format!("publish data: {e}")))?;
        self.effects.publish.push((topic.into(), action.to_string(), data));
        Ok(())
    }

    /// Mark this connection present on `topic` with `meta` (for example a user name). It
    /// leaves by itself when the connection closes; subscribers of the topic get the
    /// `presence` action whenever the list changes.
    pub fn track(&mut self, topic: impl Into<String>, meta: impl serde::Serialize) -> Result<()> {
        let meta = serde_json::to_value(meta).map_err(|e| Error::msg(format!("presence meta: {e}")))?;
        self.effects.track.push((topic.into(), meta));
        Ok(())
    }

    /// Send the browser to `url` (a path on this site, a query, or an `http(s)` URL) when the
    /// action returns `Ok`: a full page load. Without JavaScript the POST's `303` goes there.
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// let mut ctx = livetemplate::Context::for_test(serde_json::Value::Null);
    /// assert!(ctx.redirect("/login").is_ok());
    /// assert!(ctx.redirect("javascript:alert(1)").is_err());
    /// ```
    pub fn redirect(&mut self, url: impl Into<String>) -> Result<()> {
        let url = url.into();
        if !safe_url(&url) {
            return Err(Error::msg(format!("refusing to redirect to `{url}`")));
        }
        self.effects.navigate = Some(Navigation::Redirect(url));
        Ok(())
    }

    /// Change the browser's URL to `url` (a path on this site or a query such as
    /// `?page=2`) without a page load, when the action returns `Ok`. Reconnects use the new
    /// URL. Without JavaScript the POST's `303` goes there. An empty query is dropped, as a
    /// browser resolves `<a lvt-patch href="?">`: `"?"` is the page's path without a query.
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// use livetemplate::{Context, Navigation};
    /// let mut ctx = Context::for_test(serde_json::Value::Null);
    /// ctx.push_patch("?").unwrap();
    /// assert_eq!(ctx.take_effects().navigate, Some(Navigation::Patch("/test".into())));
    /// ctx.push_patch("?page=2").unwrap();
    /// assert_eq!(ctx.take_effects().navigate, Some(Navigation::Patch("?page=2".into())));
    /// ```
    pub fn push_patch(&mut self, url: impl Into<String>) -> Result<()> {
        let url = url.into();
        if !safe_url(&url) || url.starts_with("http") {
            return Err(Error::msg(format!("refusing to patch the URL to `{url}`")));
        }
        let (base, hash) = url.split_at(url.find('#').unwrap_or(url.len()));
        let url = match base.strip_suffix('?') {
            Some("") => format!("{}{hash}", self.page),
            Some(path) => format!("{path}{hash}"),
            None => url,
        };
        self.effects.navigate = Some(Navigation::Patch(url));
        Ok(())
    }

    /// Move the browser to page `url` of this app (a path such as `/items/2?tab=a`) on the
    /// same connection when the action returns `Ok`: this page's `on_disconnect` runs, the
    /// other page mounts and its whole render replaces the live region; the address bar and
    /// history follow. A page of another layout (or no page at that path) is loaded as a
    /// document instead. Without JavaScript the POST's `303` goes there.
    ///
    /// # Errors
    /// A URL that is not a path on this site (`https://…`, `//host`, `?q`, `javascript:`).
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// let mut ctx = livetemplate::Context::for_test(serde_json::Value::Null);
    /// assert!(ctx.push_navigate("/navigation/details").is_ok());
    /// assert!(ctx.push_navigate("https://example.com/").is_err());
    /// ```
    pub fn push_navigate(&mut self, url: impl Into<String>) -> Result<()> {
        let url = url.into();
        if !safe_url(&url) || !url.starts_with('/') {
            return Err(Error::msg(format!(
                "refusing to navigate to `{url}`: a path of this app is needed"
            )));
        }
        self.effects.navigate = Some(Navigation::Navigate(url));
        Ok(())
    }

    /// Set the page's title (`document.title`) when the step returns `Ok`: from `mount` or
    /// `handle_params` it is the `<title>` of the page's HTML too; from an action the frame
    /// carries it. It stays until set again; a page that never sets one has the title the
    /// builder gave it (`AppBuilder::page_title`, else `AppBuilder::title`).
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// let mut ctx = livetemplate::Context::for_test(serde_json::Value::Null);
    /// ctx.set_title(format!("Count {}", 3));
    /// assert_eq!(ctx.take_effects().title.as_deref(), Some("Count 3"));
    /// ```
    pub fn set_title(&mut self, title: impl Into<String>) {
        self.effects.title = Some(title.into());
    }

    /// Show `message` as the flash of `kind` (`"info"` and `"error"` by convention; any
    /// name) when the step returns `Ok`: in the `lvt-flash="KIND"` elements of the page, and
    /// of the page `push_navigate`, `redirect` or a no-JS `303` leads to. It goes when the
    /// user dismisses it, at the next navigation, or with [`clear_flash`](Self::clear_flash).
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// let mut ctx = livetemplate::Context::for_test(serde_json::Value::Null);
    /// ctx.put_flash("info", "Saved");
    /// ctx.clear_flash("error");
    /// assert_eq!(ctx.take_effects().flash.len(), 2);
    /// ```
    pub fn put_flash(&mut self, kind: &str, message: impl Into<String>) {
        self.effects.flash.push((kind.to_string(), Some(message.into())));
    }

    /// Remove the flash of `kind` when the step returns `Ok`.
    pub fn clear_flash(&mut self, kind: &str) {
        self.effects.flash.push((kind.to_string(), None));
    }

    /// Send event `name` with `payload` to the page's client hooks (`this.handleEvent(name,
    /// cb)`) and as a DOM event `lvt:<name>`, when the action returns `Ok`.
    pub fn push_event(&mut self, name: &str, payload: impl serde::Serialize) -> Result<()> {
        let payload = serde_json::to_value(payload).map_err(|e| Error::msg(format!("event payload: {e}")))?;
        self.effects.events.push((name.to_string(), payload));
        Ok(())
    }

    /// Stop tracking this connection on `topic`.
    pub fn untrack(&mut self, topic: impl Into<String>) {
        self.effects.untrack.push(topic.into());
    }

    /// Who is present on `topic` now (metas, oldest first; with a transport spanning nodes,
    /// this node's entries first, then the other nodes').
    pub fn presence(&self, topic: &str) -> Vec<Value> {
        self.hub.as_ref().map(|h| h.presence(topic)).unwrap_or_default()
    }

    /// A context with `data` and nothing else: for unit tests of action logic.
    pub fn for_test(data: Value) -> Self {
        Context::new("test", data, "/test".into(), GroupId::random())
    }

    /// The action's name as the client sent it.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The page path.
    pub fn page(&self) -> &str {
        &self.page
    }

    /// The query string of the page's URL as the browser shows it (without `?`; empty when
    /// none): the URL of the GET, of the WebSocket (the page's URL, so a reload or reconnect
    /// after `push_patch` sees the patched query), of the form POST, and after an action's
    /// `push_patch` the patched one.
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// use livetemplate::Context;
    /// let ctx = Context::for_test(serde_json::Value::Null).with_query("page=2&q=a+b%26c".into());
    /// assert_eq!(ctx.query(), "page=2&q=a+b%26c");
    /// assert_eq!(ctx.param("page").as_deref(), Some("2"));
    /// assert_eq!(ctx.param("q").as_deref(), Some("a b&c"));
    /// assert_eq!(ctx.param("missing"), None);
    /// ```
    pub fn query(&self) -> &str {
        &self.query
    }

    /// The first value of query parameter `name`, decoded (`+` and `%xx`).
    pub fn param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Every query parameter, decoded, in order.
    pub fn params(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The session group of this connection.
    pub fn group(&self) -> &GroupId {
        &self.group
    }

    /// All data as a JSON object.
    pub fn data(&self) -> &Map<String, Value> {
        &self.data
    }

    /// True when the client sent `key`.
    pub fn has(&self, key: &str) -> bool {
        self.data.contains_key(key)
    }

    /// The value of `key` as text, verbatim (whitespace and newlines kept); numbers and
    /// booleans are formatted; missing is `""`.
    pub fn get_string(&self, key: &str) -> String {
        match self.data.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(Value::Array(a)) => a
                .last()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default(),
            Some(other) => other.to_string(),
        }
    }

    /// The value of `key` as an integer; `0` when missing or not a number.
    pub fn get_int(&self, key: &str) -> i64 {
        match self.data.get(key) {
            Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).unwrap_or(0),
            Some(Value::String(s)) => {
                let t = s.trim();
                t.parse::<i64>()
                    .ok()
                    .or_else(|| t.parse::<f64>().ok().map(|f| f as i64))
                    .unwrap_or(0)
            }
            Some(Value::Bool(b)) => *b as i64,
            _ => 0,
        }
    }

    /// The value of `key` as a float; `0.0` when missing or not a number.
    pub fn get_float(&self, key: &str) -> f64 {
        match self.data.get(key) {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
            Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
            Some(Value::Bool(b)) => *b as i64 as f64,
            _ => 0.0,
        }
    }

    /// The value of `key` as a boolean: `true`, `"true"`, `"on"`, `"1"`, `"yes"` and non-zero
    /// numbers are true.
    pub fn get_bool(&self, key: &str) -> bool {
        match self.data.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Some(Value::String(s)) => {
                matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "on" | "1" | "yes")
            }
            _ => false,
        }
    }

    /// Deserialize all data into `T`.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Todo { title: String }
    /// # use livetemplate_core as livetemplate;
    /// let ctx = livetemplate::Context::for_test(serde_json::json!({"title": "milk"}));
    /// assert_eq!(ctx.bind::<Todo>().unwrap().title, "milk");
    /// ```
    pub fn bind<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(Value::Object(self.data.clone()))
            .map_err(|e| Error::msg(format!("invalid data for `{}`: {e}", self.action)))
    }
}
