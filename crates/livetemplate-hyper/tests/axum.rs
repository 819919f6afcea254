//! The app mounted inside an axum `Router`: pages, the form path and the live socket all
//! work through axum, next to the router's own routes.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use livetemplate_hyper::LiveService;
use support::{app, close_frame, http, next_json, next_text, send, ws_open};

#[tokio::test]
async fn mounted_as_a_fallback_service() {
    let live = LiveService::new(app(|_| {}));
    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .fallback_service(live.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    assert_eq!(http(addr, "GET /health HTTP/1.1", b"").await.text(), "ok");
    let page = http(addr, "GET /counter HTTP/1.1", b"").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<p>0</p>"));
    let cookie = page.group_cookie().unwrap();
    assert_eq!(http(addr, "GET /elsewhere HTTP/1.1", b"").await.status, 404);

    let post = http(
        addr,
        &format!(
            "POST /counter HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nOrigin: http://{addr}\r\nCookie: {cookie}"
        ),
        b"increment=",
    )
    .await;
    assert_eq!(post.status, 303);

    let js = http(addr, "GET /_lvt/client.js HTTP/1.1", b"").await;
    assert_eq!(js.status, 200);

    let mut ws = ws_open(addr, "/counter").await;
    next_text(&mut ws).await;
    send(&mut ws, r#"{"a":"increment","r":1}"#).await;
    assert_eq!(next_json(&mut ws).await["r"], 1);

    // Stop axum from accepting, then shut the live service down: sockets get 1001.
    stop.send(()).unwrap();
    let service = live.clone();
    let shutdown = tokio::spawn(async move { service.shutdown().await });
    let frame = close_frame(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1001);
    shutdown.await.unwrap().unwrap();
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn mounted_on_one_route() {
    let live = LiveService::new(app(|_| {}));
    let router = Router::new()
        .route_service("/counter", live.clone())
        .route_service("/_lvt/client.js", live.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let page = http(addr, "GET /counter HTTP/1.1", b"").await;
    assert_eq!(page.status, 200);
    let mut ws = ws_open(addr, "/counter").await;
    next_text(&mut ws).await;
    live.shutdown().await.unwrap();
    assert_eq!(u16::from(close_frame(&mut ws).await.unwrap().code), 1001);
    server.abort();
}
