//! The live WebSocket takes its session group the way pages do: only from a cookie the
//! server signed (here with the key the app generated and keeps in its store); a forged
//! cookie on the upgrade gets a new group with the 101, never the group it names.

#![allow(clippy::unwrap_used)]

mod support;

use livetemplate_core::GroupId;
use livetemplate_hyper::Server;
use support::{app, http, next_json, send};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Open the counter's socket with `cookie`; the socket and the 101's `lvt_group` cookie value,
/// if it set one.
async fn open(addr: std::net::SocketAddr, cookie: &str) -> (support::Ws, Option<String>) {
    let mut req = format!("ws://{addr}/counter").into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert("origin", HeaderValue::from_str(&format!("http://{addr}")).unwrap());
    h.insert("cookie", HeaderValue::from_str(cookie).unwrap());
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    let set = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next()?.strip_prefix("lvt_group="))
        .map(str::to_string);
    (ws, set)
}

#[tokio::test]
async fn a_forged_cookie_on_the_upgrade_gets_a_new_group() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let addr = server.local_addr();
    // A real group, counted to 7 over the socket.
    let first = http(addr, "GET /counter HTTP/1.1", b"").await;
    let mine = first.group_cookie().unwrap();
    let (mut ws, set) = open(addr, &mine).await;
    assert_eq!(set, None, "a valid cookie is kept");
    next_json(&mut ws).await;
    for r in 1..=7 {
        send(&mut ws, &format!(r#"{{"a":"increment","r":{r}}}"#)).await;
        next_json(&mut ws).await;
    }
    drop(ws);
    let value = mine.strip_prefix("lvt_group=").unwrap();
    let (id, signature) = value.split_once('.').unwrap();

    let forged = [
        GroupId::random().as_str().to_string(),
        format!("{}.{signature}", GroupId::random().as_str()),
        format!("{id}.{}", "A".repeat(signature.len())),
        id.to_string(),
    ];
    for value in forged {
        let (mut ws, set) = open(addr, &format!("lvt_group={value}")).await;
        let set = set.unwrap_or_else(|| panic!("{value}: the 101 must hand out a new group"));
        assert_ne!(set.split('.').next(), Some(id));
        let first = next_json(&mut ws).await.to_string();
        // The count (7 in the cookie's own group) is on the wire as the JSON number 7.
        assert!(first.contains("<p>") && !first.contains(":7"), "{value}: {first}");
    }

    // The valid cookie still reaches its group, also beside a bad one.
    let (mut ws, set) = open(addr, &format!("lvt_group=bad; {mine}")).await;
    assert_eq!(set, None);
    let first = next_json(&mut ws).await.to_string();
    assert!(first.contains(":7"), "{first}");
    server.shutdown().await.unwrap();
}
