//! # livetemplate
//!
//! Real-time web UIs rendered on the server. A page is a state struct
//! (`#[derive(LiveState)]`), a controller whose async methods are actions (`#[actions]`), and
//! an askama template compiled at build time. The first GET returns plain HTML; the bundled
//! JS client then opens a WebSocket, and every action sends back only the parts of the
//! template that changed.
//!
//! ```
//! use livetemplate::prelude::*;
//!
//! #[derive(LiveState, Clone, Default)]
//! #[lvt(source = "<p>Count: {{ count }}</p>", ext = "html")]
//! pub struct Counter {
//!     #[lvt(persist)]
//!     pub count: i64,
//! }
//!
//! pub struct CounterController;
//!
//! #[actions]
//! impl CounterController {
//!     async fn increment(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
//!         state.count += 1;
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> livetemplate::Result<()> {
//! // Test it in process, through the real wire format:
//! use livetemplate::testing::TestPage;
//! let mut page = TestPage::mount(CounterController, Counter::default()).await?;
//! let frame = page.act("increment", serde_json::Value::Null).await;
//! assert_eq!(page.html(), "<p>Count: 1</p>");
//! assert!(frame.len() <= 40, "{}", frame.text());
//! # Ok(()) }
//! ```
//!
//! ## Attributes of `#[derive(LiveState)]`
//!
//! | attribute | meaning |
//! |---|---|
//! | `#[lvt(template = "page.html")]` | askama template file under `templates/` (or askama.toml's `dirs`) |
//! | `#[lvt(source = "...", ext = "html")]` | inline template source |
//! | `#[lvt(syntax = "name")]` | a custom syntax (delimiters) named in askama.toml's `[[syntax]]`, as askama's own `syntax` attribute; askama.toml's `default_syntax` applies without it |
//! | `#[lvt(crate = "path")]` | where the `livetemplate` crate is, if renamed |
//! | `#[lvt(persist)]` on a field | stored after every successful action, restored before the first render |
//! | `#[lvt(persist(version = 2, migrate = path::to::f))]` | as `persist`; values of older versions go through `f(old_json, old_version)` |
//! | `#[lvt(errors)]` on a [`FieldErrors`](prelude::FieldErrors) field (at most one, not persisted) | a failed action's `FieldErrors` go there (fields the user used), for the template to show next to each field; see the guide's "Forms and errors" |
//!
//! Persisted fields need `serde::Serialize + serde::de::DeserializeOwned`. They are read back
//! by serde shape and field name, so most changes to their types need no code (see the
//! guide's "Changing persisted types"); what cannot be read is kept aside (quarantined) and
//! reported to [`AppBuilder::on_persist_error`].
//!
//! ## `#[actions]`
//!
//! Every `async fn name(&self, state: &mut State, ctx: &mut Context) -> Result<()>` of the
//! impl block is an action. A client may call it as `saveNotes`, `save-notes` or
//! `save_notes`. `mount`, `handle_params`, `on_connect` and `on_disconnect` with the same
//! signature are lifecycle hooks, not actions. `#[lvt(server)]` on an action keeps it out of a
//! browser's reach (only `session.trigger_action`, publishes and presence run it). An impl
//! block with neither actions nor hooks (`#[actions] impl About {}`) is a read-only page of
//! whatever state `App::builder().page(..)` gives it; `#[actions(state = S)]` ties it to `S`.
//! `#[actions(component)]` makes the block a component's instead (see the guide's
//! "Components"): hooks `mount(state, ctx)` and
//! `update(&self, state: &mut S, inputs: &I, ctx: &mut Context) -> Result<()>`, which sets the
//! component's inputs type to `I` (`()` without it); the state needs `Default`.

#[doc(inline)]
pub use livetemplate_core::asset::AssetBody;
#[doc(inline)]
pub use livetemplate_core::{App, AppBuilder, Config, Context, Controller, Error, GroupId, LiveState, Result, Session};
// What a `Controller` written by hand returns: `Pin<Box<dyn Future<Output = T> + Send + 'a>>`
// (the same item as `store::BoxFuture` and `pubsub::BoxFuture`).
#[doc(no_inline)]
pub use livetemplate_core::BoxFuture;

/// What the [`on_persist_error`](AppBuilder::on_persist_error) hook is given when a persisted
/// value cannot be read back. Here, bytes no version of the field was written as: the value
/// is kept aside, the field starts from its initial value, and the hook sees it once.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use livetemplate::GroupId;
/// use livetemplate::prelude::*;
/// use livetemplate::store::{MemoryStore, PersistStore};
/// use livetemplate::testing::TestPage;
///
/// #[derive(LiveState, Clone, Default)]
/// #[lvt(source = "<p>{{ count }}</p>", ext = "html")]
/// pub struct Counter {
///     #[lvt(persist)]
///     pub count: i64,
/// }
///
/// pub struct CounterController;
///
/// #[actions]
/// impl CounterController {
///     async fn increment(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
///         state.count += 1;
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> livetemplate::Result<()> {
/// let store = Arc::new(MemoryStore::new());
/// let group = GroupId::random();
/// // Bytes no version of `count` was ever written as.
/// store.save(&group, "/c", &[("count", b"not a counter".to_vec())]).await?;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let app = App::builder()
///     .shared_store(store.clone())
///     .on_persist_error(move |e| {
///         let key = e.quarantine_key().map(str::to_string);
///         log.lock().unwrap().push((e.page().to_string(), e.field().to_string(), key));
///     })
///     .page("/c", CounterController, Counter::default())
///     .build()?;
///
/// let page = TestPage::connect(Arc::new(app), "/c", group.clone()).await?;
/// assert_eq!(page.html(), "<p>0</p>", "the field starts from its initial value");
/// let seen = seen.lock().unwrap().clone();
/// assert_eq!(seen, [("/c".to_string(), "count".to_string(), Some("count@quarantine".to_string()))]);
/// // The bytes are kept, for `store::restore_quarantined` once a migration can read them.
/// let kept = store.load(&group, "/c").await?;
/// assert!(kept.iter().any(|(k, v)| k == "count@quarantine" && v == b"not a counter"));
/// # Ok(()) }
/// ```
#[doc(inline)]
pub use livetemplate_core::PersistError;
pub use livetemplate_macros::{LiveState, actions};

#[cfg(feature = "hyper")]
#[doc(inline)]
pub use livetemplate_hyper::{
    CLIENT_JS_PATH, LiveService, ResponseBody, ResponseFuture, SHUTDOWN_GRACE, Server, client_script_url,
    serve_service, serve_with_shutdown,
};

/// The transport's own error type (binding the port, serving), for `serve_with_shutdown` and
/// [`Server`]; [`serve`] converts it into [`Error`].
#[cfg(feature = "hyper")]
pub use livetemplate_hyper::Error as TransportError;

/// Serve `app` on `addr` until Ctrl-C or SIGTERM, then shut down gracefully: stop accepting,
/// finish running actions, flush the store, close sockets with 1001 so clients reconnect.
///
/// It logs `livetemplate listening on http://…` at INFO through `tracing`, and warnings as they
/// happen; install a subscriber (as below) to see them.
///
/// ```no_run
/// use livetemplate::prelude::*;
///
/// #[derive(LiveState, Clone, Default)]
/// #[lvt(source = "<p>{{ count }}</p><form method=\"POST\"><button name=\"increment\">+1</button></form>", ext = "html")]
/// pub struct Counter {
///     #[lvt(persist)]
///     pub count: i64,
/// }
///
/// pub struct CounterController;
///
/// #[actions]
/// impl CounterController {
///     async fn increment(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
///         state.count += 1;
///         Ok(())
///     }
/// }
///
/// #[tokio::main]
/// async fn main() -> livetemplate::Result<()> {
///     // Without a subscriber nothing is printed: not "listening on …", not a warning.
///     tracing_subscriber::fmt()
///         .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
///         .init();
///     let app = App::builder()
///         .store(livetemplate::store::SledStore::open("data/app.sled")?)
///         .page("/counter", CounterController, Counter::default())
///         .build()?;
///     livetemplate::serve("127.0.0.1:8080", app).await
/// }
/// ```
#[cfg(feature = "hyper")]
pub async fn serve(addr: impl tokio::net::ToSocketAddrs, app: App) -> Result<()> {
    Ok(livetemplate_hyper::serve(addr, app).await?)
}

/// Where persisted fields live: the [`PersistStore`](store::PersistStore) trait a store
/// implements, the stores that ship, and the tools for quarantined values.
///
/// A new store implements [`PersistStore`](store::PersistStore) and runs
/// [`testing::store_conformance`] in its tests.
pub mod store {
    #[doc(inline)]
    pub use livetemplate_core::persist::{restore_quarantined, to_json};
    #[doc(inline)]
    pub use livetemplate_core::{Fields, MemoryStore, PersistStore};
    // What `PersistStore::load`, `save` and `flush` return: `Pin<Box<dyn Future<Output = T> + Send + 'a>>`.
    #[doc(no_inline)]
    pub use livetemplate_core::BoxFuture;
    #[cfg(feature = "sled")]
    #[doc(inline)]
    pub use livetemplate_sled::{SledStore, SledStoreBuilder};
}

/// Carrying publishes, `trigger_action` and presence between nodes: the app's
/// [`Hub`](pubsub::Hub) (`app.hub()`: publish to a topic from outside any action, trigger an
/// action on a group's connections, read presence), the
/// [`PubSubTransport`](pubsub::PubSubTransport) trait a broker implements, its message
/// ([`Envelope`](pubsub::Envelope)), and the in-process default.
pub mod pubsub {
    #[doc(inline)]
    pub use livetemplate_core::hub::{Deliver, Envelope, Hub, LocalTransport, PubSubTransport};
    // What `PubSubTransport::publish` returns: `Pin<Box<dyn Future<Output = T> + Send + 'a>>`.
    #[doc(no_inline)]
    pub use livetemplate_core::BoxFuture;
}

/// Who a request is: the [`Authenticator`](auth::Authenticator) an app with its own login
/// implements, the [`RequestHead`](auth::RequestHead) it reads, and the
/// [`GroupId`] it answers.
pub mod auth {
    #[doc(inline)]
    pub use livetemplate_core::group::{Authenticator, RequestHead, SECRET_KEY_ENV};
    // The same item as `livetemplate::GroupId`: listed as a re-export, not a second page.
    #[doc(no_inline)]
    pub use crate::GroupId;
}

/// Test support: [`TestPage`](testing::TestPage) runs a page through the real wire format and
/// clicks, submits and types into the elements a CSS selector finds in its HTML, the
/// reference client rebuilds the HTML a browser would show, [`Closing`](testing::Closing)
/// tells how the server closed a connection, and
/// [`store_conformance`](testing::store_conformance) checks a store.
pub mod testing {
    #[doc(inline)]
    pub use livetemplate_core::testing::{ClientTree, ComponentRef, Frame, PostOutcome, PushKind, store_conformance};

    /// Tests of a page through the real wire format. Here: its actions, the HTML a browser
    /// shows after each, an error the user sees, two tabs of one session group, and how the
    /// server closes a connection that breaks the rules.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use livetemplate::GroupId;
    /// use livetemplate::prelude::*;
    /// use livetemplate::testing::TestPage;
    ///
    /// #[derive(LiveState, Clone, Default)]
    /// #[lvt(source = "<ul>{% for t in todos %}<li>{{ t }}</li>{% endfor %}</ul>", ext = "html")]
    /// pub struct Todos {
    ///     #[lvt(persist)]
    ///     pub todos: Vec<String>,
    /// }
    ///
    /// pub struct TodosController;
    ///
    /// #[actions]
    /// impl TodosController {
    ///     async fn add(&self, state: &mut Todos, ctx: &mut Context) -> Result<()> {
    ///         let title = ctx.get_string("title");
    ///         if title.trim().is_empty() {
    ///             return Err(Error::msg("A todo needs a title"));
    ///         }
    ///         state.todos.push(title);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> livetemplate::Result<()> {
    /// // One page, in an app of its own, with an in-memory store:
    /// let mut page = TestPage::mount(TodosController, Todos::default()).await?;
    /// page.act("add", serde_json::json!({"title": "milk"})).await;
    /// assert_eq!(page.html(), "<ul><li>milk</li></ul>");
    ///
    /// // An action's error reaches the user; the state is unchanged.
    /// let frame = page.act("add", serde_json::json!({"title": " "})).await;
    /// assert_eq!(frame.error().as_deref(), Some("A todo needs a title"));
    /// assert_eq!(page.html(), "<ul><li>milk</li></ul>");
    ///
    /// // A page of a real app, for a session group: a second tab of the same group sees the
    /// // persisted todos.
    /// let app = Arc::new(App::builder().page("/todos", TodosController, Todos::default()).build()?);
    /// let group = GroupId::random();
    /// let mut tab = TestPage::connect(app.clone(), "/todos", group.clone()).await?;
    /// tab.act("add", serde_json::json!({"title": "bread"})).await;
    /// let other = TestPage::connect(app, "/todos", group).await?;
    /// assert_eq!(other.html(), "<ul><li>bread</li></ul>");
    ///
    /// // A message over the frame limit (64 KiB by default) closes the connection with 1009.
    /// let frame = tab.act("add", serde_json::json!({"title": "x".repeat(100_000)})).await;
    /// assert_eq!(frame.closed().map(|c| c.code), Some(1009));
    /// # Ok(()) }
    /// ```
    #[doc(inline)]
    pub use livetemplate_core::testing::TestPage;
    #[doc(inline)]
    pub use livetemplate_core::transport::Closing;
}

/// Everything a page needs: `use livetemplate::prelude::*;`.
pub mod prelude {
    pub use crate::{App, Context, Error, LiveState, Result, actions};
    pub use livetemplate_core::FieldErrors;
    #[doc(inline)]
    pub use livetemplate_core::component::{Component, Embed, live_component};
    pub use livetemplate_core::stream::{Stream, StreamItem};
    pub use livetemplate_core::upload::{Upload, UploadConfig, UploadEntry};
}

#[doc(hidden)]
pub mod __private {
    pub use livetemplate_core::__private::*;
    pub use livetemplate_core::tree::Tree;
    pub use livetemplate_core::{BoxFuture, Context, Controller, Error, LiveState, Result};
}

/// The guide (`docs/guide.md`): pages, templates, actions, persistence, navigation, testing,
/// server push and pubsub. Its Rust blocks are compiled and run as doctests.
pub mod guide {
    #![doc = include_str!("../../../docs/guide.md")]
}
