//! The live WebSocket against a real server on 127.0.0.1:0, with tokio-tungstenite as the
//! client: frames, errors that keep the connection, and the close codes.

#![allow(clippy::unwrap_used)]

mod support;

use futures_util::SinkExt;
use livetemplate_core::testing::ClientTree;
use livetemplate_hyper::Server;
use support::{app, close_frame, http, next_json, next_text, send, ws_connect, ws_open};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

async fn server() -> Server {
    Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap()
}

fn close_code(frame: Option<tungstenite::protocol::CloseFrame>) -> u16 {
    u16::from(frame.expect("a close frame with a code").code)
}

#[tokio::test]
async fn actions_return_frames_and_rebuild_the_page() {
    let server = server().await;
    let addr = server.local_addr();
    let mut ws = ws_open(addr, "/counter").await;
    let mut client = ClientTree::new();

    let first = next_text(&mut ws).await;
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["v"], 2, "the first frame states the protocol version: {first}");
    client.apply(&first).unwrap();
    assert_eq!(client.html(), "<p>0</p><pre></pre>");

    send(&mut ws, r#"{"a":"increment","r":1}"#).await;
    let reply = next_text(&mut ws).await;
    assert!(reply.contains("\"r\":1"), "{reply}");
    client.apply(&reply).unwrap();
    assert_eq!(client.html(), "<p>1</p><pre></pre>");

    send(&mut ws, r#"{"a":"save-notes","d":{"notes":"a <b>\n  c"},"r":2}"#).await;
    client.apply(&next_text(&mut ws).await).unwrap();
    assert_eq!(client.html(), "<p>1</p><pre>a &lt;b&gt;\n  c</pre>");

    send(&mut ws, r#"{"h":1}"#).await;
    assert_eq!(next_json(&mut ws).await, serde_json::json!({"h": 1}));

    // Nothing changed: still exactly one reply carrying the ref.
    send(&mut ws, r#"{"a":"save_notes","d":{"notes":"a <b>\n  c"},"r":3}"#).await;
    assert_eq!(next_json(&mut ws).await["r"], 3);

    ws.close(None).await.unwrap();
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_page_that_panics_and_cannot_mount_again_is_closed_1011_after_its_error_frame() {
    let server = server().await;
    let addr = server.local_addr();
    let mut ws = ws_open(addr, "/counter").await;
    next_text(&mut ws).await;
    send(&mut ws, r#"{"a":"crash","r":1}"#).await;
    // The action's answer: the generic error with its reference, no tree (mounting again failed)...
    let reply = next_json(&mut ws).await;
    assert_eq!(reply["r"], 1, "{reply}");
    assert!(
        reply["e"].as_str().unwrap().starts_with("internal error (ref "),
        "{reply}"
    );
    assert!(reply.get("t").is_none(), "{reply}");
    // ...then the close, over the real socket, so the browser reconnects.
    let frame = close_frame(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1011);
    assert_eq!(frame.reason.as_str(), "page failed to restart");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_socket_shares_the_pages_group() {
    let server = server().await;
    let addr = server.local_addr();
    let page = http(addr, "GET /counter HTTP/1.1", b"").await;
    let cookie = page.group_cookie().unwrap();
    let mut ws = ws_connect(addr, "/counter", Some(&format!("http://{addr}")), Some(&cookie))
        .await
        .unwrap();
    next_text(&mut ws).await;
    send(&mut ws, r#"{"a":"increment","r":1}"#).await;
    next_text(&mut ws).await;
    let again = http(addr, &format!("GET /counter HTTP/1.1\r\nCookie: {cookie}"), b"").await;
    assert!(
        again.text().contains("<p>1</p>"),
        "persisted for the group: {}",
        again.text()
    );
    ws.close(None).await.unwrap();
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_messages_get_error_frames_and_the_connection_stays() {
    let server = server().await;
    let addr = server.local_addr();
    let mut ws = ws_open(addr, "/counter").await;
    next_text(&mut ws).await;

    send(&mut ws, r#"{"a":"x","r":5}"#).await;
    let err = next_json(&mut ws).await;
    assert_eq!(
        err,
        serde_json::json!({"r": 5, "e": "action `x` not found on /counter; known: increment, save_notes, fail, slow, leave, page_two, crash"})
    );

    send(&mut ws, "{not json").await;
    let err = next_json(&mut ws).await;
    assert!(err["e"].as_str().unwrap().starts_with("malformed frame"), "{err}");
    assert!(err.get("r").is_none());

    send(&mut ws, r#"{"a":7,"r":6}"#).await;
    assert_eq!(
        next_json(&mut ws).await,
        serde_json::json!({"r": 6, "e": "malformed frame: action `a` must be a string (the action's name)"})
    );

    send(&mut ws, r#"{"d":{},"r":9}"#).await;
    assert_eq!(
        next_json(&mut ws).await,
        serde_json::json!({"r": 9, "e": "malformed frame: missing action `a`"})
    );

    send(&mut ws, r#"{"a":"fail","r":7}"#).await;
    assert_eq!(
        next_json(&mut ws).await,
        serde_json::json!({"r": 7, "e": "nope: this action always fails"})
    );

    // Still up, state untouched by all of the above.
    send(&mut ws, r#"{"a":"increment","r":8}"#).await;
    let ok = next_json(&mut ws).await;
    assert_eq!(ok["r"], 8);
    assert!(ok.get("e").is_none(), "{ok}");
    assert_eq!(ok["d"]["0"], 1, "{ok}");
    ws.close(None).await.unwrap();
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_frame_of_exactly_the_limit_is_accepted_one_byte_more_closes_1009() {
    let server = Server::bind("127.0.0.1:0", app(|c| c.max_frame_bytes = 4096))
        .await
        .unwrap();
    let addr = server.local_addr();
    let mut ws = ws_open(addr, "/counter").await;
    next_text(&mut ws).await;
    let frame = |len: usize| {
        let head = r#"{"a":"increment","r":1,"d":{"pad":""#;
        let tail = r#""}}"#;
        format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
    };
    send(&mut ws, &frame(4096)).await;
    assert_eq!(next_json(&mut ws).await["r"], 1);

    send(&mut ws, &frame(4097)).await;
    assert_eq!(close_code(close_frame(&mut ws).await), 1009);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_large_frame_closes_1009() {
    let server = server().await;
    let addr = server.local_addr();
    let mut ws = ws_open(addr, "/counter").await;
    next_text(&mut ws).await;
    ws.send(Message::text("x".repeat(200 * 1024))).await.unwrap();
    assert_eq!(close_code(close_frame(&mut ws).await), 1009);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_fragmented_message_over_the_limit_closes_1009() {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    let server = Server::bind("127.0.0.1:0", app(|c| c.max_frame_bytes = 1000))
        .await
        .unwrap();
    let addr = server.local_addr();
    let mut ws = ws_open(addr, "/counter").await;
    next_text(&mut ws).await;

    // Within the limit in fragments: reassembled and run.
    let msg = br#"{"a":"increment","r":1}"#;
    let (a, b) = msg.split_at(10);
    ws.send(Message::Frame(Frame::message(
        a.to_vec(),
        OpCode::Data(Data::Text),
        false,
    )))
    .await
    .unwrap();
    ws.send(Message::Frame(Frame::message(
        b.to_vec(),
        OpCode::Data(Data::Continue),
        true,
    )))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await["r"], 1);

    // Each fragment is small, the message is not.
    ws.send(Message::Frame(Frame::message(
        vec![b' '; 600],
        OpCode::Data(Data::Text),
        false,
    )))
    .await
    .unwrap();
    ws.send(Message::Frame(Frame::message(
        vec![b' '; 600],
        OpCode::Data(Data::Continue),
        false,
    )))
    .await
    .unwrap();
    assert_eq!(close_code(close_frame(&mut ws).await), 1009);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn binary_frames_that_are_not_upload_chunks_close_1003() {
    let server = server().await;
    let addr = server.local_addr();
    let mut ws = ws_open(addr, "/counter").await;
    next_text(&mut ws).await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let frame = close_frame(&mut ws).await;
    assert_eq!(frame.as_ref().map(|f| f.code), Some(CloseCode::Unsupported));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn cross_origin_and_origin_less_upgrades_are_refused_with_403() {
    let server = server().await;
    let addr = server.local_addr();
    for origin in [Some("http://evil.test"), Some("null"), None] {
        match ws_connect(addr, "/counter", origin, None).await {
            Err(tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 403, "origin {origin:?}")
            }
            Err(other) => panic!("origin {origin:?}: expected an HTTP 403, got {other}"),
            Ok(_) => panic!("origin {origin:?}: the upgrade must be refused"),
        }
    }
    match ws_connect(addr, "/missing", Some(&format!("http://{addr}")), None).await {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 404),
        other => panic!("expected 404, got {:?}", other.map(|_| ())),
    }
    assert_eq!(server.service().live_connections(), 0);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_allowed_origin_may_connect() {
    let server = Server::bind(
        "127.0.0.1:0",
        app(|c| c.allowed_origins.push("https://app.example.com".into())),
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    let mut ws = ws_connect(addr, "/counter", Some("https://app.example.com"), None)
        .await
        .unwrap();
    next_text(&mut ws).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn pings_are_answered_and_a_client_close_is_echoed() {
    let server = server().await;
    let addr = server.local_addr();
    let mut ws = ws_open(addr, "/counter").await;
    next_text(&mut ws).await;
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    use futures_util::StreamExt;
    let pong = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"hi".to_vec().into()));
    ws.close(None).await.unwrap();
    // The server answers our close; the stream then ends cleanly.
    let end = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert!(
        matches!(end, Some(Ok(Message::Close(_))) | None),
        "expected the close echo, got {end:?}"
    );
    // The connection is gone from the server's count soon after.
    for _ in 0..100 {
        if server.service().live_connections() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(server.service().live_connections(), 0);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unmasked_client_frame_closes_1002() {
    use support::raw::{CLOSE, RawWs, TEXT, frame_with};
    let server = server().await;
    let addr = server.local_addr();
    let mut ws = RawWs::open(addr, "/counter").await;
    assert_eq!(ws.next().await.0, TEXT, "the first render");

    // The same bytes masked are read and answered (the framing above is right) ...
    let masked = frame_with(
        true,
        TEXT,
        br#"{"a":"increment","r":1}"#,
        Some([0x12, 0x34, 0x56, 0x78]),
    );
    ws.send(&masked).await;
    let (op, reply) = ws.next().await;
    assert_eq!(op, TEXT);
    let reply: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(reply["r"], 1, "{reply}");

    // ... unmasked, RFC 6455 section 5.1 says the server must close the connection: the next
    // frame is the close, not a reply to the action.
    ws.send(&frame_with(true, TEXT, br#"{"a":"increment","r":2}"#, None))
        .await;
    let (op, payload) = ws.next().await;
    assert_eq!(
        op,
        CLOSE,
        "expected a close frame, got {}",
        String::from_utf8_lossy(&payload)
    );
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1002);
    assert_eq!(&payload[2..], b"client frames must be masked");
    server.shutdown().await.unwrap();
}
