//! The application: its builder, pages, store and limits, the session group of a request,
//! and the HTML document around each page. The loop that runs a connection is in
//! [`crate::transport`], the frames in [`crate::protocol`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::asset::{Asset, AssetBody};
use crate::error::{Error, Result};
use crate::group::{
    Authenticator, CookieGroup, GROUP_COOKIE, GroupId, GroupSigner, RequestHead, SECRET_KEY_ENV, SignedGroup,
};
use crate::hub::{Hub, LocalTransport, PubSubTransport, Session};
use crate::page::{Page, PageRoute, Request, Services};
use crate::persist::{PersistError, PersistHook};
use crate::state::{IntoController, LiveState};
use crate::store::{MemoryStore, PersistStore};
// Where these were before the protocol and the transport had their own modules.
pub use crate::protocol::{ClientFrame, parse_client_frame};
pub use crate::transport::form_data;
pub use crate::transport::{
    CLOSE_ERROR, CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_BIG, Closing, Outbound, run_connection,
};

/// Limits and options of an [`App`]: start from [`Config::default`] and change fields in
/// [`AppBuilder::config`]. New fields may be added in any release.
///
/// ```
/// # use livetemplate_core as livetemplate;
/// use std::time::Duration;
///
/// use livetemplate::{App, Config};
///
/// let app = App::builder()
///     .config(|c| {
///         c.max_frame_bytes = 16 * 1024; // smaller client messages only
///         c.rate_per_sec = 20.0;
///         c.slow_client_timeout = Duration::from_secs(5);
///     })
///     .build()
///     .unwrap();
/// assert_eq!(app.config().max_frame_bytes, 16 * 1024);
/// assert_eq!(app.config().rate_burst, Config::default().rate_burst, "the rest keep their defaults");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Largest client frame accepted, in bytes (default 64 KiB); larger frames close the
    /// connection with 1009.
    pub max_frame_bytes: usize,
    /// Sustained client frames per second per connection (default 50; `f64::INFINITY` for no
    /// limit). A client over it is read more slowly, not refused: see
    /// [`flood_close_after`](Config::flood_close_after). The WebSocket transport counts every
    /// frame (pings, pongs and close frames too); the connection loop behind every transport
    /// counts client messages.
    pub rate_per_sec: f64,
    /// Burst of client frames allowed above the rate (default 100).
    pub rate_burst: f64,
    /// Frames waiting for the client's socket (default 256). When the queue is full the
    /// connection waits for room, up to [`slow_client_timeout`](Config::slow_client_timeout).
    pub outbound_queue: usize,
    /// Origins allowed besides the request's own host, e.g. `https://app.example.com`.
    pub allowed_origins: Vec<String>,
    /// Extra HTML for the document `<head>` (styles, meta tags).
    pub head: String,
    /// Document title.
    pub title: String,
    /// The origins (`scheme://host[:port]`) browsers reach this app at, e.g.
    /// `https://app.example.com` behind a TLS-terminating proxy (default: none). When set, a
    /// WebSocket upgrade or form POST must come from one of these (or an
    /// [`allowed_origins`](Self::allowed_origins) entry), compared with scheme and port, and the
    /// `Host` and `X-Forwarded-*` headers are not trusted for the check. When empty, the
    /// transport assumes it is reached over plain `http` and, against DNS rebinding, answers
    /// only requests whose `Host` is `localhost` (or `*.localhost`) or an IP address. Stored in
    /// canonical form (lowercase, no default port); [`AppBuilder::build`] refuses a malformed one.
    pub public_origins: Vec<String>,
    /// `Referrer-Policy` sent with every response (default `same-origin`); empty: not sent.
    pub referrer_policy: String,
    /// `X-Frame-Options` sent with every response (default `DENY`; `SAMEORIGIN` lets the app
    /// frame itself); empty: not sent.
    pub frame_options: String,
    /// `Content-Security-Policy` sent with every response, as given (default
    /// `frame-ancestors 'none'`, which forbids framing as `X-Frame-Options: DENY` does). A
    /// full policy replaces it, so include `frame-ancestors` in it; the pages and the client
    /// work under `default-src 'self'; script-src 'self'`. Empty: not sent.
    pub content_security_policy: String,
    /// How long a no-JS form POST may take to send its body (default 30 s, like the request
    /// headers); a slower body gets `408 Request Timeout` and the connection is closed.
    pub body_timeout: Duration,
    /// Re-issue, signed, an unsigned `lvt_group` cookie from a deployment before signed
    /// groups (default `true`), so an upgrade keeps its users' sessions. Only such an old id
    /// (43 characters; ids issued since are 44, so none can be made now) that the store holds
    /// persisted data for is taken, and each only once: the first browser to bring it gets it
    /// signed, a later one (or one planted by an attacker) a new group. Turn it off once
    /// users have come back; for a new deployment it changes nothing.
    pub adopt_unsigned_groups: bool,
    /// How long a client may keep the rate throttle engaged without a pause (each frame
    /// already waiting when the previous token refilled) before its connection is closed with
    /// 1008 `message flood` (default 30 s: at the default rate, 1,600 messages back to back).
    pub flood_close_after: Duration,
    /// Largest frame sent to a client, in bytes (default 1 MiB). A render whose frame is
    /// larger is not sent: the server logs a warning (page, size, limit) and closes the
    /// connection with 1009 and a reason the browser client shows.
    pub max_outbound_frame_bytes: usize,
    /// Server pushes (`trigger_action`, publishes, presence, reloads) waiting for one
    /// connection (default 1024). A publish to a connection whose queue is full closes that
    /// connection with 1008; `trigger_action` waits for room instead, up to
    /// [`slow_client_timeout`](Config::slow_client_timeout).
    pub push_queue: usize,
    /// How long a connection waits for room in its outbound queue (and `trigger_action` for
    /// room in a push queue) before the client counts as too slow and is closed with 1008
    /// (default 10 s).
    pub slow_client_timeout: Duration,
    /// Where uploads' temporary files are written as their bytes arrive (default: the
    /// system's temporary directory). Put it on the disk the app moves finished files to, so
    /// `consume_uploads` can rename them instead of copying.
    pub upload_dir: std::path::PathBuf,
    /// Directories served as files under URL prefixes ([`AppBuilder::serve_dir`]).
    pub served_dirs: Vec<(String, std::path::PathBuf)>,
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
            public_origins: Vec::new(),
            referrer_policy: "same-origin".into(),
            frame_options: "DENY".into(),
            content_security_policy: "frame-ancestors 'none'".into(),
            body_timeout: Duration::from_secs(30),
            adopt_unsigned_groups: true,
            flood_close_after: Duration::from_secs(30),
            max_outbound_frame_bytes: 1024 * 1024,
            push_queue: 1024,
            slow_client_timeout: Duration::from_secs(10),
            upload_dir: std::env::temp_dir(),
            served_dirs: Vec::new(),
        }
    }
}

/// A livetemplate application: pages by path, a persist store, limits.
///
/// ```no_run
/// # mod livetemplate { pub use livetemplate_core::{App, AppBuilder}; pub mod store { pub use livetemplate_core::MemoryStore; } }
/// use livetemplate::App;
/// use livetemplate::store::MemoryStore;
/// # fn pages(b: livetemplate::AppBuilder) -> livetemplate::AppBuilder { b }
/// let app = pages(App::builder().store(MemoryStore::new()).title("Demo")).build().unwrap();
/// assert_eq!(app.paths(), [] as [String; 0]);
/// ```
pub struct App {
    routes: HashMap<String, Arc<dyn PageRoute>>,
    order: Vec<String>,
    svc: Services,
    config: Config,
    authenticator: Option<Arc<dyn Authenticator>>,
    assets: Vec<Asset>,
    /// Signs and checks group cookies, once the store has answered: the configured keys with
    /// the generated key kept in the store (if any), or the generated key alone.
    signer: tokio::sync::OnceCell<GroupSigner>,
    /// The signer of the configured keys alone: used while the store cannot be read.
    configured_signer: Option<GroupSigner>,
    /// While the store cannot be read (configured keys only): when to look it up again.
    store_retry: std::sync::Mutex<Option<std::time::Instant>>,
    /// Layouts by path prefix (see [`AppBuilder::layout`]), longest prefix first.
    layouts: Vec<(String, String)>,
    /// Page titles from the builder, by path.
    titles: HashMap<String, String>,
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
    assets: Vec<Asset>,
    secret_key: Option<Vec<u8>>,
    previous_secret_keys: Vec<Vec<u8>>,
    on_persist_error: PersistHook,
    layouts: Vec<(String, String)>,
    titles: HashMap<String, String>,
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
    ///
    /// `controller` is the type of an `#[actions]` impl block: a [`Controller`](crate::Controller) whose state
    /// is `S`, or, for a read-only page (`#[actions] impl About {}`, no action and no hook),
    /// any `S`: the page's state type is the type of `initial`.
    pub fn page<C, S>(mut self, path: &str, controller: C, initial: S) -> Self
    where
        C: IntoController<S>,
        S: LiveState,
    {
        self.pages
            .push(Arc::new(Page::new(path, controller.into_controller(), initial)));
        self
    }

    /// Add a page built elsewhere.
    #[doc(hidden)]
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

    /// The title of the page at `path` (its `<title>` and `document.title`) when its state
    /// sets none with `ctx.set_title`; pages without one have the app's [`title`](Self::title).
    ///
    /// ```
    /// # use livetemplate_core::App;
    /// let app = App::builder().title("Demo").page_title("/todos", "Todos").build().unwrap();
    /// assert_eq!((app.page_title("/todos"), app.page_title("/other")), ("Todos", "Demo"));
    /// ```
    pub fn page_title(mut self, path: &str, title: impl Into<String>) -> Self {
        self.titles.insert(path.to_string(), title.into());
        self
    }

    /// A layout for the pages at `prefix` and under it (`/shop` covers `/shop` and
    /// `/shop/cart`; `/` covers every page; the longest prefix wins): the document body's
    /// HTML with the marker [`LIVE_MARKER`] (`{live}`) exactly once, where the page's live
    /// region goes. The layout stays in the DOM while `lvt-navigate` links and
    /// `push_navigate` move between its pages (its inputs keep focus and text); navigation
    /// to a page of another layout, or of none, loads the document. It may hold
    /// `lvt-navigate` links and `lvt-flash` elements; it is static HTML (the server fills
    /// only the flash).
    ///
    /// # Errors
    /// [`build`](Self::build) refuses a layout without exactly one marker, or a prefix that
    /// does not start with `/`.
    ///
    /// ```
    /// # use livetemplate_core::App;
    /// let app = App::builder()
    ///     .layout("/shop", r#"<nav><a lvt-navigate href="/shop">Shop</a></nav>{live}"#)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(app.layout_of("/shop/cart"), app.layout_of("/shop"));
    /// assert_ne!(app.layout_of("/shopping"), app.layout_of("/shop"));
    /// assert!(App::builder().layout("/", "<main></main>").build().is_err());
    /// ```
    pub fn layout(mut self, prefix: &str, html: impl Into<String>) -> Self {
        self.layouts.push((prefix.to_string(), html.into()));
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

    /// Add a public origin (`scheme://host[:port]`) browsers reach the app at, e.g.
    /// `https://app.example.com` when a proxy terminates TLS; see
    /// [`Config::public_origins`]. [`build`](Self::build) refuses a malformed origin.
    ///
    /// ```
    /// # use livetemplate_core::App;
    /// let app = App::builder().public_origin("https://App.Example.com:443").build().unwrap();
    /// assert_eq!(app.config().public_origins, ["https://app.example.com"]);
    /// assert!(App::builder().public_origin("app.example.com").build().is_err());
    /// ```
    pub fn public_origin(mut self, origin: impl Into<String>) -> Self {
        self.config.public_origins.push(origin.into());
        self
    }

    /// Send `policy` as the `Content-Security-Policy` of every response, as given (default
    /// `frame-ancestors 'none'`); see [`Config::content_security_policy`].
    ///
    /// ```
    /// # use livetemplate_core::App;
    /// let app = App::builder()
    ///     .content_security_policy("default-src 'self'; script-src 'self'; frame-ancestors 'none'")
    ///     .build()
    ///     .unwrap();
    /// assert!(app.config().content_security_policy.starts_with("default-src"));
    /// ```
    pub fn content_security_policy(mut self, policy: impl Into<String>) -> Self {
        self.config.content_security_policy = policy.into();
        self
    }

    /// Serve `body` at `path` as `content_type` (with a strong ETag; `path?v=<hash>` is cached
    /// as immutable). For styles, scripts and images the pages link, so they need no inline
    /// `<style>` or `<script>` under a strict Content Security Policy. [`build`](Self::build)
    /// refuses a path that is not absolute, has a query, is under `/_lvt/`, or is taken.
    ///
    /// ```
    /// # use livetemplate_core::App;
    /// let app = App::builder().asset("/logo.svg", "image/svg+xml", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").build().unwrap();
    /// # assert_eq!(app.asset("/logo.svg").unwrap().content_type(), "image/svg+xml");
    /// // Served at /logo.svg, and at /logo.svg?v=<hash of the bytes> as immutable.
    /// assert!(App::builder().asset("logo.svg", "image/svg+xml", "<svg/>").build().is_err(), "not absolute");
    /// ```
    pub fn asset(mut self, path: &str, content_type: &str, body: impl Into<AssetBody>) -> Self {
        self.assets.push(Asset::new(path, content_type, body));
        self
    }

    /// Serve the files of directory `dir` at `prefix/<file name>` (GET and HEAD, revalidated
    /// on each use): for files an app keeps at run time, such as uploaded avatars. Only plain
    /// names are served (letters, digits, `.`, `-`, `_`; not starting with `.`), never a
    /// subdirectory; images, PDF and plain text get their media type, anything else is sent
    /// as a download (`application/octet-stream`, `Content-Disposition: attachment`).
    ///
    /// ```
    /// # use livetemplate_core::App;
    /// let app = App::builder().serve_dir("/avatars", std::env::temp_dir()).build().unwrap();
    /// assert_eq!(app.config().served_dirs[0].0, "/avatars");
    /// ```
    pub fn serve_dir(mut self, prefix: &str, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config
            .served_dirs
            .push((prefix.trim_end_matches('/').to_string(), dir.into()));
        self
    }

    /// Serve `css` at `path` (as [`asset`](Self::asset) does) and link it from every
    /// document's head by its versioned URL.
    ///
    /// ```
    /// # use livetemplate_core::App;
    /// let app = App::builder().stylesheet("/app.css", "body{margin:0}").build().unwrap();
    /// let url = app.asset("/app.css").unwrap().versioned_url();
    /// assert!(app.document("", "/c.js").contains(&format!("<link rel=\"stylesheet\" href=\"{url}\">")));
    /// ```
    pub fn stylesheet(mut self, path: &str, css: impl Into<AssetBody>) -> Self {
        let asset = Asset::new(path, "text/css; charset=utf-8", css);
        self.config.head.push_str(&format!(
            "<link rel=\"stylesheet\" href=\"{}\">\n",
            escape_text(&asset.versioned_url()).replace('"', "&quot;")
        ));
        self.assets.push(asset);
        self
    }

    /// Serve `js` at `path` (as [`asset`](Self::asset) does) and load it from every
    /// document's head with `defer`, before the client, e.g. to register hooks in
    /// `window.LiveTemplate.hooks` without an inline script.
    ///
    /// ```
    /// # use livetemplate_core::App;
    /// let app = App::builder().script("/hooks.js", "window.LiveTemplate={hooks:{}}").build().unwrap();
    /// let doc = app.document("", "/c.js");
    /// let hooks = doc.find("/hooks.js?v=").unwrap();
    /// assert!(hooks < doc.find("/c.js").unwrap(), "runs before the client");
    /// ```
    pub fn script(mut self, path: &str, js: impl Into<AssetBody>) -> Self {
        let asset = Asset::new(path, "text/javascript; charset=utf-8", js);
        self.config.head.push_str(&format!(
            "<script defer src=\"{}\"></script>\n",
            escape_text(&asset.versioned_url()).replace('"', "&quot;")
        ));
        self.assets.push(asset);
        self
    }

    /// Validate the origin, header and timeout options and the assets' paths.
    fn check_security(c: &mut Config, assets: &[Asset], pages: &HashMap<String, Arc<dyn PageRoute>>) -> Result<()> {
        for (list, what) in [
            (&mut c.public_origins, "public origin"),
            (&mut c.allowed_origins, "allowed origin"),
        ] {
            for origin in list.iter_mut() {
                *origin = crate::origin::normalize(origin).ok_or_else(|| {
                    Error::config(format!(
                        "{what} `{origin}` is not a web origin: write scheme://host[:port], e.g. \
                         https://app.example.com (no path)"
                    ))
                })?;
            }
        }
        for (value, header) in [
            (&c.referrer_policy, "Referrer-Policy"),
            (&c.frame_options, "X-Frame-Options"),
            (&c.content_security_policy, "Content-Security-Policy"),
        ] {
            if !value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                return Err(Error::config(format!(
                    "the {header} value must be printable ASCII on one line"
                )));
            }
        }
        if c.body_timeout.is_zero() {
            return Err(Error::config("body_timeout must be longer than zero"));
        }
        let mut seen = std::collections::HashSet::new();
        for asset in assets {
            let path = asset.path();
            if !path.starts_with('/') || path.contains(['?', '#']) {
                return Err(Error::config(format!(
                    "asset path `{path}` must start with `/` and have no query or fragment"
                )));
            }
            if path.starts_with("/_lvt/") {
                return Err(Error::config(format!("asset path `{path}`: /_lvt/ is reserved")));
            }
            if pages.contains_key(path) || !seen.insert(path) {
                return Err(Error::config(format!("two pages or assets share the path `{path}`")));
            }
            if !asset.content_type().bytes().all(|b| (b' '..=b'~').contains(&b)) {
                return Err(Error::config(format!(
                    "asset `{path}`: the content type must be printable ASCII"
                )));
            }
        }
        Ok(())
    }

    /// Sign session-group cookies with `key` (at least 32 bytes, used as they are).
    /// It takes precedence over `LVT_SECRET_KEY`. Without either, a random key is made on the
    /// first request and kept in the persist store (a reserved record), so restarts and
    /// every node on the same store share it.
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// use livetemplate::App;
    /// let app = App::builder().secret_key("a key of at least 32 bytes, from a vault").build();
    /// assert!(app.is_ok());
    /// let err = App::builder().secret_key("short").build().unwrap_err();
    /// assert!(err.is_config() && err.to_string().contains("at least 32"), "{err}");
    /// ```
    pub fn secret_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.secret_key = Some(key.as_ref().to_vec());
        self
    }

    /// Keys that signed group cookies before the current one: cookies signed with them are
    /// still accepted, and re-issued signed with the current key (key rotation). Needs
    /// [`secret_key`](Self::secret_key) or `LVT_SECRET_KEY`; a key dropped from this list is
    /// retired, and its cookies get new groups.
    pub fn previous_secret_keys<K: AsRef<[u8]>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        self.previous_secret_keys
            .extend(keys.into_iter().map(|k| k.as_ref().to_vec()));
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
    pub fn build(mut self) -> Result<App> {
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
        Self::check_security(&mut self.config, &self.assets, &routes)?;
        for (prefix, html) in &self.layouts {
            if !prefix.starts_with('/') {
                return Err(Error::config(format!("layout prefix `{prefix}` must start with `/`")));
            }
            let markers = html.matches(LIVE_MARKER).count();
            if markers != 1 {
                return Err(Error::config(format!(
                    "the layout for `{prefix}` must hold {LIVE_MARKER} exactly once (where the page goes); it holds it {markers} times"
                )));
            }
        }
        let mut layouts = self.layouts;
        layouts.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.trim_end_matches('/').len()));
        let transport = self.transport.unwrap_or_else(|| Arc::new(LocalTransport::default()));
        let signer = configured_signer(self.secret_key, self.previous_secret_keys)?;
        Ok(App {
            routes,
            order,
            svc: Services {
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                hub: Hub::with_push_wait(transport, self.config.slow_client_timeout),
                on_persist_error: self.on_persist_error,
                upload_dir: self.config.upload_dir.clone(),
            },
            config: self.config,
            authenticator: self.authenticator,
            assets: self.assets,
            signer: tokio::sync::OnceCell::new(),
            configured_signer: signer,
            store_retry: std::sync::Mutex::new(None),
            layouts,
            titles: self.titles,
        })
    }
}

/// Where a layout (see [`AppBuilder::layout`]) puts the page's live region.
pub const LIVE_MARKER: &str = "{live}";

/// The signer of configured keys: the builder's key, else `LVT_SECRET_KEY`'s keys, then the
/// builder's previous keys; `None` when no key is configured.
fn configured_signer(key: Option<Vec<u8>>, previous: Vec<Vec<u8>>) -> Result<Option<GroupSigner>> {
    let from_env = key.is_none();
    let mut keys = match key {
        Some(key) => vec![key],
        None => match std::env::var(SECRET_KEY_ENV) {
            Ok(text) => crate::group::env_keys(&text)?,
            Err(std::env::VarError::NotPresent) => Vec::new(),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Error::config(format!("{SECRET_KEY_ENV} is not valid UTF-8")));
            }
        },
    };
    if keys.is_empty() {
        return match previous.is_empty() {
            true => Ok(None),
            false => Err(Error::config(format!(
                "previous_secret_keys needs a current key: call secret_key(..) or set {SECRET_KEY_ENV}"
            ))),
        };
    }
    keys.extend(previous);
    GroupSigner::new(&keys[0], &keys[1..])
        .map(Some)
        .map_err(|err| match from_env {
            true => Error::config(format!("{SECRET_KEY_ENV}: {err}")),
            false => err,
        })
}

/// Where the generated signing key is kept: page and field under [`GroupId::server`]. Not a
/// page path (those start with `/`), so no page can read it.
const KEY_RECORD: (&str, &str) = ("lvt:group-signing-key", "current");

/// Where a re-signed unsigned group is marked, under that group, so it is taken only once.
const ADOPTED_RECORD: (&str, &str) = ("lvt:adopted", "at");

/// At most this many unsigned cookies of one request are looked up in the store.
const MAX_UNSIGNED_LOOKUPS: usize = 4;

/// With configured keys and a store that cannot be read, how long requests use the
/// configured keys alone before the store is asked for the generated key again.
const STORE_RETRY: Duration = Duration::from_secs(5);

/// The signer a request uses: `complete` once the store answered; otherwise the configured
/// keys alone (the store could not be read, so a key generated earlier is not known yet).
struct Signing<'a> {
    signer: &'a GroupSigner,
    complete: bool,
}

/// The session group of a request, and the cookie to send back.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResolvedGroup {
    /// The request's group.
    pub group: GroupId,
    /// The signed `lvt_group` cookie to hand the browser (`Set-Cookie`), when its own is
    /// missing, invalid, signed with a previous key or unsigned; `None` when its cookie is
    /// current or the app's `Authenticator` chose the group.
    pub cookie: Option<SignedGroup>,
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
            assets: Vec::new(),
            secret_key: None,
            previous_secret_keys: Vec::new(),
            on_persist_error: PersistHook::default(),
            layouts: Vec::new(),
            titles: HashMap::new(),
        }
    }

    /// Which layout the page at `path` has (an index into the layouts; `None`: the plain
    /// document). Live navigation stays on the connection only between pages of one layout.
    pub fn layout_of(&self, path: &str) -> Option<usize> {
        self.layouts.iter().position(|(prefix, _)| {
            let p = prefix.trim_end_matches('/');
            p.is_empty() || path == p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// The title of the page at `path` when its state sets none: the builder's page title
    /// ([`AppBuilder::page_title`]), else the app's.
    pub fn page_title(&self, path: &str) -> &str {
        self.titles.get(path).unwrap_or(&self.config.title)
    }

    /// The page at `path`.
    #[doc(hidden)]
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

    /// The session group of a request: the authenticator's answer; else the group of an
    /// `lvt_group` cookie the server signed (every such cookie of every `Cookie` header is
    /// tried, current key first, then previous keys); else an unsigned cookie from before
    /// signed groups, when [`Config::adopt_unsigned_groups`] allows it; else a new group. A
    /// forged cookie, or one signed with a retired key, gets a new group, never another.
    ///
    /// With configured keys the store being unreachable fails no request: cookies are signed
    /// and checked with the configured keys meanwhile (the generated key kept in the store,
    /// if any, is looked up again every few seconds), and a cookie they cannot check, or an
    /// unsigned one that cannot be looked up, is not replaced: the request gets a new group
    /// without a `cookie`, and the browser's cookie works again once the store answers.
    ///
    /// # Errors
    /// Without a configured key, a store error ([`Error::is_store`]) while reading (or, on
    /// the very first request of a store, creating) the generated signing key, or while
    /// looking up an unsigned group: the request should fail then (the server answers 503)
    /// rather than replace the browser's cookie.
    #[doc(hidden)]
    pub async fn resolve_group(&self, head: &RequestHead<'_>) -> Result<ResolvedGroup> {
        if let Some(group) = self.authenticator.as_ref().and_then(|auth| auth.group(head)) {
            return Ok(ResolvedGroup { group, cookie: None });
        }
        let Signing { signer, complete } = self.signing().await?;
        let mut previous = None;
        let mut unsigned = Vec::new();
        // A cookie this signer cannot check (while the store cannot be read, one signed with
        // the generated key looks forged): it is not replaced, so it works again later.
        let mut unchecked = false;
        for value in head.cookie_values(GROUP_COOKIE) {
            match signer.verify(value) {
                CookieGroup::Current(group) => return Ok(ResolvedGroup { group, cookie: None }),
                CookieGroup::PreviousKey(group) => {
                    previous.get_or_insert(group);
                }
                CookieGroup::Unsigned(group) if unsigned.len() < MAX_UNSIGNED_LOOKUPS => unsigned.push(group),
                CookieGroup::Invalid => unchecked |= !complete,
                CookieGroup::Unsigned(_) => {}
            }
        }
        if let Some(group) = previous {
            return Ok(ResolvedGroup {
                cookie: Some(signer.sign(&group)),
                group,
            });
        }
        if self.config.adopt_unsigned_groups {
            for group in unsigned {
                match self.adopt_unsigned(&group).await {
                    Ok(true) => {
                        return Ok(ResolvedGroup {
                            cookie: Some(signer.sign(&group)),
                            group,
                        });
                    }
                    Ok(false) => {}
                    // Configured keys sign cookies while the store is down: the request is
                    // served, and the browser keeps its cookie to be adopted later.
                    Err(err) if self.configured_signer.is_some() => {
                        static UNSIGNED_LOOKUPS: crate::log_limit::LogLimit =
                            crate::log_limit::LogLimit::new("unsigned group lookups", 10);
                        if UNSIGNED_LOOKUPS.allow() {
                            tracing::warn!(error = %err, "could not look up an unsigned group cookie; serving the request in a new group, and keeping the cookie");
                        }
                        unchecked = true;
                        break;
                    }
                    Err(err) => return Err(err),
                }
            }
        }
        let group = GroupId::random();
        Ok(ResolvedGroup {
            cookie: (!unchecked).then(|| signer.sign(&group)),
            group,
        })
    }

    /// What signs and checks group cookies: the configured keys, or the key kept in the
    /// persist store (made and saved there by the first node to need it).
    ///
    /// # Errors
    /// Without a configured key, a store error reading or saving the generated key (tried
    /// again on the next call). With one, never: while the store cannot be read this is the
    /// configured keys alone, and the store is asked again 5 s later.
    #[doc(hidden)]
    pub async fn group_signer(&self) -> Result<&GroupSigner> {
        Ok(self.signing().await?.signer)
    }

    async fn signing(&self) -> Result<Signing<'_>> {
        if let Some(signer) = self.signer.get() {
            return Ok(Signing { signer, complete: true });
        }
        let Some(configured) = &self.configured_signer else {
            let signer = self
                .signer
                .get_or_try_init(|| async {
                    let key = stored_signing_key(&*self.svc.store).await.map_err(|err| {
                        Error::store(
                            format!(
                                "the cookie-signing key is kept in the persist store, which could not be read; \
                                 set {SECRET_KEY_ENV} so pages keep serving while the store is down"
                            ),
                            err,
                        )
                    })?;
                    GroupSigner::new(key, &[] as &[&[u8]])
                })
                .await?;
            return Ok(Signing { signer, complete: true });
        };
        let waiting = |now| {
            let retry = self.store_retry.lock().unwrap_or_else(|p| p.into_inner());
            retry.is_some_and(|at| now < at)
        };
        if waiting(std::time::Instant::now()) {
            return Ok(Signing {
                signer: configured,
                complete: false,
            });
        }
        let found = self
            .signer
            .get_or_try_init(|| async {
                // Requests that waited for another's failed attempt do not each try again.
                if waiting(std::time::Instant::now()) {
                    return Err(Error::store(
                        "the persist store could not be read",
                        std::io::Error::other("tried moments ago"),
                    ));
                }
                // A key made before one was configured still reads its cookies (re-signed with
                // the configured key), so setting a key later keeps every user's session.
                match find_signing_key(&*self.svc.store).await? {
                    Some(generated) => {
                        tracing::info!(
                            "cookies signed with the key generated earlier (kept in the persist store) \
                             are accepted and re-signed with the configured key"
                        );
                        configured.clone().with_previous(generated)
                    }
                    None => Ok(configured.clone()),
                }
            })
            .await;
        let mut retry = self.store_retry.lock().unwrap_or_else(|p| p.into_inner());
        match found {
            Ok(signer) => {
                if retry.take().is_some() {
                    tracing::info!(
                        "the persist store answers again: cookies signed with a key kept there are read again"
                    );
                }
                Ok(Signing { signer, complete: true })
            }
            Err(err) => {
                if retry.is_none() {
                    tracing::warn!(
                        error = %err,
                        "the persist store cannot be read: session-group cookies are signed and checked with the configured keys \
                         ({SECRET_KEY_ENV}) meanwhile; a cookie signed with a key kept in the store is left as it is and read when the store answers"
                    );
                }
                *retry = Some(std::time::Instant::now() + STORE_RETRY);
                Ok(Signing {
                    signer: configured,
                    complete: false,
                })
            }
        }
    }

    /// Whether an unsigned group from before signed cookies is taken: the store holds
    /// persisted data of it for one of the app's pages, and it was not taken before (then
    /// it is marked taken).
    async fn adopt_unsigned(&self, group: &GroupId) -> Result<bool> {
        let store = &*self.svc.store;
        let (page, field) = ADOPTED_RECORD;
        if !store.load(group, page).await?.is_empty() {
            tracing::info!(
                ?group,
                "an unsigned group cookie that was already re-signed came again; new group"
            );
            return Ok(false);
        }
        let mut has_data = false;
        for path in &self.order {
            if !store.load(group, path).await?.is_empty() {
                has_data = true;
                break;
            }
        }
        if !has_data {
            return Ok(false);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        store.save(group, page, &[(field, now.to_be_bytes().to_vec())]).await?;
        tracing::info!(?group, "re-signed a session group from before signed cookies");
        Ok(true)
    }

    /// What pages use: store and hub.
    #[doc(hidden)]
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

    /// The static asset served at `path` (see [`AppBuilder::asset`]).
    #[doc(hidden)]
    pub fn asset(&self, path: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.path() == path)
    }

    /// The whole HTML document for a page whose live region renders as `region`, loading the
    /// client from `script_src` (the transport passes a URL versioned by the bundle's hash, so
    /// a deploy never leaves browsers on a cached old client).
    ///
    /// The live root carries `data-lvt-max-frame` (the frame limit), so the client can refuse
    /// a message the server would close the connection for and say why. Unless the configured
    /// head names an icon, the transport's empty one (`/_lvt/icon.svg`)
    /// is declared so browsers do not ask for /favicon.ico. The document has no inline script
    /// or style: it works under `Content-Security-Policy: default-src 'self'; script-src 'self'`.
    pub fn document(&self, region: &str, script_src: &str) -> String {
        self.page_document("", region, &self.config.title, &crate::flash::Flash::new(), script_src)
    }

    /// [`document`](Self::document) for the page at `path`: inside its layout, with `title`
    /// and the `lvt-flash` elements filled with `flash`.
    #[doc(hidden)]
    pub fn page_document(
        &self,
        path: &str,
        region: &str,
        title: &str,
        flash: &crate::flash::Flash,
        script_src: &str,
    ) -> String {
        let c = &self.config;
        let head = c.head.as_bytes();
        let has_icon = ["rel=\"icon\"", "rel='icon'", "rel=icon", "rel=\"shortcut icon\""]
            .iter()
            .any(|rel| head.windows(rel.len()).any(|w| w.eq_ignore_ascii_case(rel.as_bytes())));
        let icon = if has_icon {
            String::new()
        } else {
            format!("<link rel=\"icon\" href=\"{}\">\n", crate::asset::ICON_PATH)
        };
        let root = format!(
            "<div data-lvt-root data-lvt-max-frame=\"{}\">{}</div>",
            c.max_frame_bytes, region
        );
        let body = match self.layout_of(path) {
            Some(i) => self.layouts[i].1.replacen(LIVE_MARKER, &root, 1),
            None => root,
        };
        let body = if body.contains("lvt-flash=") {
            crate::flash::fill(&body, flash)
        } else {
            body
        };
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n{}{}<script defer src=\"{}\"></script>\n</head>\n\
             <body>\n{}\n</body>\n</html>\n",
            escape_text(title),
            icon,
            c.head,
            escape_text(script_src).replace('"', "&quot;"),
            body
        )
    }

    /// Render the full document for a GET of `req.path`, loading the client from
    /// `script_src`: the page in its layout, its title, and the group's stashed flash (shown
    /// once; see [`crate::flash`]).
    #[doc(hidden)]
    pub async fn render_page(&self, req: &Request, script_src: &str) -> Result<Option<String>> {
        let Some(route) = self.route(&req.path) else {
            return Ok(None);
        };
        let rendered = route.render_titled(&self.svc, req).await?;
        let flash = crate::flash::take_for_get(&*self.svc.store, &req.group).await;
        let title = rendered.title.as_deref().unwrap_or(self.page_title(&req.path));
        Ok(Some(self.page_document(
            &req.path,
            &rendered.html,
            title,
            &flash,
            script_src,
        )))
    }

    /// Run a POST (no JavaScript): `action` with the form's `fields`. Returns the URL the
    /// action sent the browser to (`ctx.redirect`, `ctx.push_patch`), if any.
    #[doc(hidden)]
    pub async fn post(&self, req: &Request, action: &str, fields: &[(String, String)]) -> Result<Option<String>> {
        let Some(route) = self.route(&req.path) else {
            return Err(Error::config(format!("no page at {}", req.path)));
        };
        let nav = route.post(&self.svc, req, action, form_data(fields)).await?;
        Ok(nav.map(|n| n.url().to_string()))
    }

    /// [`post`](Self::post) for a multipart form: `files` (received and checked against
    /// [`upload_configs`](Self::upload_configs) by the transport) become the entries of the
    /// page's uploads before the action runs; what it does not consume is removed after.
    #[doc(hidden)]
    pub async fn post_with_files(
        &self,
        req: &Request,
        action: &str,
        fields: &[(String, String)],
        files: Vec<crate::upload::ReceivedFile>,
    ) -> Result<Option<String>> {
        let Some(route) = self.route(&req.path) else {
            return Err(Error::config(format!("no page at {}", req.path)));
        };
        let nav = route
            .post_files(&self.svc, req, action, form_data(fields), files)
            .await?;
        Ok(nav.map(|n| n.url().to_string()))
    }

    /// The uploads the page at `req.path` declares (its `mount` runs for `req`), for a
    /// transport that reads a multipart form: it checks each file against these limits as
    /// the bytes arrive. Empty when there is no such page or it declares none.
    #[doc(hidden)]
    pub async fn upload_configs(&self, req: &Request) -> Result<Vec<(String, crate::upload::UploadConfig)>> {
        match self.route(&req.path) {
            Some(route) => route.upload_configs(&self.svc, req).await,
            None => Ok(Vec::new()),
        }
    }
}

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The generated signing key kept in `store`, if one was made.
async fn find_signing_key(store: &dyn PersistStore) -> Result<Option<Vec<u8>>> {
    let (page, field) = KEY_RECORD;
    Ok(store
        .load(&GroupId::server(), page)
        .await?
        .into_iter()
        .find(|(name, key)| name == field && key.len() >= crate::group::MIN_SECRET_KEY_BYTES)
        .map(|(_, key)| key))
}

/// The generated signing key kept in `store`, made and saved there when there is none yet.
async fn stored_signing_key(store: &dyn PersistStore) -> Result<Vec<u8>> {
    let server = GroupId::server();
    let (page, field) = KEY_RECORD;
    if let Some(key) = find_signing_key(store).await? {
        return Ok(key);
    }
    let key: [u8; 32] = crate::group::random_bytes();
    store.save(&server, page, &[(field, key.to_vec())]).await?;
    // Two nodes starting together on one store may both have made a key: read back, so all
    // adopt the one the store kept.
    let kept = find_signing_key(store).await?.unwrap_or_else(|| key.to_vec());
    tracing::info!(
        "made a secret key for signing session-group cookies and kept it in the persist store; \
         set {SECRET_KEY_ENV} to choose your own"
    );
    Ok(kept)
}
