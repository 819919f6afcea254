//! One live WebSocket: a reader task, a writer task, and the connection loop of the core
//! ([`run_connection`]) between them.
//!
//! ```text
//!  socket ─▶ reader task ──text──▶ run_connection ──Outbound──▶ writer task ─▶ socket
//!              │  (pong, close echo, close codes 1002/1003/1007/1008/1009)   ▲
//!              └────────────────────── control ──────────────────────────────┘
//! ```
//!
//! The reader is where every frame is read, so it is where the client's rate is enforced:
//! before each frame it waits for a token of the connection's [`Throttle`] (pings, pongs and
//! close frames count like messages; pings are answered here, not by fastwebsockets'
//! auto-pong, which would answer them unseen). While it waits, nothing is read: the kernel's
//! buffers fill and TCP slows the client down. Only a client that keeps the throttle engaged
//! for longer than `Config::flood_close_after` is closed, with 1008 `message flood`.
//!
//! A client that stops reading cannot be sent a close frame once its TCP window is full:
//! a write that makes no progress for 10 s (`WRITE_TIMEOUT`) ends the writer and the socket
//! is dropped without one (browsers report 1006). A client that reads slowly but still reads
//! gets 1008 `client too slow` when its outbound queue stays full for
//! `Config::slow_client_timeout`.
//!
//! fastwebsockets' `read_frame` is not cancel-safe, so the reader only ever awaits it to
//! completion in its own task; nothing selects over it. The connection task holds the only
//! strong sender of the inbound channel (the reader has a weak one), so dropping it, when
//! the reader ends or the server shuts down, lets `run_connection` finish the action it is
//! running and return.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fastwebsockets::upgrade::UpgradeFut;
use fastwebsockets::{Frame, OpCode, Payload, WebSocketError, WebSocketRead, WebSocketWrite};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use livetemplate_core::Request;
use livetemplate_core::log_limit::LogLimit;
use livetemplate_core::throttle::Throttle;
use livetemplate_core::transport::{
    CLOSE_BAD_DATA, CLOSE_GOING_AWAY, CLOSE_POLICY, CLOSE_PROTOCOL, CLOSE_TOO_BIG, CLOSE_UNSUPPORTED, Closing,
    Outbound, run_connection,
};
use tokio::io::{ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::shutdown::{Phase, Shared, TrackGuard, reached};

type Stream = TokioIo<Upgraded>;
type WsRead = WebSocketRead<ReadHalf<Stream>>;
type WsWrite = WebSocketWrite<WriteHalf<Stream>>;

/// Client frames waiting for `run_connection`; when full the reader stops reading, and TCP
/// pushes back on the client.
const INBOUND_QUEUE: usize = 16;
/// How long a handshake may take to finish after the 101 is written.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);
/// One write that takes longer means the client stopped reading: drop it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that sends nothing (not even the client's 25 s heartbeat) for this long is
/// half-open: close it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// After our close frame, how long the peer has to answer with its own.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// After a close we sent because of a bad frame, the socket stays open this long (unread) so
/// the kernel does not answer the rest of that frame with a reset that could destroy our
/// close frame before the client reads it.
const LINGER: Duration = Duration::from_millis(500);

/// What the writer is asked to write besides `run_connection`'s frames.
enum Control {
    /// A frame fastwebsockets owes the peer (pong, the echo of its close).
    Owed(Frame<'static>),
    /// Send the remaining queued frames, then close with this code and reason.
    Close(u16, String),
}

/// How the reader ended.
enum ReadEnd {
    /// The peer closed, went away, or the inbound side was dropped.
    Done,
    /// We sent a close for a bad frame: keep the socket open a moment.
    Rejected,
}

/// Run one live connection to completion.
pub(crate) async fn run(shared: Arc<Shared>, upgrade: UpgradeFut, req: Request, _socket: TrackGuard) {
    let mut ws = match timeout(UPGRADE_TIMEOUT, upgrade).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(err)) => {
            tracing::debug!(page = %req.path, error = %err, "WebSocket upgrade failed");
            return;
        }
        Err(_) => {
            tracing::debug!(page = %req.path, "WebSocket upgrade timed out");
            return;
        }
    };
    let config = shared.app.config();
    let max = config.max_frame_bytes;
    ws.set_auto_close(true);
    // Pings are answered by the reader, after the throttle has counted them.
    ws.set_auto_pong(false);
    // fastwebsockets refuses a frame whose length is >= the maximum; we accept exactly `max`.
    ws.set_max_message_size(max.saturating_add(1));
    let (read, write) = ws.split(tokio::io::split);

    let (control_tx, control_rx) = mpsc::channel(8);
    let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_QUEUE);
    let (outbound_tx, outbound_rx) = mpsc::channel(config.outbound_queue.max(1));
    let limits = Limits {
        max,
        page: req.path.clone(),
        throttle: Throttle::new(config.rate_per_sec, config.rate_burst, config.flood_close_after),
    };
    let mut reader = tokio::spawn(read_task(read, inbound_tx.downgrade(), control_tx.clone(), limits));
    let writer = tokio::spawn(write_loop(write, outbound_rx, control_rx));

    let mut phase = shared.phase.subscribe();
    let work = shared.work.enter();
    let path = req.path.clone();
    let run = run_connection(shared.app.clone(), req, inbound_rx, outbound_tx);
    tokio::pin!(run);
    let mut inbound_tx = Some(inbound_tx);
    let mut reader_end: Option<(ReadEnd, Option<WsRead>)> = None;
    let mut draining = false;
    let mut closing = loop {
        tokio::select! {
            closing = &mut run => break closing,
            end = &mut reader, if reader_end.is_none() => {
                reader_end = Some(match end {
                    Ok((end, ws)) => (end, Some(ws)),
                    Err(_) => (ReadEnd::Done, None),
                });
                inbound_tx = None;
            }
            () = reached(&mut phase, Phase::Draining), if !draining => {
                draining = true;
                inbound_tx = None;
            }
        }
    };
    drop(inbound_tx);
    drop(work);
    if draining {
        // Every action has finished and the store is flushed before anyone is told to go.
        reached(&mut phase, Phase::Closing).await;
        closing = Closing {
            code: CLOSE_GOING_AWAY,
            reason: "server restarting".into(),
        };
    }
    tracing::debug!(page = %path, code = closing.code, reason = %closing.reason, "closing WebSocket");
    // The writer may be gone already (it stops after the first close frame it writes).
    let _ = control_tx.send(Control::Close(closing.code, closing.reason)).await;
    drop(control_tx);
    let _ = writer.await;
    if reader_end.is_none() {
        // Give the peer a moment to answer our close; the reader reads that answer.
        if let Ok(Ok((end, ws))) = timeout(CLOSE_WAIT, &mut reader).await {
            reader_end = Some((end, Some(ws)));
        }
    }
    if let Some((ReadEnd::Rejected, Some(read_half))) = reader_end {
        tokio::time::sleep(LINGER).await;
        drop(read_half);
    }
    reader.abort();
}

/// What the reader checks client messages against, and the page it logs them for.
struct Limits {
    /// Largest message in bytes ([`Config::max_frame_bytes`](livetemplate_core::Config)).
    max: usize,
    page: String,
    /// The connection's rate, over every frame.
    throttle: Throttle,
}

/// Warnings about client messages over the frame limit.
static TOO_BIG_LOG: LogLimit = LogLimit::new("client message over max_frame_bytes", 10);

/// The reader task: read until the peer closes or breaks the protocol, then hand the read
/// half back so the caller decides when the socket closes.
async fn read_task(
    mut ws: WsRead,
    inbound: mpsc::WeakSender<String>,
    control: mpsc::Sender<Control>,
    mut limits: Limits,
) -> (ReadEnd, WsRead) {
    let end = read_loop(&mut ws, inbound, control, &mut limits).await;
    (end, ws)
}

/// Read frames until the peer closes or breaks the protocol. Never cancelled mid-frame
/// except when the whole connection is being dropped.
async fn read_loop(
    ws: &mut WsRead,
    inbound: mpsc::WeakSender<String>,
    control: mpsc::Sender<Control>,
    limits: &mut Limits,
) -> ReadEnd {
    let max = limits.max;
    let page = limits.page.clone();
    let mut partial: Option<Vec<u8>> = None;
    let reject = |code: u16, reason: &'static str| {
        if code == CLOSE_TOO_BIG && TOO_BIG_LOG.allow() {
            // Not a protocol slip: a user's input was lost, and the operator should know.
            tracing::warn!(page = %page, limit = max, "client message over the frame limit; closing with 1009");
        }
        let control = control.clone();
        async move {
            let _ = control.send(Control::Close(code, reason.into())).await;
            ReadEnd::Rejected
        }
    };
    loop {
        // Past the rate: read nothing until a token refills (TCP pushes back on the client).
        let wait = limits.throttle.delay(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
            continue;
        }
        let owed = control.clone();
        let mut send_owed = move |frame: Frame<'static>| {
            let owed = owed.clone();
            async move {
                owed.send(Control::Owed(frame))
                    .await
                    .map_err(|_| "the connection's writer has stopped")
            }
        };
        let mut frame = match timeout(IDLE_TIMEOUT, ws.read_frame(&mut send_owed)).await {
            Ok(Ok(frame)) => frame,
            Ok(Err(err)) => {
                return match err {
                    WebSocketError::FrameTooLarge => reject(CLOSE_TOO_BIG, "frame too large").await,
                    WebSocketError::InvalidUTF8 => reject(CLOSE_BAD_DATA, "text is not UTF-8").await,
                    WebSocketError::ReservedBitsNotZero
                    | WebSocketError::ControlFrameFragmented
                    | WebSocketError::PingFrameTooLarge
                    | WebSocketError::InvalidFragment
                    | WebSocketError::InvalidContinuationFrame
                    | WebSocketError::InvalidCloseFrame
                    | WebSocketError::InvalidCloseCode
                    | WebSocketError::InvalidValue => reject(CLOSE_PROTOCOL, "protocol error").await,
                    other => {
                        tracing::debug!(error = %other, "WebSocket read ended");
                        ReadEnd::Done
                    }
                };
            }
            // A stalled read: the frame in progress is abandoned with the connection.
            Err(_) => return reject(CLOSE_GOING_AWAY, "idle").await,
        };
        if !is_masked(&mut frame) {
            return reject(CLOSE_PROTOCOL, "client frames must be masked").await;
        }
        if let Err(flood) = limits.throttle.take(Instant::now()) {
            flood.log(&limits.page);
            return reject(CLOSE_POLICY, "message flood").await;
        }
        let text = match (frame.opcode, frame.fin) {
            (OpCode::Close, _) => return ReadEnd::Done,
            (OpCode::Text, true) if partial.is_none() => match std::str::from_utf8(&frame.payload) {
                Ok(text) => text.to_owned(),
                Err(_) => return reject(CLOSE_BAD_DATA, "text is not UTF-8").await,
            },
            (OpCode::Text, false) if partial.is_none() => {
                partial = Some(frame.payload.to_vec());
                continue;
            }
            (OpCode::Continuation, fin) if partial.is_some() => {
                let Some(buf) = partial.as_mut() else {
                    continue;
                };
                if buf.len() + frame.payload.len() > max {
                    return reject(CLOSE_TOO_BIG, "message too large").await;
                }
                buf.extend_from_slice(&frame.payload);
                if !fin {
                    continue;
                }
                match partial.take().map(String::from_utf8) {
                    Some(Ok(text)) => text,
                    _ => return reject(CLOSE_BAD_DATA, "text is not UTF-8").await,
                }
            }
            (OpCode::Binary, _) => {
                return reject(CLOSE_UNSUPPORTED, "binary frames are not supported").await;
            }
            (OpCode::Ping, _) => {
                let pong = Frame::pong(Payload::Owned(frame.payload.to_vec()));
                if control.send(Control::Owed(pong)).await.is_err() {
                    return ReadEnd::Done;
                }
                continue;
            }
            (OpCode::Pong, _) => continue,
            _ => return reject(CLOSE_PROTOCOL, "unexpected frame").await,
        };
        // After shutdown began (or the connection ended) frames are read and dropped, so
        // the peer's close frame still gets read and answered.
        if let Some(tx) = inbound.upgrade() {
            let _ = tx.send(text).await;
        }
    }
}

/// Write `run_connection`'s frames and the reader's owed frames until a close is written.
async fn write_loop(mut ws: WsWrite, mut outbound: mpsc::Receiver<Outbound>, mut control: mpsc::Receiver<Control>) {
    let mut outbound_open = true;
    loop {
        tokio::select! {
            biased;
            cmd = control.recv() => match cmd {
                Some(Control::Owed(frame)) => {
                    let is_close = frame.opcode == OpCode::Close;
                    if write(&mut ws, frame).await.is_err() || is_close {
                        return;
                    }
                }
                Some(Control::Close(code, reason)) => {
                    while let Ok(Outbound::Text(text)) = outbound.try_recv() {
                        if write(&mut ws, text_frame(text)).await.is_err() {
                            return;
                        }
                    }
                    let _ = write(&mut ws, Frame::close(code, truncate(&reason, 123).as_bytes())).await;
                    let _ = timeout(WRITE_TIMEOUT, ws.flush()).await;
                    return;
                }
                None => return,
            },
            out = outbound.recv(), if outbound_open => match out {
                Some(Outbound::Text(text)) => {
                    if write(&mut ws, text_frame(text)).await.is_err() {
                        return;
                    }
                }
                None => outbound_open = false,
            },
        }
    }
}

/// Whether a client frame came masked, as RFC 6455 (section 5.1) requires of every one.
/// fastwebsockets 0.10 has no setting to refuse unmasked frames and keeps the masking key
/// private, but the header it formats for the frame has the mask bit set exactly when the
/// frame had a key.
fn is_masked(frame: &mut Frame<'_>) -> bool {
    let mut head = [0u8; 16];
    frame.fmt_head(&mut head);
    head[1] & 0x80 != 0
}

fn text_frame(text: String) -> Frame<'static> {
    Frame::text(Payload::Owned(text.into_bytes()))
}

async fn write(ws: &mut WsWrite, frame: Frame<'static>) -> Result<(), ()> {
    match timeout(WRITE_TIMEOUT, ws.write_frame(frame)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "WebSocket write failed");
            Err(())
        }
        Err(_) => {
            tracing::debug!("WebSocket write timed out: the client stopped reading");
            Err(())
        }
    }
}

/// At most `max` bytes of `s`, cut at a character boundary (close reasons are limited).
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
