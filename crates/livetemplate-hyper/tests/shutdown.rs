//! Graceful shutdown: running actions finish, the store is flushed, then every socket gets
//! close 1001 and the server stops accepting.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use livetemplate_core::store::Fields;
use livetemplate_core::{App, BoxFuture, GroupId, MemoryStore, PersistStore, Result};
use livetemplate_hyper::Server;
use support::{Counter, CounterController, close_frame, http, next_json, next_text, send, ws_open};
use tokio::net::TcpStream;

/// A memory store that records when it was flushed.
#[derive(Debug, Default)]
struct FlushProbe {
    inner: MemoryStore,
    flushed: Arc<AtomicBool>,
}

impl PersistStore for FlushProbe {
    fn load<'a>(&'a self, group: &'a GroupId, page: &'a str) -> BoxFuture<'a, Result<Fields>> {
        self.inner.load(group, page)
    }

    fn save<'a>(
        &'a self,
        group: &'a GroupId,
        page: &'a str,
        fields: &'a [(&'a str, Vec<u8>)],
    ) -> BoxFuture<'a, Result<()>> {
        self.inner.save(group, page, fields)
    }

    fn flush(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async {
            self.flushed.store(true, Ordering::SeqCst);
            Ok(())
        })
    }
}

#[tokio::test]
async fn shutdown_finishes_actions_flushes_then_closes_sockets_with_1001() {
    let flushed = Arc::new(AtomicBool::new(false));
    let slow_done = Arc::new(AtomicUsize::new(0));
    let store = FlushProbe {
        inner: MemoryStore::new(),
        flushed: flushed.clone(),
    };
    let controller = CounterController {
        slow_done: slow_done.clone(),
        ..CounterController::default()
    };
    let app = App::builder()
        .store(store)
        .page("/counter", controller, Counter::default())
        .build()
        .unwrap();
    let server = Server::bind("127.0.0.1:0", app).await.unwrap();
    let addr = server.local_addr();

    let mut idle = ws_open(addr, "/counter").await;
    next_text(&mut idle).await;
    let mut busy = ws_open(addr, "/counter").await;
    next_text(&mut busy).await;
    assert_eq!(server.service().live_connections(), 2);

    // An action that takes 300 ms is running when shutdown starts.
    send(&mut busy, r#"{"a":"slow","r":1}"#).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let shutdown = tokio::spawn(server.shutdown());

    // The running action completes and its reply arrives before the close.
    let reply = next_json(&mut busy).await;
    assert_eq!(reply["r"], 1, "{reply}");
    assert_eq!(reply["d"]["0"], 100, "{reply}");
    assert_eq!(slow_done.load(Ordering::SeqCst), 1);

    let frame = close_frame(&mut busy).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1001);
    assert!(
        flushed.load(Ordering::SeqCst),
        "the store is flushed before sockets are told to go"
    );
    let frame = close_frame(&mut idle).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1001);

    tokio::time::timeout(Duration::from_secs(15), shutdown)
        .await
        .expect("shutdown completes")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed");
}

#[tokio::test]
async fn a_dropped_server_stops_too() {
    let server = Server::bind("127.0.0.1:0", support::app(|_| {})).await.unwrap();
    let addr = server.local_addr();
    assert_eq!(http(addr, "GET /counter HTTP/1.1", b"").await.status, 200);
    drop(server);
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the listener closes once the Server handle is dropped");
}

#[tokio::test]
async fn serve_with_shutdown_returns_after_the_signal() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = Arc::new(support::app(|_| {}));
    let task = tokio::spawn(livetemplate_hyper::serve_with_shutdown(listener, app, async {
        let _ = stopped.await;
    }));
    let mut ws = ws_open(addr, "/counter").await;
    next_text(&mut ws).await;
    stop.send(()).unwrap();
    let frame = close_frame(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1001);
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
