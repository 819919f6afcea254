//! Errors split by audience: an action's own `Error::msg` reaches the user verbatim; a store
//! failure, a panic or a failed mount reaches the user only as `internal error (ref …)`, over
//! the WebSocket wire format and on the no-JS POST and GET pages, and the server log has the
//! whole error at ERROR with the same reference.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use livetemplate::prelude::*;
use livetemplate::store::BoxFuture;
use livetemplate::store::Fields;
use livetemplate::store::PersistStore;
use livetemplate::testing::TestPage;
use livetemplate::{GroupId, Server};
use serde_json::Value;

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ n }}</p>", ext = "html")]
pub struct Counter {
    #[lvt(persist)]
    pub n: i64,
}

pub struct Ctrl;

#[actions]
impl Ctrl {
    async fn inc(&self, s: &mut Counter, _ctx: &mut Context) -> Result<()> {
        s.n += 1;
        Ok(())
    }
    async fn validate(&self, _s: &mut Counter, _ctx: &mut Context) -> Result<()> {
        Err(Error::msg("Name is required"))
    }
    async fn boom(&self, s: &mut Counter, _ctx: &mut Context) -> Result<()> {
        s.n += 100;
        panic!("kaboom: secret internal detail 42");
    }
}

/// A page whose mount panics: its GET fails.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ n }}</p>", ext = "html")]
pub struct Broken {
    pub n: i64,
}

pub struct BrokenCtrl;

#[actions]
impl BrokenCtrl {
    async fn mount(&self, _s: &mut Broken, _ctx: &mut Context) -> Result<()> {
        panic!("mount exploded: /srv/app/config.toml missing");
    }
    async fn noop(&self, _s: &mut Broken, _ctx: &mut Context) -> Result<()> {
        Ok(())
    }
}

/// A page whose template panics when `items` is empty (`items[0]`): a render, not an action,
/// fails.
#[derive(LiveState, Clone, Debug)]
#[lvt(source = "<p>{{ items[0] }} of {{ items.len() }}</p>", ext = "html")]
pub struct Indexed {
    pub items: Vec<i64>,
}

pub struct IndexedCtrl;

#[actions]
impl IndexedCtrl {
    async fn clear(&self, s: &mut Indexed, _ctx: &mut Context) -> Result<()> {
        s.items.clear();
        Ok(())
    }
    async fn add(&self, s: &mut Indexed, _ctx: &mut Context) -> Result<()> {
        s.items.push(7);
        Ok(())
    }
}

/// A store whose writes fail with a message no user should read.
#[derive(Debug)]
struct FailingStore;

impl PersistStore for FailingStore {
    fn load<'a>(&'a self, _group: &'a GroupId, _page: &'a str) -> BoxFuture<'a, Result<Fields>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn save<'a>(
        &'a self,
        _group: &'a GroupId,
        _page: &'a str,
        _fields: &'a [(&'a str, Vec<u8>)],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async {
            Err(Error::store(
                "sled write to /var/lib/secret-path failed",
                std::io::Error::other("disk quota exceeded"),
            ))
        })
    }
}

/// Everything logged by this test binary, as text.
fn log() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOG.get_or_init(|| {
        #[derive(Debug)]
        struct Sink;
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                log().lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let _ = tracing_subscriber::fmt()
            .with_writer(|| Sink)
            .with_ansi(false)
            .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
            .try_init();
        Mutex::new(Vec::new())
    })
}

/// The log line holding `reference`, which must be at ERROR.
fn log_line_with(reference: &str) -> String {
    let _ = log();
    let text = String::from_utf8_lossy(&log().lock().unwrap()).into_owned();
    let line = text
        .lines()
        .find(|l| l.contains(reference))
        .unwrap_or_else(|| panic!("no log line has ref {reference}:\n{text}"))
        .to_string();
    assert!(line.contains("ERROR"), "{line}");
    line
}

/// The reference in `internal error (ref xxxxxx)`, checking the text is exactly that.
fn reference_in(shown: &str) -> String {
    let at = shown.find("internal error (ref ").unwrap_or_else(|| panic!("{shown}")) + 20;
    let reference = &shown[at..at + 6];
    assert!(reference.chars().all(|c| c.is_ascii_hexdigit()), "{shown}");
    assert_eq!(&shown[at + 6..at + 7], ")", "{shown}");
    reference.to_string()
}

fn app(store: impl PersistStore) -> App {
    App::builder()
        .store(store)
        .secret_key("a test key of thirty-two bytes or more")
        .page("/c", Ctrl, Counter::default())
        .page("/broken", BrokenCtrl, Broken::default())
        .page("/indexed", IndexedCtrl, Indexed { items: vec![1] })
        .page("/empty", IndexedCtrl, Indexed { items: Vec::new() })
        .config(|c| {
            c.rate_per_sec = f64::INFINITY;
            c.rate_burst = f64::INFINITY;
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn over_the_socket_internal_failures_show_only_a_reference() {
    let _ = log();
    // A failing store.
    let app = Arc::new(app(FailingStore));
    let mut page = TestPage::connect(app.clone(), "/c", GroupId::random()).await.unwrap();
    let shown = page.act("inc", Value::Null).await.error().unwrap();
    assert!(!shown.contains("secret-path") && !shown.contains("disk"), "{shown}");
    let line = log_line_with(&reference_in(&shown));
    assert!(line.contains("secret-path"), "the log has the whole error: {line}");
    assert_eq!(page.html(), "<p>0</p>", "nothing changed");

    // A panic.
    let mut page = TestPage::connect(app.clone(), "/c", GroupId::random()).await.unwrap();
    let shown = page.act("boom", Value::Null).await.error().unwrap();
    assert!(!shown.contains("kaboom"), "{shown}");
    let line = log_line_with(&reference_in(&shown));
    assert!(line.contains("kaboom: secret internal detail 42"), "{line}");

    // A panic while rendering the new state: the action is answered, the page is mounted
    // again (its initial state here), the connection keeps working.
    let mut page = TestPage::connect(app.clone(), "/indexed", GroupId::random())
        .await
        .unwrap();
    let shown = page.act("clear", Value::Null).await.error().unwrap();
    assert!(shown.starts_with("internal error (ref "), "{shown}");
    assert!(log_line_with(&reference_in(&shown)).contains("index out of bounds"));
    assert_eq!(page.html(), "<p>1 of 1</p>", "the page as mounted again");
    // The state the template panicked on is gone: the next action builds on the new one.
    assert_eq!(page.act("add", Value::Null).await.error(), None);
    assert_eq!(page.html(), "<p>1 of 2</p>");

    // An action's own message, as it is.
    let mut page = TestPage::connect(app, "/c", GroupId::random()).await.unwrap();
    let frame = page.act("validate", Value::Null).await;
    assert_eq!(frame.error().as_deref(), Some("Name is required"));
    // A client mistake is the client's to read too.
    let frame = page.act("nope", Value::Null).await;
    assert!(frame.error().unwrap().starts_with("action `nope` not found"));
}

/// One HTTP/1.1 request on a fresh connection; returns status and body.
async fn http(addr: SocketAddr, head: String, body: &'static str) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n");
        if !body.is_empty() {
            req.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nOrigin: http://{addr}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(body);
        stream.write_all(req.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        (head.split(' ').nth(1).unwrap().parse().unwrap(), body.to_string())
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn on_no_js_pages_internal_failures_show_only_a_reference() {
    let _ = log();
    let server = Server::bind("127.0.0.1:0", app(FailingStore)).await.unwrap();
    let addr = server.local_addr();

    // A POST whose save fails.
    let (status, body) = http(addr, "POST /c HTTP/1.1".into(), "inc=").await;
    assert_eq!(status, 500);
    assert!(!body.contains("secret-path") && !body.contains("disk"), "{body}");
    let line = log_line_with(&reference_in(&body));
    assert!(line.contains("secret-path"), "{line}");

    // A POST whose action panics.
    let (status, body) = http(addr, "POST /c HTTP/1.1".into(), "boom=").await;
    assert_eq!(status, 500);
    assert!(!body.contains("kaboom"), "{body}");
    assert!(log_line_with(&reference_in(&body)).contains("kaboom"));

    // A GET whose mount panics.
    let (status, body) = http(addr, "GET /broken HTTP/1.1".into(), "").await;
    assert_eq!(status, 500);
    assert!(!body.contains("/srv/app"), "{body}");
    assert!(log_line_with(&reference_in(&body)).contains("mount exploded"));

    // A GET whose first render panics.
    let (status, body) = http(addr, "GET /empty HTTP/1.1".into(), "").await;
    assert_eq!(status, 500);
    assert!(log_line_with(&reference_in(&body)).contains("index out of bounds"));

    // An action's own message is shown as it is.
    let (status, body) = http(addr, "POST /c HTTP/1.1".into(), "validate=").await;
    assert_eq!(status, 422);
    assert!(
        body.contains("<p role=\"alert\" data-lvt-post-error>Name is required</p>"),
        "{body}"
    );
    server.shutdown().await.unwrap();
}
