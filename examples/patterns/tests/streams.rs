//! `/streams` and `/chat-stream`: live through the real connection loop (`TestPage`), and
//! with JavaScript off through a real server on a loopback port (form posts, 303, GET).

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use example_patterns::pages::{chat_stream, streams};
use livetemplate::testing::TestPage;
use livetemplate::{App, GroupId, Server};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn app() -> Arc<App> {
    let b = streams::register(App::builder());
    Arc::new(chat_stream::register(b).build().unwrap())
}

/// Items of the feed in `html`.
fn items(html: &str) -> usize {
    html.matches("<li id=\"item-").count()
}

/// The number after `<strong id="{id}">`.
fn counter(html: &str, id: &str) -> usize {
    let at = format!("<strong id=\"{id}\">");
    let rest = &html[html.find(&at).unwrap() + at.len()..];
    rest[..rest.find('<').unwrap()].parse().unwrap()
}

#[tokio::test]
async fn add_many_ten_times_keeps_the_limit_delete_removes_one_reset_empties() {
    let mut page = TestPage::connect(app(), "/streams", GroupId::random()).await.unwrap();
    assert_eq!(items(&page.html()), 0);
    for round in 1..=10 {
        let frame = page.act("add_many", Value::Null).await;
        assert!(frame.error().is_none(), "{}", frame.error().unwrap_or_default());
        let html = page.html();
        assert_eq!(items(&html), (round * streams::MANY).min(streams::LIMIT));
        assert_eq!(
            counter(&html, "in-browser"),
            (round * streams::MANY).min(streams::LIMIT)
        );
        assert_eq!(counter(&html, "server-held"), 0, "sent items are not held");
    }
    // The newest stay: the last batch is on top, the first five batches are gone.
    let html = page.html();
    assert!(html.contains("id=\"item-10000\""));
    assert!(html.contains("id=\"item-5001\""));
    assert!(!html.contains("id=\"item-5000\""));
    assert!(html.find("id=\"item-10000\"").unwrap() < html.find("id=\"item-9999\"").unwrap());

    let frame = page.act("delete", json!({"delete": "7777"})).await;
    assert!(frame.len() < 100, "a delete sends the id only: {}", frame.text());
    let html = page.html();
    assert_eq!(items(&html), streams::LIMIT - 1);
    assert!(!html.contains("id=\"item-7777\""));
    assert!(html.contains("id=\"item-7776\"") && html.contains("id=\"item-7778\""));

    page.act("send", json!({"text": "  hello  "})).await;
    let html = page.html();
    assert_eq!(items(&html), streams::LIMIT);
    assert!(html.contains("<li id=\"item-10001\"><span class=\"text\">hello</span>"));
    // Delete is disabled until its reply: a double click sends one delete, so the count of
    // items in the browser (the server's own arithmetic) does not drift below the list.
    assert!(html.contains(
        r#"<button name="delete" value="10001" class="outline" lvt-form:disable-with="Deleting…">Delete</button>"#
    ));

    page.act("reset", Value::Null).await;
    let html = page.html();
    assert_eq!(items(&html), 0);
    assert_eq!(counter(&html, "in-browser"), 0);
}

/// A new connection mounts the page again: the stream is refilled from what mount inserts
/// (nothing for `/streams`), as in Phoenix.
#[tokio::test]
async fn a_reconnect_starts_from_what_mount_inserts() {
    let mut page = TestPage::connect(app(), "/streams", GroupId::random()).await.unwrap();
    page.act("add_many", Value::Null).await;
    assert_eq!(items(&page.html()), streams::MANY);
    page.reconnect().await.unwrap();
    assert_eq!(items(&page.html()), 0);
}

#[tokio::test]
async fn chat_stream_delivers_messages_and_refills_late_joiners() {
    let app = app();
    let mut alice = TestPage::connect(app.clone(), "/chat-stream", GroupId::random())
        .await
        .unwrap();
    let mut bob = TestPage::connect(app.clone(), "/chat-stream", GroupId::random())
        .await
        .unwrap();
    alice.act("join", json!({"username": "alice"})).await;
    bob.act("join", json!({"username": "bob"})).await;
    let marker = format!("hello {}", GroupId::random().as_str());
    alice.act("send", json!({"text": marker})).await;
    assert!(alice.html().contains(&marker));
    let push = bob.next_push(Duration::from_secs(5)).await.unwrap();
    assert!(push.text().contains(&marker), "{}", push.text());
    assert!(bob.html().contains(&marker));
    // A late joiner gets the recent messages from mount.
    let carol = TestPage::connect(app, "/chat-stream", GroupId::random()).await.unwrap();
    assert!(carol.html().contains(&marker));
}

// --- JavaScript off: a real server, form posts ------------------------------------------------

struct Response {
    status: u16,
    head: String,
    body: String,
}

async fn http(addr: SocketAddr, request: String) -> Response {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), tcp.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    Response {
        status,
        head: head.to_string(),
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}

async fn post(addr: SocketAddr, cookie: &str, form: &str) -> Response {
    http(
        addr,
        format!(
            "POST /streams HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    )
    .await
}

async fn get(addr: SocketAddr, cookie: &str) -> Response {
    http(
        addr,
        format!("GET /streams HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    )
    .await
}

#[tokio::test]
async fn streams_buttons_work_with_javascript_off() {
    let app = Arc::try_unwrap(app()).ok().unwrap();
    let server = Server::bind("127.0.0.1:0", app).await.unwrap();
    let addr = server.local_addr();
    let first = http(
        addr,
        format!("GET /streams HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(first.status, 200);
    let cookie = first
        .head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].trim().to_string())
        })
        .and_then(|c| c.split(';').next().map(str::to_string))
        .unwrap();

    for round in 1..=6 {
        let r = post(addr, &cookie, "add_many=").await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get(addr, &cookie).await.body;
        assert_eq!(items(&page), (round * streams::MANY).min(streams::LIMIT));
        assert_eq!(
            counter(&page, "in-browser"),
            (round * streams::MANY).min(streams::LIMIT)
        );
    }
    assert_eq!(post(addr, &cookie, "delete=5500").await.status, 303);
    let page = get(addr, &cookie).await.body;
    assert_eq!(items(&page), streams::LIMIT - 1);
    assert!(!page.contains("id=\"item-5500\""));

    assert_eq!(post(addr, &cookie, "text=from+a+form&send=").await.status, 303);
    let page = get(addr, &cookie).await.body;
    assert!(page.contains("<span class=\"text\">from a form</span>"));

    assert_eq!(post(addr, &cookie, "reset=").await.status, 303);
    let page = get(addr, &cookie).await.body;
    assert_eq!(items(&page), 0);
    assert_eq!(counter(&page, "in-browser"), 0);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn both_pages_are_reachable_from_the_index() {
    let app = Arc::new(example_patterns::pages::register(App::builder()).build().unwrap());
    let index = TestPage::connect(app.clone(), "/", GroupId::random()).await.unwrap();
    for path in ["/streams", "/chat-stream"] {
        assert!(index.html().contains(&format!("<a href=\"{path}\">")), "{path}");
        let page = TestPage::connect(app.clone(), path, GroupId::random()).await.unwrap();
        assert!(page.html().contains("<h3>"), "{path}");
    }
}
