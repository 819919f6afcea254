//! `/navigation` against a real server on 127.0.0.1:0: its layout and titles on GET, live
//! navigation and `push_navigate` on one WebSocket, and the flash across the no-JS `303`.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use example_patterns::pages::{counter, navigation};
use futures_util::{SinkExt, StreamExt};
use livetemplate::testing::ClientTree;
use livetemplate::{App, Server};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

async fn server() -> Server {
    let app = navigation::register(counter::register(App::builder().title("Patterns")))
        .build()
        .unwrap();
    Server::bind("127.0.0.1:0", app).await.unwrap()
}

/// One HTTP/1.1 exchange: status, headers (lower-case names), body.
async fn http(addr: SocketAddr, head: &str, body: &str) -> (u16, Vec<(String, String)>, String) {
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

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn cookie_of(headers: &[(String, String)]) -> String {
    header(headers, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn get(addr: SocketAddr, path: &str, cookie: &str) -> String {
    http(addr, &format!("GET {path} HTTP/1.1\r\nCookie: {cookie}"), "")
        .await
        .2
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws(addr: SocketAddr, path: &str, cookie: &str) -> Ws {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert("origin", HeaderValue::from_str(&format!("http://{addr}")).unwrap());
    h.insert("cookie", HeaderValue::from_str(cookie).unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

async fn next(ws: &mut Ws, client: &mut ClientTree) -> Value {
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

async fn send(ws: &mut Ws, client: &mut ClientTree, msg: Value) -> Value {
    ws.send(Message::text(msg.to_string())).await.unwrap();
    next(ws, client).await
}

#[tokio::test]
async fn layout_titles_and_navigation_on_one_socket() {
    let server = server().await;
    let addr = server.local_addr();
    let (status, headers, html) = http(addr, "GET /navigation HTTP/1.1", "").await;
    assert_eq!(status, 200);
    let cookie = cookie_of(&headers);
    assert!(html.contains("<title>Count 0</title>"), "the state's title: {html}");
    assert!(html.contains(r#"<input id="notes""#), "the layout: {html}");
    assert!(
        html.contains(r#"lvt-flash="info" title="Click to dismiss" hidden>"#),
        "{html}"
    );
    let layout_at = html.find(r#"<input id="notes""#).unwrap();
    assert!(
        layout_at < html.find("data-lvt-root").unwrap(),
        "the layout is outside the live region"
    );
    let details = get(addr, "/navigation/details", &cookie).await;
    assert!(details.contains("<title>Details</title>"), "the builder's page title");
    let plain = get(addr, "/counter", &cookie).await;
    assert!(
        plain.contains("<title>Patterns</title>") && !plain.contains("id=\"notes\""),
        "{plain}"
    );

    let mut client = ClientTree::new();
    let mut socket = ws(addr, "/navigation", &cookie).await;
    let first = next(&mut socket, &mut client).await;
    assert_eq!(first["title"], "Count 0");
    let f = send(&mut socket, &mut client, json!({"a": "increment", "r": 1})).await;
    assert_eq!(f["title"], "Count 1");
    assert!(client.html().contains(r#"<strong id="count">1</strong>"#));

    let f = send(
        &mut socket,
        &mut client,
        json!({"n": "/navigation/details#part-3", "r": 2}),
    )
    .await;
    assert_eq!(
        (f["r"].clone(), f["navigate"].clone()),
        (json!(2), json!("/navigation/details#part-3"))
    );
    assert_eq!(f["title"], "Details");
    assert!(client.html().contains(r#"<section id="part-3""#), "{}", client.html());
    let f = send(&mut socket, &mut client, json!({"a": "ping", "r": 3})).await;
    assert!(f["e"].is_null(), "the new page's actions run: {f}");
    assert!(client.html().contains(r#"<strong id="pings">1</strong>"#));

    // push_navigate with a flash, back to the persisted count.
    let f = send(&mut socket, &mut client, json!({"a": "backHome", "r": 4})).await;
    assert_eq!(f["navigate"], "/navigation");
    assert_eq!(f["flash"], json!({"info": "Back from the details"}));
    assert_eq!(f["title"], "Count 1");
    assert!(
        client.html().contains(r#"<strong id="count">1</strong>"#),
        "{}",
        client.html()
    );
    // The page dismisses it.
    let f = send(
        &mut socket,
        &mut client,
        json!({"a": "lvt:clear_flash", "d": {"kind": "info"}, "r": 5}),
    )
    .await;
    assert_eq!(f, json!({"r": 5, "flash": {}}));
    // A page of another layout: the client loads it.
    let f = send(&mut socket, &mut client, json!({"n": "/counter", "r": 6})).await;
    assert_eq!(f, json!({"r": 6, "redirect": "/counter"}));
    socket.close(None).await.unwrap();
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_javascript_the_flash_survives_the_303_once() {
    let server = server().await;
    let addr = server.local_addr();
    let (_, headers, _) = http(addr, "GET /navigation HTTP/1.1", "").await;
    let cookie = cookie_of(&headers);
    let post = format!(
        "POST /navigation HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nOrigin: http://{addr}\r\nCookie: {cookie}"
    );
    let (status, headers, _) = http(addr, &post, "goDetails=").await;
    assert_eq!(status, 303);
    assert_eq!(header(&headers, "location"), Some("/navigation/details"));
    let html = get(addr, "/navigation/details", &cookie).await;
    assert!(
        html.contains(r#"lvt-flash="info" title="Click to dismiss">Moved here by push_navigate (count 0)</p>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"lvt-flash="error" title="Click to dismiss" hidden>"#),
        "{html}"
    );
    let again = get(addr, "/navigation/details", &cookie).await;
    assert!(!again.contains("Moved here"), "shown once: {again}");
    server.shutdown().await.unwrap();
}
