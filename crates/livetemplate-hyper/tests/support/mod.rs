//! Shared test support: a counter page written by hand (no derive macros), a raw HTTP/1.1
//! client, a WebSocket client (tokio-tungstenite) that speaks to a real server, and a raw
//! byte-level WebSocket client ([`raw`]).

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livetemplate_core::tree::{Mark, MarkQueue, Tree, TreeSink, mark};
use livetemplate_core::{App, BoxFuture, Config, Context, Controller, Error, LiveState, Result};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod raw;

/// `<p>{n}</p><pre>{notes}</pre>`, both fields persisted.
#[derive(Clone, Default, Debug)]
pub struct Counter {
    pub n: i64,
    pub notes: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl LiveState for Counter {
    fn render_tree(&self) -> Result<Tree> {
        let cell = MarkQueue::new();
        let mut sink = TreeSink::new(&cell);
        let mut write = || -> std::fmt::Result {
            sink.write_str("<p>")?;
            write!(sink, "{}", Mark::new(&cell, mark::EXPR_OPEN))?;
            write!(sink, "{}", self.n)?;
            write!(sink, "{}", Mark::new(&cell, mark::EXPR_CLOSE))?;
            sink.write_str("</p><pre>")?;
            write!(sink, "{}", Mark::new(&cell, mark::EXPR_OPEN))?;
            sink.write_str(&escape(&self.notes))?;
            write!(sink, "{}", Mark::new(&cell, mark::EXPR_CLOSE))?;
            sink.write_str("</pre>")
        };
        write().map_err(|_| Error::msg("render failed"))?;
        sink.finish()
    }

    fn render_html(&self) -> Result<String> {
        Ok(format!("<p>{}</p><pre>{}</pre>", self.n, escape(&self.notes)))
    }

    fn persisted_fields() -> &'static [&'static str] {
        &["n", "notes"]
    }

    fn encode_field(&self, name: &str) -> Option<Result<Vec<u8>>> {
        match name {
            "n" => Some(livetemplate_core::state::encode_field(&self.n)),
            "notes" => Some(livetemplate_core::state::encode_field(&self.notes)),
            _ => None,
        }
    }

    fn decode_field(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        match name {
            "n" => livetemplate_core::state::decode_field(&mut self.n, bytes),
            "notes" => livetemplate_core::state::decode_field(&mut self.notes, bytes),
            _ => Err(livetemplate_core::__private::decode_error(format!("no field {name}"))),
        }
    }
}

/// Actions: `increment`, `save_notes` (reads `notes`), `fail` (always errors), `slow`
/// (sleeps 300 ms, then adds 100; counts into `SLOW_DONE`), `crash` (panics, and every mount
/// from then on panics too).
#[derive(Debug, Default)]
pub struct CounterController {
    pub slow_done: Arc<AtomicUsize>,
    pub mounts_panic: Arc<std::sync::atomic::AtomicBool>,
}

impl Controller for CounterController {
    type State = Counter;

    fn action_names(&self) -> &'static [&'static str] {
        &["increment", "save_notes", "fail", "slow", "leave", "page_two", "crash"]
    }

    fn mount<'a>(&'a self, _state: &'a mut Counter, _ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if self.mounts_panic.load(Ordering::SeqCst) {
                panic!("this page can no longer mount");
            }
            Ok(())
        })
    }

    fn call<'a>(&'a self, name: &'a str, state: &'a mut Counter, ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match name {
                "increment" => state.n += 1,
                "save_notes" => state.notes = ctx.get_string("notes"),
                "fail" => return Err(Error::msg("nope: this action always fails")),
                "leave" => ctx.redirect("/elsewhere?from=counter")?,
                "page_two" => ctx.push_patch("?page=2")?,
                "crash" => {
                    self.mounts_panic.store(true, Ordering::SeqCst);
                    panic!("crash: the state is half changed");
                }
                "slow" => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    state.n += 100;
                    self.slow_done.fetch_add(1, Ordering::SeqCst);
                }
                other => {
                    return Err(livetemplate_core::__private::unknown_action(
                        other,
                        "/counter",
                        self.action_names(),
                    ));
                }
            }
            Ok(())
        })
    }
}

/// An app with the counter at `/counter`.
pub fn app(config: impl FnOnce(&mut Config)) -> App {
    app_with(CounterController::default(), config)
}

pub fn app_with(controller: CounterController, config: impl FnOnce(&mut Config)) -> App {
    App::builder()
        .title("Test")
        .page("/counter", controller, Counter::default())
        .config(config)
        .build()
        .unwrap()
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `lvt_group=…` pair of the Set-Cookie header.
    pub fn group_cookie(&self) -> Option<String> {
        let c = self.header("set-cookie")?;
        c.split(';').next().map(str::to_string)
    }
}

/// Send a raw request (head lines without the blank line; Host and Connection are added) and
/// read the whole response.
pub async fn http(addr: SocketAddr, head: &str, body: &[u8]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n");
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("response within 10 s")
        .unwrap();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if let Some(len) = headers.iter().find(|(k, _)| k == "content-length") {
        body.truncate(len.1.parse().unwrap());
    }
    HttpResponse { status, headers, body }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Open a WebSocket on `path` with the given Origin (None: no Origin header) and cookie.
pub async fn ws_connect(
    addr: SocketAddr,
    path: &str,
    origin: Option<&str>,
    cookie: Option<&str>,
) -> std::result::Result<Ws, tungstenite::Error> {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    let h = req.headers_mut();
    h.remove("origin");
    if let Some(o) = origin {
        h.insert("origin", HeaderValue::from_str(o).unwrap());
    }
    if let Some(c) = cookie {
        h.insert("cookie", HeaderValue::from_str(c).unwrap());
    }
    let (ws, _resp) = tokio_tungstenite::connect_async(req).await?;
    Ok(ws)
}

/// Open a WebSocket on `path` from the server's own origin.
pub async fn ws_open(addr: SocketAddr, path: &str) -> Ws {
    ws_connect(addr, path, Some(&format!("http://{addr}")), None)
        .await
        .unwrap()
}

/// The next text frame as JSON (panics on close or timeout).
pub async fn next_json(ws: &mut Ws) -> Value {
    serde_json::from_str(&next_text(ws).await).unwrap()
}

/// The next text frame (panics on close or timeout).
pub async fn next_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket is open")
            .expect("no socket error");
        match msg {
            Message::Text(t) => return t.as_str().to_string(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

pub async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// Read until the server's close frame and return it (text frames before it are skipped).
pub async fn close_frame(ws: &mut Ws) -> Option<CloseFrame> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("the socket closes within 15 s");
        match next {
            Some(Ok(Message::Close(frame))) => return frame,
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error before the close frame: {e}"),
            None => return None,
        }
    }
}
