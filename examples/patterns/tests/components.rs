//! `/components` on a real server on loopback: the GET's HTML, the no-JS POST with
//! `lvt-target`, and a WebSocket whose frames (rebuilt by the reference client) show a
//! component action's reply without the page's dynamics, the total following, and the
//! persisted counter surviving a new connection.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use example_patterns::pages::components;
use livetemplate::testing::ClientTree;
use livetemplate::{App, Server};
use serde_json::{Value, json};

use common::{Ws, cookie_of, http, next, send};

async fn server() -> Server {
    let app = components::register(App::builder()).build().unwrap();
    Server::bind("127.0.0.1:0", app).await.unwrap()
}

fn post(addr: SocketAddr, cookie: &str) -> String {
    format!(
        "POST /components HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nOrigin: http://{addr}\r\nCookie: {cookie}"
    )
}

#[tokio::test]
async fn without_javascript_forms_target_their_counter() {
    let server = server().await;
    let addr = server.local_addr();
    let (status, headers, html) = http(addr, "GET /components HTTP/1.1", "").await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("<div lvt-component=").count(), 3, "{html}");
    assert!(html.contains(r#"<input type="hidden" name="lvt-target" value="third">"#));
    let cookie = cookie_of(&headers).unwrap();

    for body in [
        "lvt-target=third&inc=",
        "lvt-target=third&inc=",
        "lvt-target=first&dec=",
    ] {
        let (status, headers, _) = http(addr, &post(addr, &cookie), body).await;
        assert_eq!(status, 303);
        assert!(headers.iter().any(|(k, v)| k == "location" && v == "/components"));
    }
    let (status, _, _) = http(addr, &post(addr, &cookie), "lvt-target=second&name=Bob&rename=").await;
    assert_eq!(status, 303);
    let (_, _, html) = http(addr, &format!("GET /components HTTP/1.1\r\nCookie: {cookie}"), "").await;
    assert!(html.contains(r#"<strong id="total">1</strong>"#), "{html}");
    assert!(html.contains("<h4>Second: Bob</h4>"), "{html}");
    let counts: Vec<&str> = html
        .split(r#"<strong class="count">"#)
        .skip(1)
        .map(|s| s.split('<').next().unwrap())
        .collect();
    assert_eq!(counts, ["-1", "0", "2"]);

    // An instance the page does not have.
    let (status, _, html) = http(addr, &post(addr, &cookie), "lvt-target=fourth&inc=").await;
    assert_eq!(status, 422);
    assert!(html.contains("no component `fourth` on /components"), "{html}");
    server.shutdown().await.unwrap();
}

async fn ws(addr: SocketAddr, cookie: &str) -> Ws {
    common::ws(addr, "/components", cookie).await
}

#[tokio::test]
async fn over_a_websocket_a_counter_renders_alone_and_the_saved_one_survives() {
    let server = server().await;
    let addr = server.local_addr();
    let (_, headers, _) = http(addr, "GET /components HTTP/1.1", "").await;
    let cookie = cookie_of(&headers).unwrap();

    let mut socket = ws(addr, &cookie).await;
    let mut client = ClientTree::new();
    let first = next(&mut socket, &mut client).await;
    assert_eq!(first["c"].as_object().unwrap().len(), 3, "{first}");
    assert_eq!(client.component_ids().len(), 3);

    // A rename changes only the instance: no `"d"`.
    let reply = send(
        &mut socket,
        &mut client,
        json!({"a": "rename", "d": {"name": "Ann"}, "r": 1, "t": "first"}),
    )
    .await;
    assert!(reply.get("d").is_none(), "{reply}");
    assert_eq!(reply["c"].as_object().unwrap().len(), 1, "{reply}");
    assert!(client.html().contains("<h4>First: Ann</h4>"));

    // `+` on the saved counter: its diff, and the page's total through `send_parent`.
    for r in 2..4 {
        let reply = send(&mut socket, &mut client, json!({"a": "inc", "r": r, "t": "third"})).await;
        // The page's diff is the total's slot alone.
        assert_eq!(reply["d"].as_object().unwrap().len(), 1, "{reply}");
        assert_eq!(reply["c"].as_object().unwrap().len(), 1, "{reply}");
        assert!(
            client
                .html()
                .contains(&format!(r#"<strong id="total">{}</strong>"#, r - 1))
        );
    }
    assert!(
        client.html().contains(r#"<strong id="total">2</strong>"#),
        "{}",
        client.html()
    );
    // The form's hidden field works as `t` does.
    send(
        &mut socket,
        &mut client,
        json!({"a": "dec", "d": {"lvt-target": "second"}, "r": 4}),
    )
    .await;
    assert!(client.html().contains(r#"<strong id="total">1</strong>"#));
    let reply = send(&mut socket, &mut client, json!({"a": "inc", "r": 5, "t": "nobody"})).await;
    assert_eq!(reply["e"], "no component `nobody` on /components");
    drop(socket);

    // A new connection (a reload): the saved counter's count and the total come back.
    let mut socket = ws(addr, &cookie).await;
    let mut client = ClientTree::new();
    next(&mut socket, &mut client).await;
    let html = client.html();
    assert!(html.contains(r#"<strong id="total">2</strong>"#), "{html}");
    assert!(html.contains("<h4>First</h4>"), "not saved: {html}");
    server.shutdown().await.unwrap();
}

/// Two tabs of one browser: `+` on the saved counter in one shows the new count in the
/// other (the group's persisted change), and the other's total follows it.
#[tokio::test]
async fn another_tab_of_the_browser_shows_the_saved_count_and_its_total() {
    use livetemplate::GroupId;
    use livetemplate::testing::TestPage;
    use std::sync::Arc;

    let app = Arc::new(components::register(App::builder()).build().unwrap());
    let group = GroupId::random();
    let mut a = TestPage::connect(app.clone(), "/components", group.clone())
        .await
        .unwrap();
    let mut b = TestPage::connect(app, "/components", group).await.unwrap();
    for _ in 0..2 {
        let reply = a.component("third").act("inc", Value::Null).await;
        assert!(reply.error().is_none(), "{}", reply.text());
    }
    assert!(a.html().contains(r#"<strong id="total">2</strong>"#), "{}", a.html());
    // The other tab: its pushes arrive without a request.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !(b.html().contains(r#"<strong class="count">2</strong>"#)
        && b.html().contains(r#"<strong id="total">2</strong>"#))
    {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if b.next_push(left).await.is_none() {
            break;
        }
    }
    let html = b.html();
    assert!(
        html.contains(r#"<strong class="count">2</strong>"#),
        "count not shown: {html}"
    );
    assert!(
        html.contains(r#"<strong id="total">2</strong>"#),
        "total does not follow: {html}"
    );
}
