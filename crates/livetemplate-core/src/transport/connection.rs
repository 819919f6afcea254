//! The loop that runs one live connection, whatever carries its frames: client frames in,
//! server frames out, the limits of [`Config`], and how the connection ends.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Notify, mpsc};

use crate::app::{App, Config};
use crate::hub::Push;
use crate::log_limit::LogLimit;
use crate::page::Request;
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
    let (push_tx, mut push_rx) = mpsc::channel(cfg.push_queue.max(1));
    let kill = Arc::new(Notify::new());
    let id = hub.register(Arc::from(req.path.as_str()), req.group.clone(), push_tx, kill.clone());
    let (mut conn, first) = match route.connect(app.services().clone(), req.clone(), id).await {
        Ok(c) => c,
        Err(err) => {
            hub.unregister(id);
            tracing::error!(page = %req.path, error = %err, "could not start a live view");
            return Closing::new(CLOSE_ERROR, "page failed to start");
        }
    };
    if let Err(closing) = send_frame(&outbound, first, cfg, &req.path).await {
        hub.unregister(id);
        conn.close().await;
        return closing;
    }
    let mut throttle = Throttle::new(cfg.rate_per_sec, cfg.rate_burst, cfg.flood_close_after);
    let closing = loop {
        let wait = throttle.delay(Instant::now());
        // `recv` on both channels is cancel-safe; the socket itself is read in another task.
        let reply = tokio::select! {
            biased;
            _ = kill.notified() => break Closing::new(CLOSE_POLICY, "client too slow"),
            // Over the rate: leave the client's frames unread until a token refills.
            () = tokio::time::sleep(wait), if !wait.is_zero() => None,
            text = inbound.recv(), if wait.is_zero() => {
                let Some(text) = text else {
                    break Closing::new(CLOSE_NORMAL, "");
                };
                if text.len() > cfg.max_frame_bytes {
                    break Closing::new(CLOSE_TOO_BIG, "frame too large");
                }
                if let Err(flood) = throttle.take(Instant::now()) {
                    flood.log(&req.path);
                    break Closing::new(CLOSE_POLICY, "message flood");
                }
                match parse_client_frame(&text) {
                    Ok(ClientFrame::Heartbeat) => Some(ServerFrame::heartbeat()),
                    Ok(ClientFrame::Action { action, data, reply_to }) => conn.handle(&action, data, reply_to).await,
                    Ok(ClientFrame::Params { url, reply_to }) => conn.params(&url, reply_to).await,
                    Err((reply_to, msg)) => Some(ServerFrame::error_frame(reply_to, &msg)),
                }
            }
            Some(push) = push_rx.recv() => match push {
                Push::Action { name, data } => conn.handle_push(&name, data).await,
                Push::Reload => conn.reload().await,
            },
        };
        if let Some(reply) = reply
            && let Err(closing) = send_frame(&outbound, reply, cfg, &req.path).await
        {
            break closing;
        }
        // The page panicked and could not be mounted again (1011).
        if let Some(closing) = conn.closing() {
            break closing;
        }
    };
    hub.unregister(id);
    conn.close().await;
    closing
}

/// Warnings about frames too large for the client, and clients too slow to read.
static OUTBOUND_LOG: LogLimit = LogLimit::new("frame over max_outbound_frame_bytes", 10);
static SLOW_LOG: LogLimit = LogLimit::new("client too slow to read", 10);

/// Queue `text` for the client: refused when over the outbound frame limit, waited on while
/// the queue is full (up to the slow-client timeout).
async fn send_frame(outbound: &mpsc::Sender<Outbound>, text: String, cfg: &Config, page: &str) -> Result<(), Closing> {
    let (size, limit) = (text.len(), cfg.max_outbound_frame_bytes);
    if size > limit {
        if OUTBOUND_LOG.allow() {
            tracing::warn!(
                page,
                size,
                limit,
                "a frame for the client is over max_outbound_frame_bytes; not sent, closing with 1009"
            );
        }
        return Err(Closing {
            code: CLOSE_TOO_BIG,
            reason: format!("page update too large ({size} bytes; the limit is {limit})"),
        });
    }
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
