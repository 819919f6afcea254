//! Limits slow a client down instead of dropping its state, against a real server on
//! 127.0.0.1:0: a burst past the rate is applied in order, pings count toward the rate, only
//! a sustained flood is closed (1008), a frame over the outbound limit closes with 1009 and a
//! server log, and `trigger_action` waits for a full push queue.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use livetemplate_core::GroupId;
use livetemplate_core::testing::TestPage;
use livetemplate_hyper::Server;
use serde_json::{Value, json};
use support::{app, close_frame, http, next_text, send, ws_connect, ws_open};
use tokio_tungstenite::tungstenite::Message;

/// Every log line of this test binary, for the tests that check what the server logged.
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    static INIT: OnceLock<()> = OnceLock::new();
    let buffer = LOGS.get_or_init(|| Mutex::new(Vec::new()));
    INIT.get_or_init(|| {
        struct Sink;
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                logs().lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let _ = tracing_subscriber::fmt()
            .with_writer(|| Sink)
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .try_init();
    });
    buffer
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

/// 300 actions sent back to back, at once, against the default rate (50/s, burst 100): all
/// are answered in order, the count is 300, and the socket stays open.
#[tokio::test]
async fn a_burst_past_the_rate_is_applied_in_order_without_a_close() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let ws = ws_open(server.local_addr(), "/counter").await;
    let (mut sink, mut stream) = ws.split();
    let _first = stream.next().await.unwrap().unwrap();
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        for r in 1..=300 {
            sink.send(Message::text(format!(r#"{{"a":"increment","r":{r}}}"#)))
                .await
                .unwrap();
        }
        sink
    });
    let mut expected = 1;
    while expected <= 300 {
        let msg = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("a reply within 30 s")
            .expect("the socket stays open")
            .unwrap();
        let Message::Text(text) = msg else {
            panic!("expected a reply, got {msg:?}");
        };
        let v: Value = serde_json::from_str(text.as_str()).unwrap();
        assert_eq!(v["r"], expected, "replies in order: {v}");
        assert!(v.get("e").is_none(), "{v}");
        assert_eq!(v["d"]["0"], expected, "each action applied once, in order: {v}");
        expected += 1;
    }
    // The last 200 waited for tokens: 4 s at 50/s (generous margin for a noisy machine).
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(3), "the burst was paced: {took:?}");
    let mut sink = sender.await.unwrap();
    sink.send(Message::text(r#"{"h":1}"#)).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(matches!(msg, Some(Ok(Message::Text(_)))), "still open: {msg:?}");
    server.shutdown().await.unwrap();
}

/// Pings take tokens like messages: 500 pings at 100/s (burst 50) get their 500 pongs no
/// faster than the bucket allows (4.5 s), and the connection stays usable.
#[tokio::test]
async fn pings_count_toward_the_rate() {
    let server = Server::bind(
        "127.0.0.1:0",
        app(|c| {
            c.rate_per_sec = 100.0;
            c.rate_burst = 50.0;
            c.flood_close_after = Duration::from_secs(120);
        }),
    )
    .await
    .unwrap();
    let ws = ws_open(server.local_addr(), "/counter").await;
    let (mut sink, mut stream) = ws.split();
    let _first = stream.next().await.unwrap().unwrap();
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        for i in 0..500u32 {
            sink.send(Message::Ping(i.to_be_bytes().to_vec().into())).await.unwrap();
        }
        sink
    });
    let mut pongs = 0;
    while pongs < 500 {
        let msg = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("a pong within 30 s")
            .expect("the socket stays open")
            .unwrap();
        match msg {
            Message::Pong(payload) => {
                assert_eq!(payload.as_ref(), (pongs as u32).to_be_bytes(), "pongs in order");
                pongs += 1;
            }
            other => panic!("expected a pong, got {other:?}"),
        }
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(3500),
        "pongs were paced by the rate: {took:?}"
    );
    let mut sink = sender.await.unwrap();
    sink.send(Message::text(r#"{"a":"increment","r":1}"#)).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    let Some(Ok(Message::Text(reply))) = msg else {
        panic!("expected the reply, got {msg:?}");
    };
    assert!(reply.as_str().contains(r#""r":1"#), "{reply}");
    server.shutdown().await.unwrap();
}

/// A client that never stops sending past the rate is closed with 1008 `message flood`, once
/// it has kept the throttle engaged for `flood_close_after`, not at the first refused token;
/// everything it sent until then was applied.
#[tokio::test]
async fn a_sustained_flood_closes_1008_after_the_configured_time() {
    let server = Server::bind(
        "127.0.0.1:0",
        app(|c| {
            c.rate_per_sec = 20.0;
            c.rate_burst = 10.0;
            c.flood_close_after = Duration::from_secs(1);
        }),
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    let ws = ws_open(addr, "/counter").await;
    let (mut sink, mut stream) = ws.split();
    let _first = stream.next().await.unwrap().unwrap();
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        let mut r = 1u64;
        while sink
            .send(Message::text(format!(r#"{{"a":"increment","r":{r}}}"#)))
            .await
            .is_ok()
        {
            r += 1;
        }
    });
    let mut replies = 0;
    let close = loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("closed within 20 s");
        match msg {
            Some(Ok(Message::Text(_))) => replies += 1,
            Some(Ok(Message::Close(frame))) => break frame,
            other => panic!("expected replies then a close frame, got {other:?}"),
        }
    };
    let took = started.elapsed();
    let close = close.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(close.reason.as_str(), "message flood");
    // The burst plus about 1 s at 20/s (30) were applied before the close; the old rule
    // closed at the 11th.
    assert!(replies >= 20, "{replies} replies before the close");
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");
    sender.abort();

    // Other connections do not notice.
    let mut other = ws_open(addr, "/counter").await;
    next_text(&mut other).await;
    send(&mut other, r#"{"a":"increment","r":1}"#).await;
    assert!(next_text(&mut other).await.contains(r#""r":1"#));
    server.shutdown().await.unwrap();
}

/// Pings alone, sent without pause, are a flood like any other frames.
#[tokio::test]
async fn a_ping_flood_closes_1008() {
    let server = Server::bind(
        "127.0.0.1:0",
        app(|c| {
            c.rate_per_sec = 20.0;
            c.rate_burst = 10.0;
            c.flood_close_after = Duration::from_secs(1);
        }),
    )
    .await
    .unwrap();
    let ws = ws_open(server.local_addr(), "/counter").await;
    let (mut sink, mut stream) = ws.split();
    let _first = stream.next().await.unwrap().unwrap();
    let sender = tokio::spawn(async move { while sink.send(Message::Ping(vec![1].into())).await.is_ok() {} });
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("closed within 20 s")
        {
            Some(Ok(Message::Pong(_))) => continue,
            Some(Ok(Message::Close(frame))) => break frame.expect("a close frame with a code"),
            other => panic!("expected pongs then a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(close.reason.as_str(), "message flood");
    sender.abort();
    server.shutdown().await.unwrap();
}

/// A reply over `max_outbound_frame_bytes` is not sent: the connection closes with 1009 and
/// a reason saying so, and the server logs page, size and limit. The notes were persisted, so
/// the next connection's first frame is over the limit too and is closed the same way
/// before any frame.
#[tokio::test]
async fn a_frame_over_the_outbound_limit_closes_1009_with_a_reason_and_a_log() {
    logs();
    let server = Server::bind("127.0.0.1:0", app(|c| c.max_outbound_frame_bytes = 2000))
        .await
        .unwrap();
    let addr = server.local_addr();
    let page = http(addr, "GET /counter HTTP/1.1", b"").await;
    let cookie = page.group_cookie().unwrap();
    let origin = format!("http://{addr}");
    let mut ws = ws_connect(addr, "/counter", Some(&origin), Some(&cookie))
        .await
        .unwrap();
    next_text(&mut ws).await;
    let notes = "x".repeat(3000);
    send(
        &mut ws,
        &json!({"a": "save_notes", "d": {"notes": notes}, "r": 1}).to_string(),
    )
    .await;
    let close = close_frame(&mut ws).await.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 1009);
    assert!(
        close.reason.as_str().starts_with("page update too large (") && close.reason.contains("the limit is 2000"),
        "{}",
        close.reason
    );
    let log = logged();
    let line = log
        .lines()
        .find(|l| l.contains("max_outbound_frame_bytes"))
        .unwrap_or_else(|| panic!("a warning in the server log: {log}"));
    assert!(line.contains("WARN") && line.contains("/counter"), "{line}");
    assert!(line.contains("limit=2000") && line.contains("size=30"), "{line}");

    let mut again = ws_connect(addr, "/counter", Some(&origin), Some(&cookie))
        .await
        .unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), again.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Close(Some(close)) = msg else {
        panic!("expected the close before any frame, got {msg:?}");
    };
    assert_eq!(u16::from(close.code), 1009);
    server.shutdown().await.unwrap();
}

/// `trigger_action` on a connection whose push queue is full waits for room instead of
/// closing it: 20 triggers while the page runs a slow action, with a queue of 2, all arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_action_waits_for_a_full_push_queue() {
    let app = Arc::new(app(|c| c.push_queue = 2));
    let group = GroupId::random();
    let mut page = TestPage::connect(app.clone(), "/counter", group.clone()).await.unwrap();
    let session = app.session("/counter", &group);
    let triggers = async {
        // Let the slow action start first, so the pushes queue up behind it.
        tokio::time::sleep(Duration::from_millis(50)).await;
        for _ in 0..20 {
            session.trigger_action("increment", json!({})).await.unwrap();
        }
    };
    let (slow, ()) = tokio::join!(page.act("slow", Value::Null), triggers);
    assert!(slow.closed().is_none(), "{:?}", slow.closed());
    let deadline = Instant::now() + Duration::from_secs(10);
    while page.html() != "<p>120</p><pre></pre>" {
        assert!(Instant::now() < deadline, "all 20 pushes applied: {}", page.html());
        if let Some(push) = page.next_push(Duration::from_secs(5)).await {
            assert!(push.closed().is_none(), "{:?}", push.closed());
        }
    }
    assert_eq!(app.hub().slow_closed(), 0);
    let frame = page.act("increment", Value::Null).await;
    assert!(frame.closed().is_none());
    assert_eq!(page.html(), "<p>121</p><pre></pre>");
}

/// Without the WebSocket transport (`run_connection` as any transport or `TestPage::connect`
/// drives it) the rate paces messages the same way: 60 actions at 100/s with a burst of 10
/// are all answered, none is refused, and the connection stays open.
#[tokio::test]
async fn run_connection_paces_messages_for_any_transport() {
    let app = Arc::new(app(|c| {
        c.rate_per_sec = 100.0;
        c.rate_burst = 10.0;
    }));
    let mut page = TestPage::connect(app, "/counter", GroupId::random()).await.unwrap();
    let started = Instant::now();
    for i in 1..=60 {
        let frame = page.act("increment", Value::Null).await;
        assert!(frame.closed().is_none() && frame.error().is_none(), "{}", frame.text());
        assert_eq!(page.html(), format!("<p>{i}</p><pre></pre>"));
    }
    // 50 of them waited for a token: 0.5 s at 100/s.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}
