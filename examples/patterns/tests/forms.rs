//! `/forms` against a real server on 127.0.0.1:0: the live path over a WebSocket (frames
//! applied to a client tree, as the browser does) and the no-JS POST over raw HTTP.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use example_patterns::pages::forms;
use futures_util::{SinkExt, StreamExt};
use livetemplate::testing::ClientTree;
use livetemplate::{App, Server};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn start() -> Server {
    let app = forms::register(App::builder()).build().unwrap();
    Server::bind("127.0.0.1:0", app).await.unwrap()
}

struct Live {
    ws: Ws,
    tree: ClientTree,
    r: u64,
}

impl Live {
    async fn open(addr: SocketAddr) -> Live {
        let mut req = format!("ws://{addr}/forms").into_client_request().unwrap();
        req.headers_mut()
            .insert("origin", HeaderValue::from_str(&format!("http://{addr}")).unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let mut live = Live {
            ws,
            tree: ClientTree::new(),
            r: 0,
        };
        let first = live.next().await;
        live.tree.apply(&first).unwrap();
        live
    }

    async fn next(&mut self) -> String {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("a frame within 5 s")
                .expect("the socket is open")
                .unwrap();
            if let Message::Text(t) = msg {
                return t.as_str().to_string();
            }
        }
    }

    /// Send action `a` with `d`; the reply's JSON (after applying it to the tree).
    async fn act(&mut self, a: &str, d: Value) -> Value {
        self.r += 1;
        let msg = json!({"a": a, "d": d, "r": self.r});
        self.ws.send(Message::text(msg.to_string())).await.unwrap();
        loop {
            let text = self.next().await;
            let v: Value = serde_json::from_str(&text).unwrap();
            if v.get("r") == Some(&json!(self.r)) {
                self.tree.apply(&text).unwrap();
                return v;
            }
        }
    }

    fn html(&self) -> String {
        self.tree.html()
    }
}

#[tokio::test]
async fn typing_shows_only_the_touched_fields_errors_and_submit_shows_all() {
    let server = start().await;
    let mut live = Live::open(server.local_addr()).await;
    // The user typed a bad email; name and password untouched.
    let reply = live
        .act(
            "validate",
            json!({"name": "", "email": "ada", "password": "", "_unused_name": "", "_unused_password": ""}),
        )
        .await;
    assert_eq!(reply["e"], "email: must contain @", "{reply}");
    let html = live.html();
    assert!(
        html.contains(r#"<small class="field-error" id="email-error">must contain @</small>"#),
        "{html}"
    );
    assert!(
        !html.contains("name-error") && !html.contains("password-error"),
        "{html}"
    );
    assert!(html.contains(r#"value="ada""#), "the typed value is kept: {html}");

    // Now the name too, still bad.
    live.act(
        "validate",
        json!({"name": " ", "email": "ada", "password": "", "_unused_password": ""}),
    )
    .await;
    let html = live.html();
    assert!(html.contains("name-error") && html.contains("email-error") && !html.contains("password-error"));

    // The email passes: its error goes, the name's stays.
    let reply = live
        .act(
            "validate",
            json!({"name": " ", "email": "ada@x", "password": "", "_unused_password": ""}),
        )
        .await;
    assert_eq!(reply["e"], "name: is required");
    let html = live.html();
    assert!(html.contains("name-error") && !html.contains("email-error"), "{html}");

    // Nothing used yet fails: no error to show, nothing shown.
    let mut fresh = Live::open(server.local_addr()).await;
    let reply = fresh
        .act(
            "validate",
            json!({"name": "", "email": "", "password": "", "_unused_name": "", "_unused_email": "", "_unused_password": ""}),
        )
        .await;
    assert!(reply.get("e").is_none(), "{reply}");
    assert!(!fresh.html().contains("field-error"));

    // A submit: every error shows.
    let reply = live
        .act("signup", json!({"name": "", "email": "ada@x", "password": "short"}))
        .await;
    assert_eq!(reply["e"], "name: is required; password: must be at least 8 characters");
    let html = live.html();
    assert!(html.contains("name-error") && html.contains("password-error") && !html.contains("email-error"));

    // The coupon form's failure leaves the signup errors alone.
    let reply = live.act("redeem", json!({"code": "nope"})).await;
    assert_eq!(reply["e"], "unknown coupon code `nope`");
    assert!(
        live.html().contains("name-error"),
        "an unrelated action keeps the errors"
    );

    // A good submit: the errors go, the form empties, the welcome shows.
    let reply = live
        .act(
            "signup",
            json!({"name": "Ada", "email": "ada@x", "password": "longenough"}),
        )
        .await;
    assert!(reply.get("e").is_none(), "{reply}");
    let html = live.html();
    assert!(!html.contains("field-error"), "{html}");
    assert!(html.contains("Welcome, Ada!"), "{html}");
    assert!(
        !html.contains(r#"id="signup""#),
        "the welcome replaces the form: {html}"
    );
    live.act("again", json!({})).await;
    let html = live.html();
    assert!(
        html.contains(r#"id="signup""#) && !html.contains(r#"value="ada@x""#),
        "an empty form: {html}"
    );
}

/// A raw HTTP request; the status, the cookie it set (if any) and the body.
async fn http(addr: SocketAddr, head: &str, body: &str) -> (u16, Option<String>, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).unwrap_or("0").parse().unwrap();
    let cookie = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .map(|c| c.split(';').next().unwrap().to_string());
    (status, cookie, text)
}

async fn post(addr: SocketAddr, body: &str, cookie: Option<&str>) -> (u16, Option<String>, String) {
    let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    let head = format!(
        "POST /forms HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{cookie}Connection: close\r\n\r\n",
        body.len()
    );
    http(addr, &head, body).await
}

async fn get(addr: SocketAddr, cookie: &str) -> String {
    let head = format!("GET /forms HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n");
    http(addr, &head, "").await.2
}

#[tokio::test]
async fn a_failed_no_js_post_answers_422_with_the_values_and_errors_in_place() {
    let server = start().await;
    let addr = server.local_addr();
    let (status, cookie, page) = post(addr, "name=Ada+L&email=ada&password=short&signup=", None).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains(r#"value="Ada L""#) && page.contains(r#"value="ada""#),
        "typed values kept: {page}"
    );
    assert!(page.contains(r#"id="email-error">must contain @<"#), "{page}");
    assert!(
        page.contains(r#"id="password-error">must be at least 8 characters<"#),
        "{page}"
    );
    assert!(!page.contains("name-error"), "{page}");
    assert!(
        !page.contains("data-lvt-post-error"),
        "the errors are in the page, no banner: {page}"
    );
    assert!(
        page.contains("<!DOCTYPE html>") && page.contains("/_lvt/"),
        "a whole page with its client: {page}"
    );
    let cookie = cookie.expect("a group cookie");

    // Nothing was kept: the page as before.
    let html = get(addr, &cookie).await;
    assert!(
        !html.contains("field-error") && !html.contains(r#"value="ada""#),
        "{html}"
    );

    // The other form's failure: not a FieldErrors, so the banner, around the page.
    let (status, _, page) = post(addr, "code=nope&redeem=", Some(&cookie)).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("data-lvt-post-error>unknown coupon code `nope`<"),
        "{page}"
    );

    // A good sign-up: 303, and the page says welcome.
    let (status, _, _) = post(
        addr,
        "name=Ada&email=ada%40x&password=longenough&signup=",
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 303);
    let html = get(addr, &cookie).await;
    assert!(
        html.contains("Welcome, Ada!") && !html.contains("field-error"),
        "{html}"
    );
}
