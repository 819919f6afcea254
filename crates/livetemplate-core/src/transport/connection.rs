//! The loop that runs one live connection, whatever carries its frames: client frames in,
//! server frames out, the limits of [`Config`], and how the connection ends.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Notify, mpsc};

use crate::app::{App, Config};
use crate::flash::Flash;
use crate::group::GroupId;
use crate::hub::Push;
use crate::log_limit::LogLimit;
use crate::page::{Arrival, LiveConnection, Request};
use crate::protocol::{ClientFrame, ServerFrame, parse_client_frame};
use crate::throttle::Throttle;

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
    /// A close with `code` and `reason`.
    ///
    /// ```
    /// # mod livetemplate { pub mod testing { pub use livetemplate_core::transport::Closing; } }
    /// use livetemplate::testing::Closing;
    /// let c = Closing::new(1008, "message flood");
    /// assert_eq!((c.code, c.reason.as_str()), (1008, "message flood"));
    /// ```
    pub fn new(code: u16, reason: &str) -> Self {
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
/// Close code: protocol error (bad framing, an unmasked client frame).
pub const CLOSE_PROTOCOL: u16 = 1002;
/// Close code: a data type the server does not accept (binary frames).
pub const CLOSE_UNSUPPORTED: u16 = 1003;
/// Close code: a text message that is not UTF-8.
pub const CLOSE_BAD_DATA: u16 = 1007;

/// One live connection of a page, for a transport that drives it from its own loop: the
/// page's view, its registration with the hub (pushes and the slow-client kill switch), and
/// the frame limits of [`Config`]. [`run_connection`] is this driven over channels.
///
/// A transport opens it ([`open`](Self::open), which also gives the first frame), hands it
/// each client text message ([`on_message`](Self::on_message)), waits for server pushes
/// ([`next_push`](Self::next_push), cancel-safe, so it can sit in a `select!` beside the
/// socket) and runs them ([`on_push`](Self::on_push)), writes every frame it is given, and
/// calls [`close`](Self::close) at the end. A method that returns `Err(Closing)` means the
/// connection must close with that code and reason. The transport enforces the client's rate
/// itself (see [`Throttle`]), since it sees every frame.
///
/// ```no_run
/// # async fn demo(app: std::sync::Arc<livetemplate_core::App>, req: livetemplate_core::Request) {
/// use livetemplate_core::transport::Connection;
/// let (mut conn, first) = match Connection::open(app, req).await {
///     Ok(pair) => pair,
///     Err(closing) => return, // send the close frame `closing`
/// };
/// // write `first`; then for each client message:
/// match conn.on_message(r#"{"a":"increment","r":1}"#).await {
///     Ok(Some(reply)) => { /* write `reply` */ }
///     Ok(None) => {}
///     Err(closing) => { /* close with `closing` */ }
/// }
/// conn.close().await;
/// # }
/// ```
pub struct Connection {
    view: Box<dyn LiveConnection>,
    app: Arc<App>,
    id: u64,
    pushes: mpsc::Receiver<Box<Push>>,
    kill: Arc<Notify>,
    path: String,
    group: GroupId,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("page", &self.path)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Something the server has for a connection (see [`Connection::next_push`]).
#[derive(Debug)]
pub struct Pushed(PushedKind);

impl Pushed {
    /// The action this push runs (`presence` for a presence change, `lvt:reload` for a
    /// reload of persisted fields); `None` when the hub ordered the connection closed.
    pub fn action(&self) -> Option<&str> {
        match &self.0 {
            PushedKind::Push(push) => match &**push {
                Push::Action { name, .. } => Some(name),
                Push::Reload => Some(crate::hub::GROUP_RELOAD),
            },
            PushedKind::Kill => None,
        }
    }
}

#[derive(Debug)]
enum PushedKind {
    Push(Box<Push>),
    /// The hub found the connection's push queue full: close it as too slow.
    Kill,
}

impl Connection {
    /// Start the page's live view for `req` (state, `mount`, persisted fields, the first
    /// render) and register it with the hub. Returns it with its first frame, or how to close
    /// when there is no such page (1008), the page failed to start (1011) or the first frame
    /// is over `max_outbound_frame_bytes` (1009).
    pub async fn open(app: Arc<App>, req: Request) -> Result<(Connection, String), Closing> {
        let Some(route) = app.route(&req.path).cloned() else {
            return Err(Closing::new(CLOSE_POLICY, "no such page"));
        };
        let cfg = app.config();
        let hub = app.hub().clone();
        let (push_tx, pushes) = mpsc::channel(cfg.push_queue.max(1));
        let kill = Arc::new(Notify::new());
        let id = hub.register(Arc::from(req.path.as_str()), req.group.clone(), push_tx, kill.clone());
        let path = req.path.clone();
        let group = req.group.clone();
        let (view, first) = match route.connect(app.services().clone(), req, id).await {
            Ok(c) => c,
            Err(err) => {
                hub.unregister(id);
                tracing::error!(page = %path, error = %err, "could not start a live view");
                return Err(Closing::new(CLOSE_ERROR, "page failed to start"));
            }
        };
        let conn = Connection {
            view,
            app,
            id,
            pushes,
            kill,
            path,
            group,
        };
        match conn.checked(first) {
            Ok(first) => Ok((conn, first)),
            Err(closing) => {
                conn.close().await;
                Err(closing)
            }
        }
    }

    /// The page's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Set once the connection cannot go on: its page panicked and could not be mounted
    /// again. The transport sends the frame [`on_message`](Connection::on_message) or
    /// [`on_push`](Connection::on_push) returned, then closes with this (1011).
    pub fn closing(&self) -> Option<Closing> {
        self.view.closing()
    }

    /// Handle one client text message: an action, a heartbeat, a params frame, or a
    /// malformed frame (answered with an error frame; the connection stays). Returns the frame
    /// to send, if any; `Err` for a message over `max_frame_bytes` (1009) or a frame for the
    /// client over `max_outbound_frame_bytes` (1009, not sent, logged).
    pub async fn on_message(&mut self, text: &str) -> Result<Option<String>, Closing> {
        if text.len() > self.app.config().max_frame_bytes {
            return Err(Closing::new(CLOSE_TOO_BIG, "frame too large"));
        }
        let reply = match parse_client_frame(text) {
            Ok(ClientFrame::Heartbeat) => Some(ServerFrame::heartbeat()),
            Ok(ClientFrame::Action { action, data, reply_to }) => {
                let reply = self.view.handle(&action, data, reply_to).await;
                self.after_step(reply, reply_to).await
            }
            Ok(ClientFrame::Params { url, reply_to }) => {
                let reply = self.view.params(&url, reply_to).await;
                self.after_step(reply, reply_to).await
            }
            Ok(ClientFrame::Navigate { url, reply_to }) => Some(self.navigate(&url, reply_to, Flash::new()).await),
            Err((reply_to, msg)) => Some(ServerFrame::error_frame(reply_to, &msg)),
        };
        reply.map(|r| self.checked(r)).transpose()
    }

    /// Handle one client binary message: a chunk of an upload, `[ref: u32 BE][entry id: u32
    /// BE][bytes]` (see "Uploads" in `docs/protocol.md`). Returns the acknowledgement (with
    /// the diff when the entry's progress changed, an error when the chunk broke its entry's
    /// limits). `Err` for a message over `max_frame_bytes` (1009) or without its 8-byte header
    /// (1003); bytes for an entry this connection never announced close it with 1008 (see
    /// [`closing`](Self::closing)).
    pub async fn on_binary(&mut self, bytes: &[u8]) -> Result<Option<String>, Closing> {
        if bytes.len() > self.app.config().max_frame_bytes {
            return Err(Closing::new(CLOSE_TOO_BIG, "frame too large"));
        }
        let (Some(r), Some(id)) = (be_u32(bytes, 0), be_u32(bytes, 4)) else {
            return Err(Closing::new(CLOSE_UNSUPPORTED, "binary frames are upload chunks"));
        };
        let reply = self.view.upload_chunk(id, &bytes[8..], u64::from(r)).await;
        reply.map(|r| self.checked(r)).transpose()
    }

    /// Wait for the server's next push for this connection (a triggered action, a publish, a
    /// presence change, a reload of persisted fields, or the hub's order to close it).
    /// Cancel-safe: nothing is lost when the future is dropped before it completes.
    pub async fn next_push(&mut self) -> Pushed {
        tokio::select! {
            biased;
            () = self.kill.notified() => Pushed(PushedKind::Kill),
            push = self.pushes.recv() => match push {
                Some(push) => Pushed(PushedKind::Push(push)),
                // The hub holds the sender while the connection is registered.
                None => Pushed(PushedKind::Kill),
            },
        }
    }

    /// Run a push: the frame to send when something changed; `Err` when the hub ordered the
    /// connection closed (1008 `client too slow`) or the frame is over the outbound limit.
    pub async fn on_push(&mut self, pushed: Pushed) -> Result<Option<String>, Closing> {
        let push = match pushed.0 {
            PushedKind::Kill => return Err(Closing::new(CLOSE_POLICY, "client too slow")),
            PushedKind::Push(push) => *push,
        };
        let reply = match push {
            Push::Action { name, data } => {
                let reply = self.view.handle_push(&name, data).await;
                self.after_step(reply, None).await
            }
            Push::Reload => self.view.reload().await,
        };
        reply.map(|r| self.checked(r)).transpose()
    }

    /// The reply to a step, or, when the step asked to navigate (`push_navigate`), the new
    /// page's frame answering the same ref (the old page's diff is moot).
    async fn after_step(&mut self, reply: Option<String>, reply_to: Option<u64>) -> Option<String> {
        match self.view.take_navigate() {
            Some((url, flash)) => Some(self.navigate(&url, reply_to, flash).await),
            None => reply,
        }
    }

    /// Move this connection to the page at `url` (a live navigation): when it is a page of
    /// the app with the same layout as the current one, the new page is mounted on a new hub
    /// registration first; then the old page's registration ends (its subscriptions and
    /// presence go) and its `on_disconnect` runs; the answer is the new page's first frame
    /// (`navigate`, `title`, `flash`). Any other URL is answered with `redirect` (the client
    /// loads it; `flash` is kept for that page). When the new page fails to mount, the old
    /// one stays and the answer is an error frame.
    async fn navigate(&mut self, url: &str, reply_to: Option<u64>, flash: Flash) -> String {
        let target = url.split('#').next().unwrap_or("");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if !path.starts_with('/') || path.starts_with("//") || url.chars().any(char::is_control) {
            return ServerFrame::error_frame(reply_to, "navigation needs a path of this app");
        }
        let app = self.app.clone();
        let route = match app.route(path) {
            Some(route) if app.layout_of(path) == app.layout_of(&self.path) => route.clone(),
            _ => {
                // A document load: the flash waits in the store for the page's GET.
                crate::flash::stash(&**app.store(), &self.group, &flash).await;
                let mut frame = ServerFrame::new();
                frame.reply(reply_to);
                frame.navigation(&crate::context::Navigation::Redirect(url.to_string()));
                return frame.into_string();
            }
        };
        let hub = app.hub().clone();
        let (push_tx, pushes) = mpsc::channel(app.config().push_queue.max(1));
        let kill = Arc::new(Notify::new());
        let id = hub.register(Arc::from(path), self.group.clone(), push_tx, kill.clone());
        let req = Request {
            path: path.to_string(),
            query: query.to_string(),
            group: self.group.clone(),
        };
        let arrival = Arrival {
            url: url.to_string(),
            reply_to,
            flash,
            title: app.page_title(path).to_string(),
        };
        let (view, first) = match route.arrive(app.services().clone(), req, id, arrival).await {
            Ok(pair) => pair,
            Err(err) => {
                hub.unregister(id);
                if let Some(error_ref) = err.reference() {
                    tracing::error!(page = %path, error_ref, error = %err, "live navigation: the page failed to mount");
                }
                return ServerFrame::error_frame(reply_to, &err.client_message());
            }
        };
        let old = std::mem::replace(&mut self.view, view);
        let old_id = std::mem::replace(&mut self.id, id);
        self.pushes = pushes;
        self.kill = kill;
        self.path = path.to_string();
        hub.unregister(old_id);
        old.close().await;
        first
    }

    /// Unregister from the hub and run the page's `on_disconnect`.
    pub async fn close(self) {
        self.app.hub().unregister(self.id);
        self.view.close().await;
    }

    /// `frame`, unless it is over the outbound frame limit.
    fn checked(&self, frame: String) -> Result<String, Closing> {
        let (size, limit) = (frame.len(), self.app.config().max_outbound_frame_bytes);
        if size <= limit {
            return Ok(frame);
        }
        if OUTBOUND_LOG.allow() {
            tracing::warn!(
                page = %self.path,
                size,
                limit,
                "a frame for the client is over max_outbound_frame_bytes; not sent, closing with 1009"
            );
        }
        Err(Closing {
            code: CLOSE_TOO_BIG,
            reason: format!("page update too large ({size} bytes; the limit is {limit})"),
        })
    }
}

/// Run one live connection: read client frames from `inbound` until it closes, answer on
/// `outbound`. Returns how the connection should be closed.
///
/// The transport reads frames in its own task and forwards text frames here; when the
/// socket closes it drops the sender. Limits, all from [`Config`]:
/// - Past the rate (`rate_per_sec`, `rate_burst`) the loop stops taking frames from `inbound`
///   until a token refills, so the transport's bounded queue fills and its reader stops too:
///   the client is slowed down and every frame is still applied, in order. Only a client
///   that keeps the throttle engaged for longer than `flood_close_after` is closed (1008,
///   `message flood`); see [`Throttle`].
/// - A frame over `max_frame_bytes` closes with 1009.
/// - A frame for the client over `max_outbound_frame_bytes` is not sent: the connection
///   closes with 1009 and a reason saying so (the server logs page, size and limit).
/// - A full `outbound` queue is waited on for up to `slow_client_timeout`, then the client
///   counts as too slow (1008). Server pushes wait in a queue of `push_queue` (see
///   [`Hub::trigger`](crate::hub::Hub::trigger)).
///
/// A transport that runs each socket in one task drives a [`Connection`] instead.
pub async fn run_connection(
    app: Arc<App>,
    req: Request,
    inbound: mpsc::Receiver<String>,
    outbound: mpsc::Sender<Outbound>,
) -> Closing {
    run_connection_noting(app, req, inbound, outbound, None).await
}

/// [`run_connection`], also telling `noted` what caused each frame it sends after the first,
/// just before sending it: `Some(action)` for a server push (see [`Pushed::action`]), `None`
/// for an answer to the client. `TestPage` uses it to sort pushed frames by kind.
#[doc(hidden)]
pub async fn run_connection_noting(
    app: Arc<App>,
    req: Request,
    mut inbound: mpsc::Receiver<String>,
    outbound: mpsc::Sender<Outbound>,
    noted: Option<mpsc::UnboundedSender<Option<String>>>,
) -> Closing {
    let cfg = app.config().clone();
    let (mut conn, first) = match Connection::open(app, req).await {
        Ok(pair) => pair,
        Err(closing) => return closing,
    };
    if let Err(closing) = send_frame(&outbound, first, &cfg, conn.path()).await {
        conn.close().await;
        return closing;
    }
    let mut throttle = Throttle::new(cfg.rate_per_sec, cfg.rate_burst, cfg.flood_close_after);
    let closing = loop {
        let wait = throttle.delay(Instant::now());
        // `recv` and `next_push` are cancel-safe; the socket itself is read in another task.
        let mut cause = None;
        let reply = tokio::select! {
            biased;
            // Over the rate: leave the client's frames unread until a token refills.
            () = tokio::time::sleep(wait), if !wait.is_zero() => Ok(None),
            text = inbound.recv(), if wait.is_zero() => {
                let Some(text) = text else {
                    break Closing::new(CLOSE_NORMAL, "");
                };
                if text.len() > cfg.max_frame_bytes {
                    break Closing::new(CLOSE_TOO_BIG, "frame too large");
                }
                if let Err(flood) = throttle.take(Instant::now()) {
                    flood.log(conn.path());
                    break Closing::new(CLOSE_POLICY, "message flood");
                }
                conn.on_message(&text).await
            }
            pushed = conn.next_push() => {
                cause = pushed.action().map(str::to_string);
                conn.on_push(pushed).await
            }
        };
        let sent = match reply {
            Ok(Some(reply)) => {
                if let Some(noted) = &noted {
                    let _ = noted.send(cause);
                }
                send_frame(&outbound, reply, &cfg, conn.path()).await
            }
            Ok(None) => Ok(()),
            Err(closing) => Err(closing),
        };
        if let Err(closing) = sent {
            break closing;
        }
        // The page panicked and could not be mounted again (1011).
        if let Some(closing) = conn.closing() {
            break closing;
        }
    };
    conn.close().await;
    closing
}

/// Warnings about frames too large for the client, and clients too slow to read.
static OUTBOUND_LOG: LogLimit = LogLimit::new("frame over max_outbound_frame_bytes", 10);
static SLOW_LOG: LogLimit = LogLimit::new("client too slow to read", 10);

/// Queue `text` for the client, waiting while the queue is full (up to the slow-client
/// timeout).
async fn send_frame(outbound: &mpsc::Sender<Outbound>, text: String, cfg: &Config, page: &str) -> Result<(), Closing> {
    match outbound
        .send_timeout(Outbound::Text(text), cfg.slow_client_timeout)
        .await
    {
        Ok(()) => Ok(()),
        Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
            if SLOW_LOG.allow() {
                tracing::warn!(page, "client too slow to read its frames; closing with 1008");
            }
            Err(Closing::new(CLOSE_POLICY, "client too slow"))
        }
        // The transport has stopped writing: nobody will read a close frame.
        Err(mpsc::error::SendTimeoutError::Closed(_)) => Err(Closing::new(CLOSE_NORMAL, "")),
    }
}

/// The big-endian `u32` at `at` in `bytes`, when there are four bytes there.
fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}
