//! One page (a path, a controller, an initial state): the first render of a GET, the no-JS
//! POST, and opening a live view (see `view.rs`) on a connection; loading and saving
//! persisted fields around an action.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::BoxFuture;
use crate::component::{Components, Env, TARGET_FIELD};
use crate::context::Context;
use crate::context::{Effects, Navigation};
use crate::diff::Encoder;
use crate::error::{Error, Result};
use crate::group::GroupId;
use crate::hub::{Hub, PersistSlot};
use crate::persist::{self, PersistHook};
use crate::protocol::ServerFrame;
use crate::state::{Controller, LiveState, normalize_action};
use crate::store::PersistStore;
use crate::transport::Closing;
use crate::upload::{ReceivedFile, UploadConfig, Uploads};
pub(crate) use crate::view::LiveView;

/// ERROR lines for failed actions: a client that can repeat a failing action (during a store
/// outage, say) must not be able to grow the log without bound. Past the cap a minute, one
/// line says how many were held back.
pub(crate) static INTERNAL_ERRORS_LOG: crate::log_limit::LogLimit =
    crate::log_limit::LogLimit::new("failed actions", 120);

/// What a transport knows about the request behind a page view or connection.
#[derive(Debug, Clone)]
pub struct Request {
    /// The page path, e.g. `/counter`.
    pub path: String,
    /// The raw query string (without `?`), possibly empty.
    pub query: String,
    /// The session group.
    pub group: GroupId,
}

/// What pages use from their app: the persist store and the hub of live connections.
#[derive(Clone, Debug)]
pub struct Services {
    /// Where persisted fields live.
    pub store: Arc<dyn PersistStore>,
    /// Live connections, topics and presence.
    pub hub: Hub,
    /// Told of every persisted value that could not be read (and was quarantined).
    pub on_persist_error: PersistHook,
    /// Where uploads' temporary files go (`Config::upload_dir`).
    pub upload_dir: std::path::PathBuf,
}

impl Services {
    /// Services with `store` and an in-process hub.
    pub fn with_store(store: Arc<dyn PersistStore>) -> Self {
        Services {
            store,
            hub: Hub::local(),
            on_persist_error: PersistHook::default(),
            upload_dir: std::env::temp_dir(),
        }
    }
}

/// A page, type-erased so an app can hold pages of different states.
pub trait PageRoute: Send + Sync + 'static {
    /// The page's path.
    fn path(&self) -> &str;
    /// Snake-case names of the page's actions (used by the no-JS POST path to find which
    /// form field names the clicked button). Empty by default.
    fn action_names(&self) -> &'static [&'static str] {
        &[]
    }
    /// The action names a no-JS form POST may name: the page's, or, when the form's
    /// `lvt-target` field names a component instance this page rendered, that instance's.
    fn form_action_names(&self, target: Option<&str>) -> Vec<&'static str> {
        let _ = target;
        self.action_names().to_vec()
    }
    /// Render the live region's HTML for a GET (persisted fields loaded, `mount` run).
    fn render<'a>(&'a self, svc: &'a Services, req: &'a Request) -> BoxFuture<'a, Result<String>>;
    /// Run an action for a POST without JavaScript and persist the result.
    fn post<'a>(
        &'a self,
        svc: &'a Services,
        req: &'a Request,
        action: &'a str,
        data: Value,
    ) -> BoxFuture<'a, Result<Option<Navigation>>>;
    /// [`post`](Self::post) with the files of a multipart form, received and checked against
    /// [`upload_configs`](Self::upload_configs): they become the entries of the uploads their
    /// fields name before the action runs; what the action does not consume is removed after.
    /// By default the files are dropped (their temporary files removed).
    fn post_files<'a>(
        &'a self,
        svc: &'a Services,
        req: &'a Request,
        action: &'a str,
        data: Value,
        files: Vec<ReceivedFile>,
    ) -> BoxFuture<'a, Result<Option<Navigation>>> {
        drop(files);
        self.post(svc, req, action, data)
    }
    /// The uploads the page declares for `req` (its `mount` runs to find out), so a
    /// multipart POST can check files against their limits as the bytes arrive. None by
    /// default.
    fn upload_configs<'a>(
        &'a self,
        svc: &'a Services,
        req: &'a Request,
    ) -> BoxFuture<'a, Result<Vec<(String, UploadConfig)>>> {
        let _ = (svc, req);
        Box::pin(async { Ok(Vec::new()) })
    }
    /// Open live connection `conn` (already registered with the hub); returns it with its
    /// first frame.
    fn connect(
        self: Arc<Self>,
        svc: Services,
        req: Request,
        conn: u64,
    ) -> BoxFuture<'static, Result<(Box<dyn LiveConnection>, String)>>;
    /// [`render`](Self::render), with the title the page set (`ctx.set_title` in `mount` or
    /// `handle_params`). By default no title.
    fn render_titled<'a>(&'a self, svc: &'a Services, req: &'a Request) -> BoxFuture<'a, Result<Rendered>> {
        Box::pin(async move {
            let html = self.render(svc, req).await?;
            Ok(Rendered { html, title: None })
        })
    }
    /// Open live connection `conn` for a live navigation to this page (see [`Arrival`]): as
    /// [`connect`](Self::connect), and the first frame answers the navigation (`r`,
    /// `navigate`, `title`, `flash`). By default the first frame of `connect`.
    fn arrive(
        self: Arc<Self>,
        svc: Services,
        req: Request,
        conn: u64,
        arrival: Arrival,
    ) -> BoxFuture<'static, Result<(Box<dyn LiveConnection>, String)>> {
        let _ = arrival;
        self.connect(svc, req, conn)
    }
}

/// A page's HTML for a GET and the title its state set.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The live region's HTML.
    pub html: String,
    /// The title from `ctx.set_title` in `mount` or `handle_params`, if any.
    pub title: Option<String>,
}

/// How a live navigation reaches a page (see [`PageRoute::arrive`]).
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The URL the address bar shows now (path, query, maybe a hash).
    pub url: String,
    /// The ref of the client message (`n`, or the action that called `push_navigate`).
    pub reply_to: Option<u64>,
    /// The flash the new page starts with.
    pub flash: crate::flash::Flash,
    /// The title when the page sets none (the builder's page title or the app's).
    pub title: String,
}

/// One live connection of a page: runs actions and answers with frames.
pub trait LiveConnection: Send {
    /// Run `action` with `data`; the frame to send back. With `reply_to` there is always a
    /// frame (carrying it); without (a pushed action) only when something changed.
    fn handle<'a>(&'a mut self, action: &'a str, data: Value, reply_to: Option<u64>) -> BoxFuture<'a, Option<String>>;
    /// Run `action` pushed by the server (`session.trigger_action`, a publish, presence):
    /// unlike a browser's message it may reach `#[lvt(server)]` actions. The frame to send,
    /// when something changed.
    fn handle_push<'a>(&'a mut self, action: &'a str, data: Value) -> BoxFuture<'a, Option<String>> {
        self.handle(action, data, None)
    }
    /// The page's URL changed without a page load (an `lvt-patch` link, back or forward):
    /// run the page's `handle_params` for `url`; the frame to send back.
    fn params<'a>(&'a mut self, url: &'a str, reply_to: Option<u64>) -> BoxFuture<'a, Option<String>> {
        let _ = url;
        Box::pin(async move { ServerFrame::ack(reply_to) })
    }
    /// A chunk of bytes for upload entry `id` (a binary frame), answering `reply_to`: an
    /// acknowledgement, with the diff when the entry's progress changed. By default the page
    /// takes no uploads: an error.
    fn upload_chunk<'a>(&'a mut self, id: u32, bytes: &'a [u8], reply_to: u64) -> BoxFuture<'a, Option<String>> {
        let _ = (id, bytes);
        Box::pin(async move { Some(ServerFrame::error_frame(Some(reply_to), "this page takes no uploads")) })
    }
    /// Persisted fields changed elsewhere (another tab of the group): load them and return the
    /// diff frame, if anything changed.
    fn reload(&mut self) -> BoxFuture<'_, Option<String>>;
    /// Set once the connection cannot go on: its page panicked and could not be mounted
    /// again. The transport sends the frame it was given, then closes with this (1011).
    fn closing(&self) -> Option<Closing> {
        None
    }
    /// The URL the last step asked to navigate to (`ctx.push_navigate`) with the flash it
    /// put, once: the connection swaps the page and answers with the new one's frame.
    fn take_navigate(&mut self) -> Option<(String, crate::flash::Flash)> {
        None
    }
    /// The connection closed: run `on_disconnect`.
    fn close(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// Who an action or mount runs for: the session group, the live connection (if any) and the
/// query string of the page's URL.
pub(crate) struct At<'a> {
    pub(crate) group: &'a GroupId,
    pub(crate) conn: Option<u64>,
    pub(crate) query: &'a Arc<str>,
    /// The uploads of the view or POST.
    pub(crate) uploads: &'a Uploads,
}

/// Wait for the persist slot, when the page has one: the guard holds the count of saves.
pub(crate) async fn lock_slot(slot: &Option<Arc<PersistSlot>>) -> Option<tokio::sync::MutexGuard<'_, u64>> {
    match slot {
        Some(slot) => Some(slot.lock().await),
        None => None,
    }
}

/// What a step of a live view runs.
pub(crate) enum Run<'a> {
    /// An action, asked for by the browser (`from_client`) or pushed by the server.
    Action {
        name: &'a str,
        data: Value,
        from_client: bool,
    },
    /// `handle_params` for the view's (new) URL.
    Params,
}

/// The query string of a URL the page was patched to (`?page=2`, `/path?x=1#top`).
pub(crate) fn query_of(url: &str) -> Arc<str> {
    let url = url.split('#').next().unwrap_or("");
    Arc::from(url.split_once('?').map(|(_, q)| q).unwrap_or(""))
}

/// A page: a controller and the initial state each view starts from.
pub struct Page<C: Controller> {
    pub(crate) path: Arc<str>,
    pub(crate) controller: Arc<C>,
    initial: C::State,
    /// Whole states left by no-JS POSTs, per group, so the GET after the `303` (and a
    /// connection opened from that page) shows the action's result, persisted fields or not;
    /// with the page's component instances, and its uploads (so the page shows the entries a
    /// POST refused).
    posted: Mutex<HashMap<GroupId, Posted<C::State>>>,
    /// The action names of the component instances this page rendered, by instance id: what
    /// a no-JS form with an `lvt-target` field may name.
    targets: Mutex<HashMap<Arc<str>, &'static [&'static str]>>,
}

/// A no-JS POST's result for a group: the page's state, its instances, its uploads (the
/// refused entries), and when.
type Posted<S> = (S, Components, Uploads, Instant);

/// How long a no-JS POST's state is kept for its group.
const POSTED_TTL: Duration = Duration::from_secs(30 * 60);
/// At most this many groups' POST states are kept per page; the oldest go first.
const POSTED_MAX: usize = 10_000;

impl<C: Controller> std::fmt::Debug for Page<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page").field("path", &self.path).finish_non_exhaustive()
    }
}

impl<C: Controller> Page<C> {
    /// A page at `path`.
    pub fn new(path: &str, controller: C, initial: C::State) -> Self {
        Page {
            path: path.into(),
            controller: Arc::new(controller),
            initial,
            posted: Mutex::new(HashMap::new()),
            targets: Mutex::new(HashMap::new()),
        }
    }
}

impl<C: Controller> Page<C> {
    /// The group's persist slot for this page, or none when the page persists no field.
    fn persist_slot(&self, svc: &Services, group: &GroupId) -> Option<Arc<PersistSlot>> {
        (!C::State::persisted_fields().is_empty()).then(|| svc.hub.persist_slot(&self.path, group))
    }

    pub(crate) fn context(&self, action: &str, data: Value, at: &At<'_>, hub: &Hub) -> Context {
        Context::new(action, data, self.path.clone(), at.group.clone())
            .with_hub(hub.clone(), at.conn)
            .with_query(at.query.clone())
            .with_uploads(at.uploads.clone())
    }

    fn posted_state(&self, group: &GroupId) -> Option<(C::State, Components, Uploads)> {
        let mut posted = self.posted.lock().unwrap_or_else(|p| p.into_inner());
        match posted.get(group) {
            Some((state, comps, uploads, at)) if at.elapsed() < POSTED_TTL => {
                Some((state.clone(), comps.clone(), uploads.clone()))
            }
            Some(_) => {
                posted.remove(group);
                None
            }
            None => None,
        }
    }

    fn remember_posted(&self, group: &GroupId, state: C::State, comps: Components, uploads: Uploads) {
        let mut posted = self.posted.lock().unwrap_or_else(|p| p.into_inner());
        if posted.len() >= POSTED_MAX && !posted.contains_key(group) {
            posted.retain(|_, (_, _, _, at)| at.elapsed() < POSTED_TTL);
            if posted.len() >= POSTED_MAX
                && let Some(oldest) = posted
                    .iter()
                    .min_by_key(|(_, (_, _, _, at))| *at)
                    .map(|(g, _)| g.clone())
            {
                posted.remove(&oldest);
            }
        }
        posted.insert(group.clone(), (state, comps, uploads, Instant::now()));
    }

    /// Remember the action names of `comps`' instances, for no-JS forms that target them.
    fn learn_targets(&self, comps: &Components) {
        let mut targets = self.targets.lock().unwrap_or_else(|p| p.into_inner());
        for (id, names) in comps.action_names() {
            if targets.len() < POSTED_MAX || targets.contains_key(&id) {
                targets.insert(id, names);
            }
        }
    }

    /// Who a component's hooks run for, in `at`.
    pub(crate) fn env<'a>(&'a self, svc: &'a Services, at: &'a At<'_>) -> Env<'a> {
        Env {
            svc,
            group: at.group,
            conn: at.conn,
            query: at.query,
            path: &self.path,
        }
    }

    /// Deliver the components' `send_parent` messages (a component's to its parent
    /// instance, an instance's embedded by the page to the page) until none is left: the
    /// page's new tree when one of its actions ran.
    pub(crate) async fn deliver(
        &self,
        state: &mut C::State,
        comps: &mut Components,
        svc: &Services,
        at: &At<'_>,
    ) -> Result<Option<crate::tree::Tree>> {
        let env = self.env(svc, at);
        let mut tree = None;
        for _ in 0..crate::component::MAX_MESSAGE_ROUNDS {
            let messages = comps.take_messages();
            if messages.is_empty() {
                return Ok(tree);
            }
            let mut page_acted = false;
            for (parent, action, data) in messages {
                match parent {
                    None => {
                        let effects = self.run_action(state, &action, data, at, &svc.hub, false).await?;
                        comps.effects.extend(effects);
                        page_acted = true;
                    }
                    Some(cid) => comps.act(cid, &action, data, &env, false).await?,
                }
            }
            if page_acted {
                let st = &*state;
                tree = Some(comps.render_page(&env, || st.render_tree()).await?);
            }
        }
        Err(Error::config(format!(
            "components on {} kept sending messages to their parents ({} rounds); a message's action must not make its sender send again",
            self.path,
            crate::component::MAX_MESSAGE_ROUNDS
        )))
    }

    /// Render the page with its components (instances created, updated, dropped; messages
    /// delivered): the page's tree.
    pub(crate) async fn render_live(
        &self,
        state: &mut C::State,
        comps: &mut Components,
        svc: &Services,
        at: &At<'_>,
    ) -> Result<crate::tree::Tree> {
        let st = &*state;
        let tree = comps.render_page(&self.env(svc, at), || st.render_tree()).await?;
        Ok(self.deliver(state, comps, svc, at).await?.unwrap_or(tree))
    }

    /// The state a view starts from: the group's last no-JS POST state or a fresh copy of the
    /// initial state, with persisted fields loaded over it, then mounted.
    ///
    /// Also returns the persisted fields that must not be saved (see [`Held`]).
    ///
    /// The uploads of the last no-JS POST's state are copied into `at.uploads` (its refused
    /// entries), so `allow_upload` in `mount` finds them.
    async fn prepare(&self, svc: &Services, at: &At<'_>) -> Result<(C::State, Components, Effects, Held)> {
        let (mut state, comps) = match self.posted_state(at.group) {
            Some((state, comps, posted)) => {
                at.uploads.adopt(&posted);
                (state, comps)
            }
            None => (self.initial.clone(), Components::default()),
        };
        let held = persist::load(&mut state, &*svc.store, &svc.on_persist_error, at.group, &self.path).await;
        let mut ctx = self.context("mount", Value::Null, at, &svc.hub);
        catch(self.controller.mount(&mut state, &mut ctx)).await?;
        catch(self.controller.handle_params(&mut state, &mut ctx)).await?;
        Ok((state, comps, ctx.take_effects(), held))
    }

    /// Run `handle_params` for the URL in `at`; on success returns what it asked for. On
    /// failure `state` keeps what ran before it failed, as for an action.
    pub(crate) async fn run_params(&self, state: &mut C::State, at: &At<'_>, hub: &Hub) -> Result<Effects> {
        let mut ctx = self.context("params", Value::Null, at, hub);
        catch(self.controller.handle_params(state, &mut ctx)).await?;
        Ok(ctx.take_effects())
    }

    /// Run an action; on success returns what it asked for (publishes, subscriptions). On
    /// failure (an error, a panic) `state` keeps what the action changed before failing: a
    /// live view keeps it unsaved, a no-JS POST drops it. No copy of the state is made.
    /// `from_client`: a browser asked for it (a message or a form post), so `#[lvt(server)]`
    /// actions are out of its reach and not even named in the error.
    pub(crate) async fn run_action(
        &self,
        state: &mut C::State,
        action: &str,
        data: Value,
        at: &At<'_>,
        hub: &Hub,
        from_client: bool,
    ) -> Result<Effects> {
        let name = normalize_action(action);
        let names = self.controller.action_names();
        let server = self.controller.server_actions();
        let reachable = |n: &str| names.contains(&n) && !(from_client && server.contains(&n));
        if !reachable(&name) {
            let known: Vec<&str> = names.iter().copied().filter(|n| reachable(n)).collect();
            return Err(Error::unknown_action(action, &self.path, &known));
        }
        let mut ctx = self.context(action, data, at, hub);
        let before = crate::field_errors::before_action(state.errors_field());
        let result = catch(self.controller.call(&name, state, &mut ctx)).await;
        crate::field_errors::settle(state.errors_field(), before, &ctx, result)?;
        Ok(ctx.take_effects())
    }
}

/// Persisted fields a view must not save: their stored value could be neither read nor
/// quarantined, so a save would destroy it.
pub(crate) type Held = Vec<&'static str>;

/// Load the persisted fields of `page` for `group` into `state`, with no hook.
///
/// Values (read through the shape they were written with) are rebuilt into today's types by
/// field name; a value that cannot be read keeps the field's initial value and is
/// quarantined and logged at ERROR once (see "Changing persisted types" in the guide).
pub async fn load_persisted<S: LiveState>(state: &mut S, store: &dyn PersistStore, group: &GroupId, page: &str) {
    persist::load(state, store, &PersistHook::default(), group, page).await;
}

/// Encode the persisted fields of `state`.
pub fn encode_persisted<S: LiveState>(state: &S) -> Vec<(&'static str, Vec<u8>)> {
    S::persisted_fields()
        .iter()
        .filter_map(|name| match state.encode_field(name)? {
            Ok(bytes) => Some((*name, bytes)),
            Err(err) => {
                tracing::warn!(field = name, error = %err, "persisted field could not be encoded");
                None
            }
        })
        .collect()
}

impl<C: Controller> Page<C> {
    /// A no-JS POST's action failed: `err` with the page rendered around the state the action
    /// left (the user's values in non-persisted fields, the errors in the `#[lvt(errors)]`
    /// field; persisted fields back to their saved values, `before`). Nothing is kept for the
    /// group: the next GET shows the page as it was. A page that cannot render gives `err`
    /// alone (the transport shows the page as it stands, with the message).
    async fn failed_post(
        &self,
        err: Error,
        mut state: C::State,
        mut comps: Components,
        before: &[(&'static str, Vec<u8>)],
        svc: &Services,
        at: &At<'_>,
    ) -> Error {
        if err.is_panic() {
            return err;
        }
        for (name, bytes) in before {
            if let Err(decode) = state.decode_field(name, bytes) {
                tracing::error!(page = %self.path, field = name, error = %decode, "a persisted field could not be put back to its saved value");
                return err;
            }
        }
        let html = if comps.is_idle() {
            match crate::component::plain_without_components(|| state.render_html()) {
                (html, false) => html,
                (_, true) => self.plain_with_components(&mut state, &mut comps, svc, at).await,
            }
        } else {
            self.plain_with_components(&mut state, &mut comps, svc, at).await
        };
        match html {
            Ok(html) => {
                let shown = err.field_errors().is_some() && state.errors_field().is_some();
                err.with_failed_page(html, shown)
            }
            Err(render) => {
                tracing::warn!(page = %self.path, error = %render, "rendering the page after a failed POST failed");
                err
            }
        }
    }

    async fn plain_with_components(
        &self,
        state: &mut C::State,
        comps: &mut Components,
        svc: &Services,
        at: &At<'_>,
    ) -> Result<String> {
        self.render_live(state, comps, svc, at).await?;
        comps.settle_quietly();
        comps.plain_html(|| state.render_html())
    }
}

impl<C: Controller> PageRoute for Page<C> {
    fn path(&self) -> &str {
        &self.path
    }

    fn action_names(&self) -> &'static [&'static str] {
        self.controller.action_names()
    }

    fn form_action_names(&self, target: Option<&str>) -> Vec<&'static str> {
        match target.filter(|t| !is_page_target(t)) {
            Some(t) => {
                let targets = self.targets.lock().unwrap_or_else(|p| p.into_inner());
                match targets.get(t) {
                    Some(names) => names.to_vec(),
                    // An id this page never rendered: any action name an instance has, so
                    // the POST goes on to say that there is no such instance.
                    None => {
                        let mut all: Vec<&'static str> = targets.values().flat_map(|n| n.iter().copied()).collect();
                        all.sort_unstable();
                        all.dedup();
                        all
                    }
                }
            }
            None => self.action_names().to_vec(),
        }
    }

    fn render<'a>(&'a self, svc: &'a Services, req: &'a Request) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move { Ok(self.render_titled(svc, req).await?.html) })
    }

    fn render_titled<'a>(&'a self, svc: &'a Services, req: &'a Request) -> BoxFuture<'a, Result<Rendered>> {
        Box::pin(async move {
            // Effects of a mount for a plain GET are dropped (but its title): there is no
            // connection to subscribe, and a page view should not publish.
            let query: Arc<str> = Arc::from(req.query.as_str());
            let uploads = Uploads::new(&svc.upload_dir);
            let at = At {
                group: &req.group,
                conn: None,
                query: &query,
                uploads: &uploads,
            };
            let (mut state, mut comps, effects, _) = self.prepare(svc, &at).await?;
            let title = effects.title;
            if comps.is_idle() {
                // A page that embeds no component renders once, as it always did.
                let (html, embeds) = crate::component::plain_without_components(|| state.render_html());
                if !embeds {
                    return Ok(Rendered { html: html?, title });
                }
            }
            self.render_live(&mut state, &mut comps, svc, &at).await?;
            self.learn_targets(&comps);
            let html = comps.plain_html(|| state.render_html())?;
            Ok(Rendered { html, title })
        })
    }

    fn post<'a>(
        &'a self,
        svc: &'a Services,
        req: &'a Request,
        action: &'a str,
        data: Value,
    ) -> BoxFuture<'a, Result<Option<Navigation>>> {
        self.post_files(svc, req, action, data, Vec::new())
    }

    fn upload_configs<'a>(
        &'a self,
        svc: &'a Services,
        req: &'a Request,
    ) -> BoxFuture<'a, Result<Vec<(String, UploadConfig)>>> {
        Box::pin(async move {
            let query: Arc<str> = Arc::from(req.query.as_str());
            let uploads = Uploads::new(&svc.upload_dir);
            let at = At {
                group: &req.group,
                conn: None,
                query: &query,
                uploads: &uploads,
            };
            self.prepare(svc, &at).await?;
            Ok(uploads.configs())
        })
    }

    fn post_files<'a>(
        &'a self,
        svc: &'a Services,
        req: &'a Request,
        action: &'a str,
        data: Value,
        files: Vec<ReceivedFile>,
    ) -> BoxFuture<'a, Result<Option<Navigation>>> {
        Box::pin(async move {
            // Load, act and save as one step for the group's persisted fields.
            let slot = self.persist_slot(svc, &req.group);
            let mut saves = lock_slot(&slot).await;
            let query: Arc<str> = Arc::from(req.query.as_str());
            let uploads = Uploads::new(&svc.upload_dir);
            let at = At {
                group: &req.group,
                conn: None,
                query: &query,
                uploads: &uploads,
            };
            let (mut state, mut comps, _, held) = self.prepare(svc, &at).await?;
            // The files become entries of the uploads `mount` declared; whatever the action
            // does not consume is removed when it returns, whatever it returns.
            uploads.attach(files);
            let before = encode_persisted(&state);
            let (target, data) = take_target(data);
            let ran = async {
                match target {
                    Some(target) => {
                        // The instances as the page that held the form had them.
                        self.render_live(&mut state, &mut comps, svc, &at).await?;
                        let cid = comps.lookup(&target).ok_or_else(|| no_component(&target, &self.path))?;
                        comps.act(cid, action, data, &self.env(svc, &at), true).await?;
                        Ok(crate::context::Effects::default())
                    }
                    None => self.run_action(&mut state, action, data, &at, &svc.hub, true).await,
                }
            }
            .await;
            uploads.finish_post();
            let mut effects = match ran {
                Ok(effects) => effects,
                Err(err) => {
                    drop(saves);
                    return Err(self.failed_post(err, state, comps, &before, svc, &at).await);
                }
            };
            if !comps.is_idle() || !effects.to_parent.is_empty() {
                self.render_live(&mut state, &mut comps, svc, &at).await?;
            }
            comps.save(&self.env(svc, &at)).await?;
            effects.extend(std::mem::take(&mut comps.effects));
            comps.settle_quietly();
            self.learn_targets(&comps);
            let navigate = effects.navigate.take();
            let after = encode_persisted(&state);
            if persist(svc, &req.group, &self.path, &before, &after, &held, None).await?
                && let Some(saves) = saves.as_mut()
            {
                **saves += 1;
            }
            drop(saves);
            // Flash outlives the POST: the page the 303 leads to shows it.
            crate::flash::stash(&*svc.store, &req.group, &crate::flash::put(&effects.flash)).await;
            // As a browser after a frame: streams keep what their limit keeps.
            state.streams_limit();
            self.remember_posted(&req.group, state, comps, uploads);
            effects.apply(&svc.hub, None).await;
            Ok(navigate)
        })
    }

    fn connect(
        self: Arc<Self>,
        svc: Services,
        req: Request,
        conn: u64,
    ) -> BoxFuture<'static, Result<(Box<dyn LiveConnection>, String)>> {
        Box::pin(self.open_view(svc, req, conn, None))
    }

    fn arrive(
        self: Arc<Self>,
        svc: Services,
        req: Request,
        conn: u64,
        arrival: Arrival,
    ) -> BoxFuture<'static, Result<(Box<dyn LiveConnection>, String)>> {
        Box::pin(self.open_view(svc, req, conn, Some(arrival)))
    }
}

impl<C: Controller> Page<C> {
    /// Open a live view on connection `conn`: for a new connection (`arrival` none: the
    /// flash its GET showed is taken from the store) or a live navigation.
    async fn open_view(
        self: Arc<Self>,
        svc: Services,
        req: Request,
        conn: u64,
        arrival: Option<Arrival>,
    ) -> Result<(Box<dyn LiveConnection>, String)> {
        {
            let slot = self.persist_slot(&svc, &req.group);
            let query: Arc<str> = Arc::from(req.query.as_str());
            let uploads = Uploads::new(&svc.upload_dir);
            let at = At {
                group: &req.group,
                conn: Some(conn),
                query: &query,
                uploads: &uploads,
            };
            let Started {
                mut state,
                mut tree,
                held,
                seen,
                mut comps,
                title,
            } = self.start(&svc, &at, &slot, Components::default()).await?;
            let flash = match &arrival {
                Some(a) => a.flash.clone(),
                None => crate::flash::take_shown(&*svc.store, &req.group).await,
            };
            let reply_to = arrival.as_ref().and_then(|a| a.reply_to);
            let mut encoder = Encoder::new();
            let mut frame = if comps.is_idle() {
                encoder.first_frame(&tree, reply_to)
            } else {
                self.learn_targets(&comps);
                let changes = comps.changes(true);
                let entries = comps.frame_entries(&changes);
                encoder.component_frame(crate::diff::PagePart::Whole(&tree), &entries, reply_to, true)
            };
            match &arrival {
                Some(a) => {
                    frame.navigation(&Navigation::Navigate(a.url.clone()));
                    frame.title(title.as_deref().unwrap_or(&a.title));
                    frame.flash(&flash);
                }
                None => {
                    if let Some(title) = &title {
                        frame.title(title);
                    }
                    if !flash.is_empty() {
                        frame.flash(&flash);
                    }
                }
            }
            let first = frame.into_string();
            crate::view::streams_sent(&mut state, &mut tree, &mut encoder);
            comps.streams_sent(&mut encoder);
            let saved = encode_persisted(&state);
            let view = LiveView {
                page: self,
                svc,
                conn,
                group: req.group,
                state,
                tree,
                encoder,
                saved,
                held,
                slot,
                seen,
                query,
                closing: None,
                comps,
                uploads,
                title,
                flash,
                leaving: None,
            };
            Ok((Box::new(view) as Box<dyn LiveConnection>, first))
        }
    }
}

/// A live view's state as a connection starts it (see [`Page::start`]).
pub(crate) struct Started<S> {
    pub(crate) state: S,
    /// The state's render.
    pub(crate) tree: crate::tree::Tree,
    /// Persisted fields not to save.
    pub(crate) held: Held,
    /// The persist slot's count of saves when the fields were loaded.
    pub(crate) seen: u64,
    /// The page's component instances, rendered.
    pub(crate) comps: Components,
    /// The title `mount`, `handle_params` or `on_connect` set, if any.
    pub(crate) title: Option<String>,
}

impl<C: Controller> Page<C> {
    /// Start a live view's state for the connection in `at`, as a connection opening does:
    /// [`prepare`](Self::prepare) (the initial state, persisted fields loaded, `mount`,
    /// `handle_params` for `at`'s query) under the group's persist `slot`, then `on_connect`,
    /// their subscriptions and publishes applied for the connection, then the render. A live
    /// view that caught a panic starts again through this too, on the same connection.
    pub(crate) async fn start(
        &self,
        svc: &Services,
        at: &At<'_>,
        slot: &Option<Arc<PersistSlot>>,
        mut comps: Components,
    ) -> Result<Started<C::State>> {
        let saves = lock_slot(slot).await;
        let seen = saves.as_deref().copied().unwrap_or(0);
        let prepared = self.prepare(svc, at).await;
        drop(saves);
        let (mut state, posted, mut mount_effects, held) = prepared?;
        // A no-JS POST's instances, when the page starts from its state; cids go on from
        // the ones this connection gave before.
        comps.adopt(posted);
        let mut ctx = self.context("connect", Value::Null, at, &svc.hub);
        catch(self.controller.on_connect(&mut state, &mut ctx)).await?;
        let mut connect_effects = ctx.take_effects();
        let title = connect_effects.title.take().or(mount_effects.title.take());
        mount_effects.apply(&svc.hub, at.conn).await;
        connect_effects.apply(&svc.hub, at.conn).await;
        let tree = self.render_live(&mut state, &mut comps, svc, at).await?;
        comps.save(&self.env(svc, at)).await?;
        std::mem::take(&mut comps.effects).apply(&svc.hub, at.conn).await;
        Ok(Started {
            state,
            tree,
            held,
            seen,
            comps,
            title,
        })
    }
}

/// True when an `lvt-target` value names the page rather than a component instance.
pub(crate) fn is_page_target(target: &str) -> bool {
    target.is_empty() || target == "page"
}

/// Take the target instance id out of an action's data (the `lvt-target` form field, or the
/// client frame's `"t"`); `None` when it names the page.
pub(crate) fn take_target(mut data: Value) -> (Option<String>, Value) {
    let target = match &mut data {
        Value::Object(m) => match m.remove(TARGET_FIELD) {
            Some(Value::String(t)) => Some(t),
            Some(Value::Array(mut many)) => match many.pop() {
                Some(Value::String(t)) => Some(t),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    (target.filter(|t| !is_page_target(t)), data)
}

/// The error for an action aimed at an instance the page does not hold.
pub(crate) fn no_component(target: &str, page: &str) -> Error {
    Error::msg(format!("no component `{target}` on {page}"))
}

/// The message of an action that changed a persisted field the store could not give back
/// (unreachable when the page loaded it, or it refused to quarantine an unreadable value).
pub(crate) const NOT_LOADED: &str = "not saved: the session store could not be read; try again in a moment";

/// Save the persisted fields that differ between `before` and `after` (durably, each with
/// its shape record), then tell the group's other connections of the page (all but `except`)
/// to load them. Returns whether anything was saved.
///
/// # Errors
/// The store's error; or, when a `held` field (one whose stored value could not be read)
/// differs, [`NOT_LOADED`] without saving anything: neither overwriting the stored value nor
/// acknowledging a change the store does not hold.
pub(crate) async fn persist(
    svc: &Services,
    group: &GroupId,
    page: &str,
    before: &[(&'static str, Vec<u8>)],
    after: &[(&'static str, Vec<u8>)],
    held: &[&'static str],
    except: Option<u64>,
) -> Result<bool> {
    let differs = |name: &&str, bytes: &Vec<u8>| !before.iter().any(|(n, b)| n == name && b == bytes);
    if let Some((name, _)) = after
        .iter()
        .find(|(name, bytes)| held.contains(name) && differs(name, bytes))
    {
        // The field's stored value could not be read: saving would destroy it, and not
        // saving would acknowledge a change the store does not hold.
        tracing::warn!(
            page,
            field = name,
            "an action changed a persisted field whose stored value could not be read; the action fails"
        );
        return Err(Error::msg(NOT_LOADED));
    }
    let mut changed: Vec<(&str, Vec<u8>)> = after
        .iter()
        .filter(|(name, bytes)| differs(name, bytes))
        .map(|(name, bytes)| (*name, bytes.clone()))
        .collect();
    if changed.is_empty() {
        return Ok(false);
    }
    // Value and shape in one write: a store that applies it atomically (sled, memory) never
    // holds a value without the shape it was written with.
    let shapes = persist::shape_records(&changed);
    changed.extend(shapes.iter().map(|(k, v)| (k.as_str(), v.clone())));
    svc.store.save(group, page, &changed).await?;
    // Persisted fields belong to the group: its other tabs of this page show them too.
    svc.hub.reload_others(page, group, except);
    Ok(true)
}

/// An error frame answering `reply_to`. `message` is shown to the user: pass
/// [`Error::client_message`], never an internal error's own text.
#[doc(hidden)]
pub fn error_frame(reply_to: Option<u64>, message: &str) -> String {
    ServerFrame::error_frame(reply_to, message)
}

/// Run a future, turning a panic inside it into an error.
/// Run `f` (a template render), turning a panic into an error as [`catch`] does for actions:
/// a template that indexes out of bounds or a `Display` impl that panics fails that render,
/// never the connection's task or the server.
pub(crate) fn caught<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(panic_error(payload)))
}

fn panic_error(payload: Box<dyn std::any::Any + Send>) -> Error {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Error::panic(format!("panic in the page's code: {msg}"))
}

pub(crate) async fn catch<T>(fut: BoxFuture<'_, Result<T>>) -> Result<T> {
    CatchUnwind { fut }.await
}

struct CatchUnwind<'a, T> {
    fut: BoxFuture<'a, Result<T>>,
}

impl<T> Future for CatchUnwind<'_, T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let fut = &mut self.fut;
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(p) => p,
            // Logged where the error is answered (with its reference), not here.
            Err(payload) => Poll::Ready(Err(panic_error(payload))),
        }
    }
}
