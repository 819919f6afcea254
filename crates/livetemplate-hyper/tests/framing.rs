//! The WebSocket framing of the transport, byte by byte against a real server: fragments,
//! frames split or joined across TCP writes, extended lengths, close codes, and a client
//! that reads too slowly.

#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use livetemplate_hyper::Server;
use support::app;
use support::raw::{CLOSE, CONT, PING, PONG, RawWs, TEXT, close_code, frame};
use tokio::net::TcpSocket;

/// Opens `/counter` and reads the first render.
async fn open(addr: SocketAddr) -> RawWs {
    open_with(addr, TcpSocket::new_v4().unwrap()).await
}

async fn open_with(addr: SocketAddr, socket: TcpSocket) -> RawWs {
    let mut ws = RawWs::open_with(addr, "/counter", socket).await;
    assert_eq!(ws.next().await.0, TEXT, "the first render");
    ws
}

#[tokio::test]
async fn fragments_with_a_ping_between_them_make_one_message() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let mut ws = open(server.local_addr()).await;
    ws.send(&frame(false, TEXT, br#"{"a":"incr"#)).await;
    ws.send(&frame(true, PING, b"between")).await;
    ws.send(&frame(false, CONT, br#"ement","#)).await;
    ws.send(&frame(true, CONT, br#""r":1}"#)).await;
    assert_eq!(ws.next().await, (PONG, b"between".to_vec()));
    let reply = ws.next_json().await;
    assert_eq!(reply["r"], 1, "{reply}");
    assert_eq!(reply["d"]["0"], 1, "{reply}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn frames_joined_or_split_across_writes_are_read_at_their_boundaries() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let mut ws = open(server.local_addr()).await;
    // Three frames in one write; the third has a 16-bit length (padding is JSON whitespace).
    let mut bytes = frame(true, TEXT, br#"{"a":"increment","r":1}"#);
    bytes.extend(frame(true, TEXT, br#"{"h":1}"#));
    let long = format!(r#"{{"a":"increment",{}"r":2}}"#, " ".repeat(300));
    bytes.extend(frame(true, TEXT, long.as_bytes()));
    ws.send(&bytes).await;
    assert_eq!(ws.next_json().await["r"], 1);
    assert_eq!(ws.next_json().await, serde_json::json!({"h": 1}));
    assert_eq!(ws.next_json().await["d"]["0"], 2);
    // One frame a byte at a time.
    for b in frame(true, TEXT, br#"{"a":"increment","r":3}"#) {
        ws.send(&[b]).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let reply = ws.next_json().await;
    assert_eq!((reply["r"].as_u64(), reply["d"]["0"].as_u64()), (Some(3), Some(3)));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_close_with_a_code_no_peer_may_send_closes_1002() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let mut ws = open(server.local_addr()).await;
    ws.send(&frame(true, CLOSE, &1005u16.to_be_bytes())).await;
    let (op, payload) = ws.next().await;
    assert_eq!(op, CLOSE);
    assert_eq!(close_code(&payload), 1002);

    // A proper close is echoed with its code.
    let mut ws = open(server.local_addr()).await;
    let mut body = 4000u16.to_be_bytes().to_vec();
    body.extend_from_slice(b"bye");
    ws.send(&frame(true, CLOSE, &body)).await;
    let (op, payload) = ws.next().await;
    assert_eq!((op, payload), (CLOSE, body));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_message_over_the_limit_in_fragments_closes_1009() {
    let server = Server::bind("127.0.0.1:0", app(|c| c.max_frame_bytes = 1000))
        .await
        .unwrap();
    let mut ws = open(server.local_addr()).await;
    let part = vec![b' '; 600];
    ws.send(&frame(false, TEXT, &part)).await;
    ws.send(&frame(true, CONT, &part)).await;
    let (op, payload) = ws.next().await;
    assert_eq!(op, CLOSE);
    assert_eq!(close_code(&payload), 1009);
    server.shutdown().await.unwrap();
}

/// A client that sends actions and does not read their replies: once the kernel's buffers
/// and the connection's queue (2 frames here) are full, the connection waits for
/// `slow_client_timeout` (1 s), then closes with 1008 `client too slow`, sent after the
/// frames already queued when the client reads again.
#[tokio::test]
async fn a_client_that_does_not_read_is_closed_1008_too_slow() {
    let server = Server::bind(
        "127.0.0.1:0",
        app(|c| {
            c.outbound_queue = 2;
            c.slow_client_timeout = Duration::from_secs(1);
            c.rate_per_sec = f64::INFINITY;
            c.rate_burst = f64::INFINITY;
        }),
    )
    .await
    .unwrap();
    // A small receive window, so the server's writes stall soon.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut ws = open_with(server.local_addr(), socket).await;
    // Each reply carries 50 KB of notes; 400 of them are far more than the kernel buffers.
    let notes = "n".repeat(50_000);
    let started = Instant::now();
    for r in 1..=400 {
        let msg = format!(r#"{{"a":"save_notes","d":{{"notes":"{notes}{r}"}},"r":{r}}}"#);
        let sent = tokio::time::timeout(Duration::from_secs(1), ws.send(&frame(true, TEXT, msg.as_bytes()))).await;
        if sent.is_err() {
            // The server stopped reading us: its queue is full.
            break;
        }
    }
    // Wait past the slow-client timeout, then read everything: replies, then the close.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let close = loop {
        let (op, payload) = ws.next().await;
        if op == CLOSE {
            break payload;
        }
        assert_eq!(op, TEXT);
    };
    assert_eq!(close_code(&close), 1008);
    assert_eq!(&close[2..], b"client too slow");
    assert!(started.elapsed() >= Duration::from_secs(1));
    server.shutdown().await.unwrap();
}
