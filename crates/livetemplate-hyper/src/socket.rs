//! One live WebSocket, run by one task: a loop that selects over the socket's bytes, the
//! frames waiting to be written, the server's pushes, the shutdown phase and its timers, and
//! drives the core's [`Connection`] (the page's view and its limits).
//!
//! ```text
//!  socket ─▶ FrameReader ─text, binary (upload chunks)─▶ Connection ─frames─▶ queue ─▶ socket
//!              │  (pong, close echo, close codes 1002/1003/1007/1008/1009)    ▲
//!              └───────────────────────────────────────────────────────────────┘
//! ```
//!
//! An idle connection holds no buffer: the reader takes bytes only when the socket has them
//! (see [`crate::frames`]), the queue of frames to write is empty, and there is one task and
//! one channel (the hub's push queue) per connection.
//!
//! Every frame read is counted by the connection's [`Throttle`] before it is handled (pings,
//! pongs and close frames like messages; pings are answered here), except upload chunks:
//! each is bounded by its entry's declared size and the client keeps at most a few unanswered
//! (see "Uploads" in `docs/architecture.md`). Past the rate nothing is
//! read until a token refills: the kernel's buffers fill and TCP slows the client down. Only a
//! client that keeps the throttle engaged for longer than `Config::flood_close_after` is
//! closed, with 1008 `message flood`.
//!
//! Frames for the client wait in a queue of at most `Config::outbound_queue`; while it is full
//! the loop takes no new client frame and no push. Full for `Config::slow_client_timeout`:
//! 1008 `client too slow`. A write that makes no progress for 10 s (`WRITE_TIMEOUT`) means the
//! client stopped reading: the socket is dropped without a close frame (browsers report 1006).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fastwebsockets::upgrade::UpgradeFut;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use livetemplate_core::Request;
use livetemplate_core::log_limit::LogLimit;
use livetemplate_core::throttle::Throttle;
use livetemplate_core::transport::{
    CLOSE_BAD_DATA, CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_PROTOCOL, CLOSE_TOO_BIG, CLOSE_UNSUPPORTED,
    Closing, Connection,
};
use tokio::io::{AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::time::{Instant as Deadline, sleep, sleep_until, timeout};

use crate::frames::{self, FrameError, FrameReader, OpCode};
use crate::shutdown::{Phase, Shared, TrackGuard, reached};

type Stream = TokioIo<Upgraded>;

/// How long a handshake may take to finish after the 101 is written.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);
/// One write that makes no progress for longer means the client stopped reading: drop it.
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

/// Warnings about client messages over the frame limit.
static TOO_BIG_LOG: LogLimit = LogLimit::new("client message over max_frame_bytes", 10);
/// Warnings about clients too slow to read their frames.
static SLOW_LOG: LogLimit = LogLimit::new("client too slow to read", 10);

/// How the loop ended, which decides how the socket closes.
enum End {
    /// Send this close frame (after the queued frames), then wait for the peer's.
    Close(Closing),
    /// The client broke a rule: send this close frame, then keep the socket open a moment.
    Reject(Closing),
    /// The peer closed: echo its close frame (after the queued frames).
    Echo(Vec<u8>),
    /// The socket is gone or the client stopped reading: nothing more can be sent.
    Gone,
}

/// Frames for the client, encoded, oldest first, and how far the first is written.
struct Queue {
    frames: VecDeque<Vec<u8>>,
    written: usize,
    /// When the last write made progress (or the queue became non-empty).
    progress: Instant,
    /// Since when the queue has been full.
    full_since: Option<Instant>,
    limit: usize,
}

impl Queue {
    fn new(limit: usize) -> Self {
        Queue {
            frames: VecDeque::new(),
            written: 0,
            progress: Instant::now(),
            full_since: None,
            limit: limit.max(1),
        }
    }

    fn push(&mut self, frame: Vec<u8>) {
        if self.frames.is_empty() {
            self.progress = Instant::now();
        }
        self.frames.push_back(frame);
        if self.is_full() && self.full_since.is_none() {
            self.full_since = Some(Instant::now());
        }
    }

    fn push_text(&mut self, text: String) {
        self.push(frames::text(text));
    }

    fn is_full(&self) -> bool {
        self.frames.len() >= self.limit
    }

    /// The bytes still to write of the first frame (empty when there is none).
    fn unwritten(&self) -> &[u8] {
        self.frames.front().map_or(&[], |f| &f[self.written..])
    }

    /// `n` more bytes were written.
    fn advance(&mut self, n: usize) {
        self.progress = Instant::now();
        self.written += n;
        if self.frames.front().is_some_and(|f| self.written >= f.len()) {
            self.frames.pop_front();
            self.written = 0;
            if !self.is_full() {
                self.full_since = None;
            }
            if self.frames.is_empty() {
                // Hold nothing while idle.
                self.frames = VecDeque::new();
            }
        }
    }

    /// Write everything queued, each write allowed `WRITE_TIMEOUT` to make progress.
    async fn drain<W: AsyncWrite + Unpin>(&mut self, wr: &mut W) -> Result<(), ()> {
        while !self.frames.is_empty() {
            match timeout(WRITE_TIMEOUT, wr.write(self.unwritten())).await {
                Ok(Ok(n)) if n > 0 => self.advance(n),
                _ => return Err(()),
            }
        }
        match timeout(WRITE_TIMEOUT, wr.flush()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }
}

/// Run one live connection to completion.
pub(crate) async fn run(shared: Arc<Shared>, upgrade: UpgradeFut, req: Request, _socket: TrackGuard) {
    // fastwebsockets answers the handshake; the frames are ours (see `crate::frames`).
    let stream = match timeout(UPGRADE_TIMEOUT, upgrade).await {
        Ok(Ok(ws)) => ws.into_inner(),
        Ok(Err(err)) => {
            tracing::debug!(page = %req.path, error = %err, "WebSocket upgrade failed");
            return;
        }
        Err(_) => {
            tracing::debug!(page = %req.path, "WebSocket upgrade timed out");
            return;
        }
    };
    let (mut rd, mut wr) = tokio::io::split(stream);
    let config = shared.app.config();
    let mut queue = Queue::new(config.outbound_queue);
    let mut reader = FrameReader::new(config.max_frame_bytes);
    let mut phase = shared.phase.subscribe();
    let work = shared.work.enter();
    let page = req.path.clone();

    let end = match Connection::open(shared.app.clone(), req).await {
        Ok((mut conn, first)) => {
            queue.push_text(first);
            let end = live(
                &shared,
                &mut conn,
                &mut rd,
                &mut wr,
                &mut reader,
                &mut queue,
                &mut phase,
                work,
            )
            .await;
            conn.close().await;
            end
        }
        Err(closing) => {
            drop(work);
            End::Close(closing)
        }
    };
    let (code, reason) = match &end {
        End::Close(c) | End::Reject(c) => (c.code, c.reason.as_str()),
        End::Echo(_) => (CLOSE_NORMAL, "the client closed"),
        End::Gone => (CLOSE_NORMAL, "gone"),
    };
    tracing::debug!(page = %page, code, reason, "closing WebSocket");
    match end {
        End::Gone => {}
        End::Echo(payload) => {
            queue.push(frames::encode(OpCode::Close, &payload));
            let _ = queue.drain(&mut wr).await;
        }
        End::Reject(closing) => {
            queue.push(frames::close(closing.code, &closing.reason));
            if queue.drain(&mut wr).await.is_ok() {
                sleep(LINGER).await;
            }
        }
        End::Close(closing) => {
            queue.push(frames::close(closing.code, &closing.reason));
            if queue.drain(&mut wr).await.is_ok() {
                // Give the peer a moment to answer our close.
                let _ = timeout(CLOSE_WAIT, await_close(&mut reader, &mut rd)).await;
            }
        }
    }
}

/// Read until the peer's close frame or the end of the stream, dropping everything else.
async fn await_close(reader: &mut FrameReader, rd: &mut ReadHalf<Stream>) {
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) if frame.opcode == OpCode::Close => return,
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(_) => return,
        }
        if !matches!(reader.fill(rd).await, Ok(n) if n > 0) {
            return;
        }
    }
}

/// The connection's loop, from its first frame until it must close.
#[allow(clippy::too_many_arguments)]
async fn live(
    shared: &Shared,
    conn: &mut Connection,
    rd: &mut ReadHalf<Stream>,
    wr: &mut WriteHalf<Stream>,
    reader: &mut FrameReader,
    queue: &mut Queue,
    phase: &mut tokio::sync::watch::Receiver<Phase>,
    work: crate::shutdown::TrackGuard,
) -> End {
    let config = shared.app.config();
    let max = config.max_frame_bytes;
    let mut throttle = Throttle::new(config.rate_per_sec, config.rate_burst, config.flood_close_after);
    let mut work = Some(work);
    let mut message: Option<Vec<u8>> = None;
    let mut last_read = Instant::now();
    loop {
        let draining = work.is_none();
        let now = Instant::now();
        // Past the rate: read nothing until a token refills.
        let wait = throttle.delay(now);
        let taking = !queue.is_full() && wait.is_zero();
        if taking {
            let frame = match reader.next_frame() {
                Ok(frame) => frame,
                Err(FrameError::TooLarge) => return too_large(conn.path(), max),
                Err(FrameError::BadUtf8) => return reject(CLOSE_BAD_DATA, "text is not UTF-8"),
                Err(FrameError::Unmasked) => return reject(CLOSE_PROTOCOL, "client frames must be masked"),
                Err(FrameError::Protocol(_)) => return reject(CLOSE_PROTOCOL, "protocol error"),
            };
            if let Some(frame) = frame {
                // Upload chunks are not messages: each is bounded by its entry's declared size
                // and answered before the client sends more than its window (see `on_binary`).
                if frame.opcode != OpCode::Binary
                    && let Err(flood) = throttle.take(now)
                {
                    flood.log(conn.path());
                    return reject(CLOSE_POLICY, "message flood");
                }
                let text = match (frame.opcode, frame.fin, message.as_mut()) {
                    (OpCode::Close, _, _) => return End::Echo(frame.payload),
                    (OpCode::Ping, _, _) => {
                        queue.push(frames::encode(OpCode::Pong, &frame.payload));
                        continue;
                    }
                    (OpCode::Pong, _, _) => continue,
                    (OpCode::Binary, true, None) if !draining => {
                        match conn.on_binary(&frame.payload).await {
                            Ok(Some(reply)) => queue.push_text(reply),
                            Ok(None) => {}
                            Err(closing) => return End::Reject(closing),
                        }
                        if let Some(closing) = conn.closing() {
                            return End::Close(closing);
                        }
                        continue;
                    }
                    (OpCode::Binary, true, None) => continue,
                    (OpCode::Binary, _, _) => {
                        return reject(CLOSE_UNSUPPORTED, "fragmented binary frames are not supported");
                    }
                    (OpCode::Text, true, None) => frame.payload,
                    (OpCode::Text, false, None) => {
                        message = Some(frame.payload);
                        continue;
                    }
                    (OpCode::Continuation, fin, Some(buf)) => {
                        if buf.len() + frame.payload.len() > max {
                            return too_large(conn.path(), max);
                        }
                        buf.extend_from_slice(&frame.payload);
                        if !fin {
                            continue;
                        }
                        message.take().unwrap_or_default()
                    }
                    _ => return reject(CLOSE_PROTOCOL, "unexpected frame"),
                };
                let Ok(text) = String::from_utf8(text) else {
                    return reject(CLOSE_BAD_DATA, "text is not UTF-8");
                };
                // After shutdown began, frames are read and dropped, so the peer's close frame
                // still gets read and answered.
                if draining {
                    continue;
                }
                match conn.on_message(&text).await {
                    Ok(Some(reply)) => queue.push_text(reply),
                    Ok(None) => {}
                    Err(closing) => return End::Close(closing),
                }
                // The page panicked and could not be mounted again: its error frame goes
                // out, then the close (1011).
                if let Some(closing) = conn.closing() {
                    return End::Close(closing);
                }
                continue;
            }
        }
        // One timer for whichever deadline comes first: a task's size is what an idle
        // connection costs, and each armed timer is part of it.
        let mut timer = (last_read + IDLE_TIMEOUT, Timer::Idle);
        let mut consider = |at: Instant, why: Timer| {
            if at < timer.0 {
                timer = (at, why);
            }
        };
        if !queue.frames.is_empty() {
            consider(queue.progress + WRITE_TIMEOUT, Timer::Write);
        }
        if let Some(full) = queue.full_since {
            consider(full + config.slow_client_timeout, Timer::Slow);
        }
        if !wait.is_zero() {
            consider(now + wait, Timer::Throttle);
        }
        let next_phase = if draining { Phase::Closing } else { Phase::Draining };
        tokio::select! {
            biased;
            written = wr.write(queue.unwritten()), if !queue.frames.is_empty() => match written {
                Ok(n) if n > 0 => queue.advance(n),
                Ok(_) => return End::Gone,
                Err(err) => {
                    tracing::debug!(error = %err, "WebSocket write failed");
                    return End::Gone;
                }
            },
            () = reached(phase, next_phase) => {
                if draining {
                    // Every action has finished and the store is flushed before anyone is
                    // told to go.
                    return End::Close(Closing::new(CLOSE_GOING_AWAY, "server restarting"));
                }
                work = None;
            }
            pushed = conn.next_push(), if !draining && !queue.is_full() => {
                match conn.on_push(pushed).await {
                    Ok(Some(frame)) => queue.push_text(frame),
                    Ok(None) => {}
                    Err(closing) => return End::Close(closing),
                }
                if let Some(closing) = conn.closing() {
                    return End::Close(closing);
                }
            }
            read = reader.fill(rd), if taking => match read {
                Ok(n) if n > 0 => last_read = Instant::now(),
                Ok(_) => return End::Gone,
                Err(err) => {
                    tracing::debug!(error = %err, "WebSocket read ended");
                    return End::Gone;
                }
            },
            () = sleep_until(Deadline::from_std(timer.0)) => match timer.1 {
                // Past the rate: a token has refilled.
                Timer::Throttle => {}
                Timer::Write => {
                    tracing::debug!("WebSocket write timed out: the client stopped reading");
                    return End::Gone;
                }
                Timer::Slow => {
                    if SLOW_LOG.allow() {
                        tracing::warn!(page = %conn.path(), "client too slow to read its frames; closing with 1008");
                    }
                    return End::Close(Closing::new(CLOSE_POLICY, "client too slow"));
                }
                // A stalled read, or a silent client: the connection is half-open.
                Timer::Idle => return reject(CLOSE_GOING_AWAY, "idle"),
            },
        }
    }
}

/// What the loop's one timer is set for.
#[derive(Debug, Clone, Copy)]
enum Timer {
    /// Nothing read for `IDLE_TIMEOUT`.
    Idle,
    /// A write made no progress for `WRITE_TIMEOUT`.
    Write,
    /// The queue stayed full for `slow_client_timeout`.
    Slow,
    /// The throttle's token refills.
    Throttle,
}

fn reject(code: u16, reason: &str) -> End {
    End::Reject(Closing::new(code, reason))
}

fn too_large(page: &str, max: usize) -> End {
    if TOO_BIG_LOG.allow() {
        // Not a protocol slip: a user's input was lost, and the operator should know.
        tracing::warn!(page = %page, limit = max, "client message over the frame limit; closing with 1009");
    }
    reject(CLOSE_TOO_BIG, "frame too large")
}
