//! The live view: a page running on one connection. It runs each action against its own
//! state, saves the persisted fields, renders, diffs against the tree the client holds, and
//! answers with a frame. After a panic it mounts the page again on the same connection.

use std::sync::Arc;

use serde_json::Value;

use crate::BoxFuture;
use crate::component::Components;
use crate::context::Navigation;
use crate::diff::{Encoder, PagePart};
use crate::error::{Error, Result};
use crate::flash::{self, Flash};
use crate::group::GroupId;
use crate::hub::PersistSlot;
use crate::page::{
    At, Held, INTERNAL_ERRORS_LOG, LiveConnection, Page, Run, Services, catch, encode_persisted, lock_slot,
    no_component, persist, query_of, take_target,
};
use crate::persist as persisted;
use crate::protocol::ServerFrame;
use crate::state::{Controller, LiveState};
use crate::transport::{CLOSE_ERROR, Closing};
use crate::tree::Tree;
use crate::upload::{ClientFile, Uploads};

/// A frame made from `tree` (the render of `state`) is on its way to the client: every
/// stream of `state` drops its pending operations, and `tree` becomes the copy without the
/// stream items that the next diff needs, so a connection holds no streamed item. The
/// encoder forgets which lists it knew to have unique keys (their places in the tree moved).
pub(crate) fn streams_sent<S: LiveState>(state: &mut S, tree: &mut Tree, encoder: &mut Encoder) {
    state.streams_sent();
    if let Some(kept) = tree.without_stream_items() {
        *tree = kept;
        encoder.forget_unique_lists();
    }
}

/// A page running on one connection.
pub(crate) struct LiveView<C: Controller> {
    pub(crate) page: Arc<Page<C>>,
    pub(crate) svc: Services,
    pub(crate) conn: u64,
    pub(crate) group: GroupId,
    pub(crate) state: C::State,
    pub(crate) tree: Tree,
    pub(crate) encoder: Encoder,
    pub(crate) saved: Vec<(&'static str, Vec<u8>)>,
    /// Persisted fields not to save (see [`Held`]).
    pub(crate) held: Held,
    /// The group's persist slot for this page, when it has persisted fields.
    pub(crate) slot: Option<Arc<PersistSlot>>,
    /// The slot's count of saves when this view last loaded or saved the fields.
    pub(crate) seen: u64,
    /// The query string of the page's URL: the WebSocket's, then the last `push_patch`'s.
    pub(crate) query: Arc<str>,
    /// Set when the page panicked and could not be mounted again: the connection closes.
    pub(crate) closing: Option<Closing>,
    /// The page's component instances.
    pub(crate) comps: Components,
    /// The view's uploads: their entries and temporary files.
    pub(crate) uploads: Uploads,
    /// The page's title as its state last set it (`ctx.set_title`).
    pub(crate) title: Option<String>,
    /// The group's flash as this page shows it.
    pub(crate) flash: Flash,
    /// Where the last step asked to navigate (`push_navigate`) and the flash it put.
    pub(crate) leaving: Option<(String, Flash)>,
}

impl<C: Controller> LiveView<C> {
    /// The frame made from `self.tree` is on its way: the state's streams drop their pending
    /// operations and the kept tree its stream items (see [`streams_sent`]).
    fn sent(&mut self) {
        streams_sent(&mut self.state, &mut self.tree, &mut self.encoder);
        self.comps.streams_sent(&mut self.encoder);
    }

    /// Load the persisted fields into this view's state; returns the fields not to save.
    async fn load(&mut self) -> Held {
        let svc = &self.svc;
        persisted::load(
            &mut self.state,
            &*svc.store,
            &svc.on_persist_error,
            &self.group,
            &self.page.path,
        )
        .await
    }

    /// Run an action and make the frame to send: the diff, or the error for the client.
    async fn respond(&mut self, run: Run<'_>, reply_to: Option<u64>) -> Option<String> {
        let action = match &run {
            Run::Action { name, .. } => *name,
            Run::Params => "handle_params",
        };
        let result = self.step(run, reply_to).await;
        if let Err(err) = &result
            && !err.is_panic()
        {
            // The store holds the last saved values: the state's persisted fields go back to
            // them, so the page never shows (nor a later save builds on) what was not saved.
            self.restore_saved();
        }
        match result {
            Ok(frame) => frame,
            Err(err) if err.is_panic() => self.recover(&err, action, reply_to).await,
            Err(err) if err.field_errors().is_some() => self.field_errors_frame(&err, reply_to).await,
            Err(err) if reply_to.is_none() => {
                // A pushed action (trigger, publish, presence): the page may not handle it,
                // or it failed; nobody is waiting for an answer.
                if err.is_unknown_action() {
                    tracing::debug!(page = %self.page.path, action, "pushed action not handled by this page");
                } else if err.is_internal() {
                    if INTERNAL_ERRORS_LOG.allow() {
                        tracing::error!(page = %self.page.path, action, error = %err, "pushed action failed");
                    }
                } else {
                    tracing::warn!(page = %self.page.path, action, error = %err, "pushed action failed");
                }
                None
            }
            Err(err) => {
                // The user reads the action's own message; an internal failure reaches them
                // only as a reference to this log line.
                if let Some(error_ref) = err.reference()
                    && INTERNAL_ERRORS_LOG.allow()
                {
                    tracing::error!(page = %self.page.path, action, error_ref, error = %err, "action failed");
                }
                Some(ServerFrame::error_frame(reply_to, &err.client_message()))
            }
        }
    }

    /// An action failed with [`FieldErrors`](crate::FieldErrors) (already put in the state's
    /// errors field, for the fields the user used): the diff of the state as the action left
    /// it (persisted fields back to their saved values), and the error (`e`) when it names a
    /// field; none used, the reply is a plain diff.
    async fn field_errors_frame(&mut self, err: &Error, reply_to: Option<u64>) -> Option<String> {
        let mut frame = match self.render_frame(reply_to).await {
            Ok(frame) => frame,
            Err(instead) => return instead,
        };
        if err.field_errors().is_some_and(|e| !e.is_empty()) {
            frame.error(&err.client_message());
        }
        frame.finish()
    }

    /// A new render of the state as it stands, as the frame bringing the client to it (the
    /// view keeps the tree; nothing is saved). `Err` holds what to send instead when the
    /// render failed: the error, or after a panic the page mounted again (`recover`).
    async fn render_frame(&mut self, reply_to: Option<u64>) -> Result<ServerFrame, Option<String>> {
        let at = At {
            group: &self.group,
            conn: Some(self.conn),
            query: &self.query,
            uploads: &self.uploads,
        };
        let rendered = self
            .page
            .render_live(&mut self.state, &mut self.comps, &self.svc, &at)
            .await;
        let tree = match rendered {
            Ok(tree) => tree,
            Err(err) if err.is_panic() => return Err(self.recover(&err, "render", reply_to).await),
            Err(err) => return Err(Some(ServerFrame::error_frame(reply_to, &err.client_message()))),
        };
        let frame = self.frame(Some(tree), reply_to);
        self.sent();
        Ok(frame)
    }

    /// The frame bringing the client to the page's new `tree` (`None`: the page did not
    /// render, only components did) and the components' changes; the view keeps the tree.
    fn frame(&mut self, tree: Option<Tree>, reply_to: Option<u64>) -> ServerFrame {
        if self.comps.is_idle()
            && let Some(tree) = tree
        {
            // A page without components: exactly as before they existed.
            let frame = self.encoder.diff(&self.tree, &tree, reply_to);
            self.tree = tree;
            return frame;
        }
        let changes = self.comps.changes(false);
        let entries = self.comps.frame_entries(&changes);
        let page = match &tree {
            Some(new) => PagePart::Diff(&self.tree, new),
            None => PagePart::Unchanged,
        };
        let frame = self.encoder.component_frame(page, &entries, reply_to, false);
        if let Some(tree) = tree {
            self.tree = tree;
        }
        frame
    }

    /// Put the persisted fields back to their last saved (or loaded) values, decoding the
    /// bytes in `saved` as a load does; fields not persisted keep what the step did. A field
    /// whose bytes cannot be decoded again (which would be a bug in its type's serde) keeps
    /// its value and is logged.
    fn restore_saved(&mut self) {
        for (name, bytes) in &self.saved {
            if matches!(self.state.encode_field(name), Some(Ok(now)) if now == *bytes) {
                continue;
            }
            if let Err(err) = self.state.decode_field(name, bytes) {
                tracing::error!(page = %self.page.path, field = name, error = %err, "a persisted field could not be put back to its saved value");
            }
        }
    }

    /// After a panic (in an action, `handle_params`, `on_connect` or a render) the state may
    /// be half changed, or one the template cannot render: drop it and mount the page again
    /// on this connection, as a new connection would (initial state, persisted fields from
    /// the store, `mount`, `handle_params` for the current URL, `on_connect`). The frame
    /// carries the whole new tree (`t`), replacing the client's, and, answering `reply_to`,
    /// the generic internal error (`e`). When mounting again fails too, the connection closes
    /// (1011) after the error frame, and the browser's reconnect mounts from scratch.
    async fn recover(&mut self, err: &Error, action: &str, reply_to: Option<u64>) -> Option<String> {
        let error_ref = err.reference();
        if INTERNAL_ERRORS_LOG.allow() {
            tracing::error!(page = %self.page.path, action, error_ref, error = %err, "page panicked; mounting it again");
        }
        let at = At {
            group: &self.group,
            conn: Some(self.conn),
            query: &self.query,
            uploads: &self.uploads,
        };
        // The instances go with the state; the client drops them on the `"t"` frame.
        let mut comps = std::mem::take(&mut self.comps);
        comps.clear();
        match self.page.start(&self.svc, &at, &self.slot, comps).await {
            Ok(started) => {
                self.saved = encode_persisted(&started.state);
                self.state = started.state;
                self.held = started.held;
                self.seen = started.seen;
                self.tree = started.tree;
                self.comps = started.comps;
                let mut frame = if self.comps.is_idle() {
                    self.encoder.tree_frame(&self.tree, reply_to)
                } else {
                    let changes = self.comps.changes(true);
                    let entries = self.comps.frame_entries(&changes);
                    self.encoder
                        .component_frame(PagePart::Whole(&self.tree), &entries, reply_to, false)
                };
                if reply_to.is_some() {
                    frame.error(&err.client_message());
                }
                self.sent();
                frame.finish()
            }
            Err(again) => {
                tracing::error!(
                    page = %self.page.path,
                    error_ref,
                    error = %again,
                    "the page could not be mounted again after a panic; closing the connection (1011)"
                );
                self.closing = Some(Closing::new(CLOSE_ERROR, "page failed to restart"));
                reply_to.map(|_| ServerFrame::error_frame(reply_to, &err.client_message()))
            }
        }
    }

    async fn step(&mut self, run: Run<'_>, reply_to: Option<u64>) -> Result<Option<String>> {
        // Load, act and save as one step for the group's persisted fields: another tab's
        // save since this view last looked is loaded first, so this action builds on it.
        let slot = self.slot.clone();
        let mut saves = lock_slot(&slot).await;
        // Fields held back (their stored value could not be kept aside) are loaded again too:
        // the store may take the quarantine copy now.
        if let Some(count) = saves.as_deref().copied()
            && (count != self.seen || !self.held.is_empty())
        {
            self.held = self.load().await;
            self.saved = encode_persisted(&self.state);
            self.seen = count;
        }
        // No copy of the state: a step that fails (the action, `handle_params`, the render, the
        // save) answers the error and changes neither the client's tree nor the store; its
        // persisted fields go back to their saved values (`restore_saved`), the others keep
        // what ran before an `Err`, and a panic mounts the page again (`recover`; see
        // `docs/architecture.md`, "Pages and connections").
        let at = At {
            group: &self.group,
            conn: Some(self.conn),
            query: &self.query,
            uploads: &self.uploads,
        };
        // A component's action renders only that instance (and what its messages reach).
        let mut page_runs = true;
        let mut effects = match run {
            Run::Action {
                name,
                data,
                from_client,
            } => match take_target(data) {
                (Some(target), data) => {
                    let env = self.page.env(&self.svc, &at);
                    let cid = self
                        .comps
                        .lookup(&target)
                        .ok_or_else(|| no_component(&target, &self.page.path))?;
                    self.comps.act(cid, name, data, &env, from_client).await?;
                    page_runs = false;
                    crate::context::Effects::default()
                }
                (None, data) => {
                    self.page
                        .run_action(&mut self.state, name, data, &at, &self.svc.hub, from_client)
                        .await?
                }
            },
            Run::Params => self.page.run_params(&mut self.state, &at, &self.svc.hub).await?,
        };
        if let Some(Navigation::Patch(url)) = &effects.navigate {
            // The browser's URL changes: `handle_params` runs for it, and later actions see
            // its query.
            self.query = query_of(url);
            let at = At {
                group: &self.group,
                conn: Some(self.conn),
                query: &self.query,
                uploads: &self.uploads,
            };
            effects.extend(self.page.run_params(&mut self.state, &at, &self.svc.hub).await?);
        }
        let at = At {
            group: &self.group,
            conn: Some(self.conn),
            query: &self.query,
            uploads: &self.uploads,
        };
        let tree = if page_runs {
            Some(
                self.page
                    .render_live(&mut self.state, &mut self.comps, &self.svc, &at)
                    .await?,
            )
        } else {
            self.page
                .deliver(&mut self.state, &mut self.comps, &self.svc, &at)
                .await?
        };
        self.comps.save(&self.page.env(&self.svc, &at)).await?;
        effects.extend(std::mem::take(&mut self.comps.effects));
        let after = encode_persisted(&self.state);
        match persist(
            &self.svc,
            &self.group,
            &self.page.path,
            &self.saved,
            &after,
            &self.held,
            Some(self.conn),
        )
        .await
        {
            Ok(true) => {
                self.saved = after;
                if let Some(count) = saves.as_mut() {
                    **count += 1;
                    self.seen = **count;
                }
            }
            Ok(false) => {}
            Err(err) => return Err(err),
        }
        let navigate = effects.navigate.take();
        let events = std::mem::take(&mut effects.events);
        let shown = (effects.title.take(), std::mem::take(&mut effects.flash));
        // Queued publishes go out only now: the action succeeded and its state is durable.
        effects.apply(&self.svc.hub, Some(self.conn)).await;
        let mut frame = self.frame(tree, reply_to);
        self.sent();
        self.title_and_flash(&mut frame, shown.0, &shown.1, navigate.as_ref())
            .await;
        match navigate {
            // The connection swaps the page and answers with the new one's frame.
            Some(Navigation::Navigate(url)) => self.leaving = Some((url, flash::put(&shown.1))),
            Some(nav) => frame.navigation(&nav),
            None => {}
        }
        frame.events(&events);
        Ok(frame.finish())
    }

    /// Add the title and flash a step set to its frame (each when it changed); a redirect's
    /// flash is kept in the store for the page it loads.
    async fn title_and_flash(
        &mut self,
        frame: &mut ServerFrame,
        title: Option<String>,
        ops: &[(String, Option<String>)],
        nav: Option<&Navigation>,
    ) {
        if let Some(title) = title
            && self.title.as_ref() != Some(&title)
        {
            frame.title(&title);
            self.title = Some(title);
        }
        if matches!(nav, Some(Navigation::Redirect(_))) {
            flash::stash(&*self.svc.store, &self.group, &flash::put(ops)).await;
        }
        if flash::apply(&mut self.flash, ops) && !matches!(nav, Some(Navigation::Navigate(_))) {
            frame.flash(&self.flash);
        }
    }

    /// `lvt:clear_flash` (`{"kind": "info"}`): the user dismissed a flash.
    fn clear_flash(&mut self, data: &Value, reply_to: Option<u64>) -> Option<String> {
        let kind = data.get("kind").and_then(Value::as_str).unwrap_or_default();
        let mut frame = ServerFrame::new();
        frame.reply(reply_to);
        if self.flash.remove(kind).is_some() {
            frame.flash(&self.flash);
        }
        frame.finish()
    }
}

/// The event that tells the client about its uploads: which files it may send
/// (`{"u": name, "ok": [[key, id], …], "c": chunk_size, "auto": bool}`) or which entry to stop
/// sending (`{"stop": id}`).
const UPLOAD_EVENT: &str = "lvt:upload";

impl<C: Controller> LiveView<C> {
    /// The frame after the uploads changed (no action ran, nothing to persist): the diff of a
    /// new render, `events`, and `error` when there is one.
    async fn upload_frame(
        &mut self,
        reply_to: Option<u64>,
        events: &[(String, Value)],
        error: Option<&str>,
    ) -> Option<String> {
        let mut frame = match self.render_frame(reply_to).await {
            Ok(frame) => frame,
            Err(instead) => return instead,
        };
        frame.events(events);
        if let Some(error) = error {
            frame.error(error);
        }
        frame.finish()
    }

    /// The client's own upload messages: `lvt:upload` (files chosen: `{"name", "files":
    /// [{"k", "name", "size", "type"}]}`) and `lvt:cancel_upload` (`{"name", "ref"}`).
    async fn upload_message(&mut self, action: &str, data: Value, reply_to: Option<u64>) -> Option<String> {
        let name = data.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let result = match action {
            "lvt:upload" => {
                let files = data
                    .get("files")
                    .cloned()
                    .map(serde_json::from_value::<Vec<ClientFile>>)
                    .unwrap_or_else(|| Ok(Vec::new()));
                match files {
                    Err(err) => Err(Error::msg(format!("malformed upload message: {err}"))),
                    Ok(files) => self.uploads.preflight(&name, files).await.map(|ok| {
                        let config = self.uploads.get(&name).map(|u| u.config()).unwrap_or_default();
                        let ok: Vec<Value> = ok.into_iter().map(|(k, id)| serde_json::json!([k, id])).collect();
                        vec![(
                            UPLOAD_EVENT.to_string(),
                            serde_json::json!({"u": name, "ok": ok, "c": config.chunk_size, "auto": config.auto_upload}),
                        )]
                    }),
                }
            }
            "lvt:cancel_upload" => {
                let id = match data.get("ref") {
                    Some(Value::Number(n)) => n.as_u64(),
                    Some(Value::String(s)) => s.trim().parse().ok(),
                    _ => None,
                };
                match id.and_then(|id| u32::try_from(id).ok()) {
                    Some(id) => self
                        .uploads
                        .cancel(&name, id)
                        .map(|()| vec![(UPLOAD_EVENT.to_string(), serde_json::json!({"stop": id}))]),
                    None => Err(Error::msg("cancel_upload needs the entry's `ref`")),
                }
            }
            other => {
                let known = ["lvt:upload", "lvt:cancel_upload"];
                Err(Error::unknown_action(other, &self.page.path, &known))
            }
        };
        match result {
            Ok(events) => self.upload_frame(reply_to, &events, None).await,
            Err(err) => Some(ServerFrame::error_frame(reply_to, &err.client_message())),
        }
    }
}

impl<C: Controller> LiveConnection for LiveView<C> {
    fn upload_chunk<'a>(&'a mut self, id: u32, bytes: &'a [u8], reply_to: u64) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let r = Some(reply_to);
            if !self.uploads.issued(id) {
                // Bytes for an entry this connection never announced: not a slip of a
                // well-behaved client.
                self.closing = Some(Closing::new(crate::transport::CLOSE_POLICY, "unknown upload entry"));
                return Some(ServerFrame::error_frame(r, "unknown upload entry"));
            }
            match self.uploads.chunk(id, bytes).await {
                Ok(chunked) if chunked.progressed => self.upload_frame(r, &[], None).await,
                Ok(_) => ServerFrame::ack(r),
                // Cancelled (by the user, or the page): the client stops sending it.
                Err(_) if !self.uploads.has_entry(id) => {
                    let stop = [(UPLOAD_EVENT.to_string(), serde_json::json!({"stop": id}))];
                    self.upload_frame(r, &stop, None).await
                }
                Err(err) => {
                    let stop = [(UPLOAD_EVENT.to_string(), serde_json::json!({"stop": id}))];
                    self.upload_frame(r, &stop, Some(&err.client_message())).await
                }
            }
        })
    }

    fn handle<'a>(&'a mut self, action: &'a str, data: Value, reply_to: Option<u64>) -> BoxFuture<'a, Option<String>> {
        if action == flash::CLEAR_ACTION {
            let frame = self.clear_flash(&data, reply_to);
            return Box::pin(async move { frame });
        }
        if action.starts_with("lvt:") {
            return Box::pin(self.upload_message(action, data, reply_to));
        }
        let run = Run::Action {
            name: action,
            data,
            from_client: true,
        };
        Box::pin(self.respond(run, reply_to))
    }

    fn handle_push<'a>(&'a mut self, action: &'a str, data: Value) -> BoxFuture<'a, Option<String>> {
        let run = Run::Action {
            name: action,
            data,
            from_client: false,
        };
        Box::pin(self.respond(run, None))
    }

    fn params<'a>(&'a mut self, url: &'a str, reply_to: Option<u64>) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            self.query = query_of(url);
            self.respond(Run::Params, reply_to).await
        })
    }

    fn reload(&mut self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async move {
            let slot = self.slot.clone();
            let saves = lock_slot(&slot).await;
            self.held = self.load().await;
            self.saved = encode_persisted(&self.state);
            if let Some(count) = saves.as_deref() {
                self.seen = *count;
            }
            drop(saves);
            let at = At {
                group: &self.group,
                conn: Some(self.conn),
                query: &self.query,
                uploads: &self.uploads,
            };
            // The instances' persisted fields too: another tab may have saved one of them.
            self.comps.reload(&self.page.env(&self.svc, &at)).await;
            let rendered = self
                .page
                .render_live(&mut self.state, &mut self.comps, &self.svc, &at)
                .await;
            let tree = match rendered {
                Ok(t) => t,
                Err(err) if err.is_panic() => return self.recover(&err, "reload", None).await,
                Err(err) => {
                    tracing::warn!(page = %self.page.path, error = %err, "render after reload failed");
                    return None;
                }
            };
            let frame = self.frame(Some(tree), None).finish();
            self.sent();
            frame
        })
    }

    fn closing(&self) -> Option<Closing> {
        self.closing.clone()
    }

    fn take_navigate(&mut self) -> Option<(String, Flash)> {
        self.leaving.take()
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let mut this = self;
            // Whatever did not arrive or was not consumed goes with the connection.
            this.uploads.clear();
            let at = At {
                group: &this.group,
                conn: Some(this.conn),
                query: &this.query,
                uploads: &this.uploads,
            };
            let mut ctx = this.page.context("disconnect", Value::Null, &at, &this.svc.hub);
            let page = this.page.clone();
            if let Err(err) = catch(page.controller.on_disconnect(&mut this.state, &mut ctx)).await {
                if err.is_internal() {
                    tracing::error!(page = %page.path, error = %err, "on_disconnect failed");
                } else {
                    tracing::warn!(page = %page.path, error = %err, "on_disconnect failed");
                }
            }
        })
    }
}
