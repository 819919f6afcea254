//! What the real-server tests of the pattern pages share: one HTTP/1.1 exchange, and a
//! WebSocket to a page whose frames the reference client applies.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livetemplate::testing::ClientTree;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// One HTTP/1.1 exchange (`head`: the request line and any headers, without the last CRLF):
/// status, headers (lower-case names), body.
pub(crate) async fn http(addr: SocketAddr, head: &str, body: &str) -> (u16, Vec<(String, String)>, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// The first header `name` (lower case) of an answer.
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The `name=value` of the answer's `Set-Cookie`, if any.
pub(crate) fn cookie_of(headers: &[(String, String)]) -> Option<String> {
    header(headers, "set-cookie").map(|v| v.split(';').next().unwrap().to_string())
}

pub(crate) type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket to the page at `path`, from the app's own origin, with `cookie`.
pub(crate) async fn ws(addr: SocketAddr, path: &str, cookie: &str) -> Ws {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert("origin", HeaderValue::from_str(&format!("http://{addr}")).unwrap());
    h.insert("cookie", HeaderValue::from_str(cookie).unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// The next text frame (5 s at most), applied to `client`, as JSON.
pub(crate) async fn next(ws: &mut Ws, client: &mut ClientTree) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            client.apply(t.as_str()).unwrap();
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// Send `msg` and take the next frame (see [`next`]).
pub(crate) async fn send(ws: &mut Ws, client: &mut ClientTree, msg: Value) -> Value {
    ws.send(Message::text(msg.to_string())).await.unwrap();
    next(ws, client).await
}
