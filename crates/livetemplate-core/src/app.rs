//! The application: its pages, store and limits, the HTML document around each page, and the
//! transport-independent loop that runs one WebSocket connection.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use crate::error::{Error, Result};
use crate::group::{Authenticator, GroupId, RequestHead};
use crate::hub::{Hub, LocalTransport, PubSubTransport, Push, Session};
use crate::page::{Page, PageRoute, Request, Services, error_frame};
use crate::persist::{PersistError, PersistHook};
use crate::state::Controller;
use crate::store::{MemoryStore, PersistStore};

/// Limits and options of an [`App`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest client frame accepted, in bytes (default 64 KiB); larger frames close the
    /// connection with 1009.
    pub max_frame_bytes: usize,
    /// Sustained client messages per second per connection (default 50; `f64::INFINITY`
    /// for no limit).
    pub rate_per_sec: f64,
    /// Burst of client messages allowed above the rate (default 100).
    pub rate_burst: f64,
    /// Frames queued for a connection before it counts as too slow and is closed (default 256).
    pub outbound_queue: usize,
    /// Origins allowed besides the request's own host, e.g. `https://app.example.com`.
    pub allowed_origins: Vec<String>,
    /// Extra HTML for the document `<head>` (styles, meta tags).
    pub head: String,
    /// Document title.
    pub title: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_bytes: 64 * 1024,
            rate_per_sec: 50.0,
            rate_burst: 100.0,
            outbound_queue: 256,
            allowed_origins: Vec::new(),
            head: String::new(),
            title: "livetemplate".into(),
        }
    }
}

/// A livetemplate application: pages by path, a persist store, limits.
///
/// ```no_run
/// # use livetemplate_core::{App, MemoryStore};
/// # fn pages(b: livetemplate_core::AppBuilder) -> livetemplate_core::AppBuilder { b }
/// let app = pages(App::builder().store(MemoryStore::new()).title("Demo")).build().unwrap();
/// assert!(app.route("/missing").is_none());
/// ```
pub struct App {
    routes: HashMap<String, Arc<dyn PageRoute>>,
    order: Vec<String>,
    svc: Services,
    config: Config,
    authenticator: Option<Arc<dyn Authenticator>>,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("pages", &self.order)
            .field("services", &self.svc)
            .field("config", &self.config)
            .finish()
    }
}

/// Builds an [`App`].
#[must_use]
pub struct AppBuilder {
    pages: Vec<Arc<dyn PageRoute>>,
    store: Option<Arc<dyn PersistStore>>,
    transport: Option<Arc<dyn PubSubTransport>>,
    authenticator: Option<Arc<dyn Authenticator>>,
    config: Config,
    on_persist_error: PersistHook,
}

impl fmt::Debug for AppBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppBuilder {
    /// Add a page at `path`, run by `controller`, each view starting from `initial`.
    pub fn page<C: Controller>(mut self, path: &str, controller: C, initial: C::State) -> Self {
        self.pages.push(Arc::new(Page::new(path, controller, initial)));
        self
    }

    /// Add a page built elsewhere.
    pub fn route(mut self, page: Arc<dyn PageRoute>) -> Self {
        self.pages.push(page);
        self
    }

    /// Use `store` for persisted fields (default: in memory).
    pub fn store(mut self, store: impl PersistStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Use a shared store.
    pub fn shared_store(mut self, store: Arc<dyn PersistStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Carry publishes between nodes with `transport` (default: in process only).
    pub fn pubsub(mut self, transport: impl PubSubTransport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Map requests to session groups with `auth` (for apps with their own login); requests
    /// it returns `None` for use the `lvt_group` cookie.
    pub fn authenticator(mut self, auth: impl Authenticator) -> Self {
        self.authenticator = Some(Arc::new(auth));
        self
    }

    /// Set the document title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.config.title = title.into();
        self
    }

    /// Add HTML to the document head.
    pub fn head(mut self, html: impl Into<String>) -> Self {
        self.config.head.push_str(&html.into());
        self
    }

    /// Allow WebSocket and POST requests from `origin` (`scheme://host[:port]`).
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.config.allowed_origins.push(origin.into());
        self
    }

    /// Change the limits.
    pub fn config(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }

    /// Call `hook` when a persisted value cannot be read back (its type changed in a way no
    /// rule maps, a migration failed, the bytes are corrupt). The value has been kept under
    /// the event's quarantine key and the field starts from its default; the hook runs once
    /// per stored value, after the ERROR log line. Use it to alert or count; it runs on the
    /// request's path, so hand slow work to a task.
    ///
    /// ```
    /// # use livetemplate_core::App;
    /// let app = App::builder()
    ///     .on_persist_error(|e| eprintln!("{} {}: kept under {:?}", e.page(), e.field(), e.quarantine_key()))
    ///     .build()
    ///     .unwrap();
    /// # drop(app);
    /// ```
    pub fn on_persist_error(mut self, hook: impl Fn(&PersistError) + Send + Sync + 'static) -> Self {
        self.on_persist_error = PersistHook::new(hook);
        self
    }

    /// Check the pages and build the app.
    pub fn build(self) -> Result<App> {
        let mut routes = HashMap::new();
        let mut order = Vec::new();
        for page in self.pages {
            let path = page.path().to_string();
            if !path.starts_with('/') {
                return Err(Error::config(format!("page path `{path}` must start with `/`")));
            }
            if path.starts_with("/_lvt/") {
                return Err(Error::config(format!("page path `{path}`: /_lvt/ is reserved")));
            }
            if routes.insert(path.clone(), page).is_some() {
                return Err(Error::config(format!("two pages share the path `{path}`")));
            }
            order.push(path);
        }
        let transport = self.transport.unwrap_or_else(|| Arc::new(LocalTransport::default()));
        Ok(App {
            routes,
            order,
            svc: Services {
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                hub: Hub::new(transport),
                on_persist_error: self.on_persist_error,
            },
            config: self.config,
            authenticator: self.authenticator,
        })
    }
}

impl App {
    /// Start building an app.
    pub fn builder() -> AppBuilder {
        AppBuilder {
            pages: Vec::new(),
            store: None,
            transport: None,
            authenticator: None,
            config: Config::default(),
            on_persist_error: PersistHook::default(),
        }
    }

    /// The page at `path`.
    pub fn route(&self, path: &str) -> Option<&Arc<dyn PageRoute>> {
        self.routes.get(path)
    }

    /// Paths of all pages, in the order they were added.
    pub fn paths(&self) -> &[String] {
        &self.order
    }

    /// The persist store.
    pub fn store(&self) -> &Arc<dyn PersistStore> {
        &self.svc.store
    }

    /// The hub of live connections: publish to a topic from outside any action (an HTTP
    /// handler, a background task) with `app.hub().publish(topic, action, data, None)`.
    pub fn hub(&self) -> &Hub {
        &self.svc.hub
    }

    /// The session group of a request: the authenticator's answer, else a valid
    /// `lvt_group` cookie, else `None` (the transport then makes a new group and sets the
    /// cookie). A forged or malformed cookie is `None`, never another group.
    pub fn resolve_group(&self, head: &RequestHead<'_>) -> Option<GroupId> {
        if let Some(g) = self.authenticator.as_ref().and_then(|auth| auth.group(head)) {
            return Some(g);
        }
        head.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .find_map(|(_, v)| GroupId::from_cookie_header(v))
    }

    /// What pages use: store and hub.
    pub fn services(&self) -> &Services {
        &self.svc
    }

    /// A handle on `group`'s live connections of `page`, as `ctx.session()` gives.
    pub fn session(&self, page: &str, group: &GroupId) -> Session {
        Session::new(self.svc.hub.clone(), page.into(), group.clone())
    }

    /// Limits and options.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The whole HTML document for a page whose live region renders as `region`, loading the
    /// client from `script_src` (the transport passes a URL versioned by the bundle's hash, so
    /// a deploy never leaves browsers on a cached old client).
    ///
    /// The live root carries `data-lvt-max-frame` (the frame limit), so the client can refuse
    /// a message the server would close the connection for and say why. Unless the configured
    /// head names an icon, an empty one is declared so browsers do not ask for /favicon.ico.
    pub fn document(&self, region: &str, script_src: &str) -> String {
        let c = &self.config;
        let head = c.head.as_bytes();
        let has_icon = ["rel=\"icon\"", "rel='icon'", "rel=icon", "rel=\"shortcut icon\""]
            .iter()
            .any(|rel| head.windows(rel.len()).any(|w| w.eq_ignore_ascii_case(rel.as_bytes())));
        let icon = if has_icon {
            ""
        } else {
            "<link rel=\"icon\" href=\"data:,\">\n"
        };
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n{}{}<script defer src=\"{}\"></script>\n</head>\n\
             <body>\n<div data-lvt-root data-lvt-max-frame=\"{}\">{}</div>\n</body>\n</html>\n",
            escape_text(&c.title),
            icon,
            c.head,
            escape_text(script_src).replace('"', "&quot;"),
            c.max_frame_bytes,
            region
        )
    }

    /// Render the full document for a GET of `req.path`, loading the client from `script_src`.
    pub async fn render_page(&self, req: &Request, script_src: &str) -> Result<Option<String>> {
        let Some(route) = self.route(&req.path) else {
            return Ok(None);
        };
        let region = route.render(&self.svc, req).await?;
        Ok(Some(self.document(&region, script_src)))
    }

    /// Run a POST (no JavaScript): `action` with the form's `fields`. Returns the URL the
    /// action sent the browser to (`ctx.redirect`, `ctx.push_patch`), if any.
    pub async fn post(&self, req: &Request, action: &str, fields: &[(String, String)]) -> Result<Option<String>> {
        let Some(route) = self.route(&req.path) else {
            return Err(Error::config(format!("no page at {}", req.path)));
        };
        let nav = route.post(&self.svc, req, action, form_data(fields)).await?;
        Ok(nav.map(|n| n.url().to_string()))
    }
}

/// Form fields as action data: one string per name, an array when a name repeats.
pub fn form_data(fields: &[(String, String)]) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in fields {
        match map.get_mut(k) {
            None => {
                map.insert(k.clone(), Value::String(v.clone()));
            }
            Some(Value::Array(a)) => a.push(Value::String(v.clone())),
            Some(prev) => {
                let first = prev.take();
                *prev = Value::Array(vec![first, Value::String(v.clone())]);
            }
        }
    }
    Value::Object(map)
}

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A frame for the transport to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A text frame.
    Text(String),
}

/// Why a connection ended, for the close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    /// WebSocket close code.
    pub code: u16,
    /// Close reason (short).
    pub reason: String,
}

impl Closing {
    fn new(code: u16, reason: &str) -> Self {
        Closing {
            code,
            reason: reason.into(),
        }
    }
}

/// Close code: normal.
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code: server going away (shutdown); clients reconnect.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: policy violation (flood, too slow).
pub const CLOSE_POLICY: u16 = 1008;
/// Close code: message too big.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code: server error.
pub const CLOSE_ERROR: u16 = 1011;

/// Run one live connection: read client frames from `inbound` until it closes, answer on
/// `outbound`. Returns how the connection should be closed.
///
/// The transport reads frames in its own task and forwards text frames here; when the
/// socket closes it drops the sender. A full `outbound` queue means the client is too slow
/// to read: the connection is closed with 1008 rather than buffering without bound.
pub async fn run_connection(
    app: Arc<App>,
    req: Request,
    mut inbound: mpsc::Receiver<String>,
    outbound: mpsc::Sender<Outbound>,
) -> Closing {
    let Some(route) = app.route(&req.path).cloned() else {
        return Closing::new(CLOSE_POLICY, "no such page");
    };
    let cfg = app.config();
    let hub = app.hub().clone();
    let (push_tx, mut push_rx) = mpsc::channel(cfg.outbound_queue.max(1));
    let kill = Arc::new(Notify::new());
    let id = hub.register(Arc::from(req.path.as_str()), req.group.clone(), push_tx, kill.clone());
    let (mut conn, first) = match route.connect(app.svc.clone(), req.clone(), id).await {
        Ok(c) => c,
        Err(err) => {
            hub.unregister(id);
            tracing::error!(page = %req.path, error = %err, "could not start a live view");
            return Closing::new(CLOSE_ERROR, "page failed to start");
        }
    };
    if outbound.try_send(Outbound::Text(first)).is_err() {
        hub.unregister(id);
        conn.close().await;
        return Closing::new(CLOSE_POLICY, "client too slow");
    }
    let mut bucket = TokenBucket::new(cfg.rate_per_sec, cfg.rate_burst);
    let closing = loop {
        // `recv` on both channels is cancel-safe; the socket itself is read in another task.
        let reply = tokio::select! {
            biased;
            _ = kill.notified() => break Closing::new(CLOSE_POLICY, "client too slow"),
            text = inbound.recv() => {
                let Some(text) = text else {
                    break Closing::new(CLOSE_NORMAL, "");
                };
                if text.len() > cfg.max_frame_bytes {
                    break Closing::new(CLOSE_TOO_BIG, "frame too large");
                }
                if !bucket.take() {
                    tracing::warn!(page = %req.path, "client exceeded the message rate; closing");
                    break Closing::new(CLOSE_POLICY, "rate limit exceeded");
                }
                match parse_client_frame(&text) {
                    Ok(ClientFrame::Heartbeat) => Some("{\"h\":1}".to_string()),
                    Ok(ClientFrame::Action { action, data, reply_to }) => conn.handle(&action, data, reply_to).await,
                    Ok(ClientFrame::Params { url, reply_to }) => conn.params(&url, reply_to).await,
                    Err((reply_to, msg)) => Some(error_frame(reply_to, &msg)),
                }
            }
            Some(push) = push_rx.recv() => match push {
                Push::Action { name, data } => conn.handle_push(&name, data).await,
                Push::Reload => conn.reload().await,
            },
        };
        if let Some(reply) = reply
            && outbound.try_send(Outbound::Text(reply)).is_err()
        {
            break Closing::new(CLOSE_POLICY, "client too slow");
        }
    };
    hub.unregister(id);
    conn.close().await;
    closing
}

/// A parsed client frame.
#[derive(Debug)]
pub enum ClientFrame {
    /// `{"h":1}`
    Heartbeat,
    /// `{"a":..., "d":..., "r":...}`
    Action {
        /// Action name as sent.
        action: String,
        /// Action data.
        data: Value,
        /// The client's ref.
        reply_to: Option<u64>,
    },
    /// `{"p": "/items?page=2", "r":...}`: the page's URL changed without a page load (an
    /// `lvt-patch` link, back or forward); the page's `handle_params` runs for it.
    Params {
        /// The URL now in the address bar (path and query).
        url: String,
        /// The client's ref.
        reply_to: Option<u64>,
    },
}

/// Parse a client frame; on error, the ref (if readable) and a message for the client.
pub fn parse_client_frame(text: &str) -> std::result::Result<ClientFrame, (Option<u64>, String)> {
    let value: Value = serde_json::from_str(text).map_err(|e| (None, format!("malformed frame: {e}")))?;
    let Value::Object(mut obj) = value else {
        return Err((None, "malformed frame: expected a JSON object".into()));
    };
    let reply_to = match obj.get("r") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or((None, "malformed frame: `r` must be a non-negative integer".to_string()))?,
        ),
    };
    if obj.contains_key("h") && !obj.contains_key("a") {
        return Ok(ClientFrame::Heartbeat);
    }
    if !obj.contains_key("a") && obj.contains_key("p") {
        return match obj.remove("p") {
            Some(Value::String(url)) if url.len() <= 8192 => Ok(ClientFrame::Params { url, reply_to }),
            _ => Err((
                reply_to,
                "malformed frame: `p` must be the page's URL (a string)".into(),
            )),
        };
    }
    let action = match obj.remove("a") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 128 => s,
        Some(Value::String(_)) => {
            return Err((reply_to, "malformed frame: bad action name length".into()));
        }
        None | Some(Value::Null) => return Err((reply_to, "malformed frame: missing action `a`".into())),
        Some(_) => {
            return Err((
                reply_to,
                "malformed frame: action `a` must be a string (the action's name)".into(),
            ));
        }
    };
    let data = match obj.remove("d") {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(v @ Value::Object(_)) => v,
        Some(_) => return Err((reply_to, "malformed frame: `d` must be an object".into())),
    };
    Ok(ClientFrame::Action { action, data, reply_to })
}

#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: f64, burst: f64) -> Self {
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        // An infinite rate or burst (no limit) takes no arithmetic that could turn into NaN.
        if self.rate.is_infinite() || self.burst.is_infinite() {
            return true;
        }
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).min(Duration::from_secs(60));
        self.last = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
