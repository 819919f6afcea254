//! `/navigation` against a real server on 127.0.0.1:0: its layout and titles on GET, live
//! navigation and `push_navigate` on one WebSocket, and the flash across the no-JS `303`.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use example_patterns::pages::{counter, navigation};
use livetemplate::testing::ClientTree;
use livetemplate::{App, Server};
use serde_json::json;

use common::{header, http, next, send, ws};

async fn server() -> Server {
    let app = navigation::register(counter::register(App::builder().title("Patterns")))
        .build()
        .unwrap();
    Server::bind("127.0.0.1:0", app).await.unwrap()
}

fn cookie_of(headers: &[(String, String)]) -> String {
    common::cookie_of(headers).unwrap()
}

async fn get(addr: SocketAddr, path: &str, cookie: &str) -> String {
    http(addr, &format!("GET {path} HTTP/1.1\r\nCookie: {cookie}"), "")
        .await
        .2
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
