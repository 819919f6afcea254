//! Live navigation on one connection (`n` frames and `ctx.push_navigate`), layouts, titles
//! and flash messages, driven through the transport's `Connection`.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use livetemplate::prelude::*;
use livetemplate_core::GroupId;
use livetemplate_core::transport::{Connection, Request};
use serde_json::{Value, json};

/// The self topics (page and group) of the /a views whose `on_disconnect` ran.
static A_LEFT: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn a_left(group: &GroupId) -> usize {
    let topic = format!("lvt:/a:{}", group.as_str());
    A_LEFT.lock().unwrap().iter().filter(|t| **t == topic).count()
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>A {{ n }} {{ pings }}</p>", ext = "html")]
pub struct PageA {
    pub n: i64,
    pub pings: i64,
}

pub struct CtrlA;

#[actions]
impl CtrlA {
    async fn mount(&self, _s: &mut PageA, ctx: &mut Context) -> Result<()> {
        ctx.subscribe("a-topic");
        Ok(())
    }
    async fn on_disconnect(&self, _s: &mut PageA, ctx: &mut Context) -> Result<()> {
        A_LEFT.lock().unwrap().push(ctx.self_topic());
        Ok(())
    }
    async fn ping(&self, s: &mut PageA, _ctx: &mut Context) -> Result<()> {
        s.pings += 1;
        Ok(())
    }
    async fn go(&self, s: &mut PageA, ctx: &mut Context) -> Result<()> {
        s.n += 1;
        ctx.put_flash("info", "Moved to B");
        ctx.push_navigate("/b?from=a")
    }
    async fn retitle(&self, s: &mut PageA, ctx: &mut Context) -> Result<()> {
        s.n += 1;
        ctx.set_title(format!("Count {}", s.n));
        Ok(())
    }
    async fn flash(&self, _s: &mut PageA, ctx: &mut Context) -> Result<()> {
        ctx.put_flash("info", "Saved");
        ctx.put_flash("error", "Careful");
        Ok(())
    }
    async fn away(&self, _s: &mut PageA, ctx: &mut Context) -> Result<()> {
        ctx.put_flash("info", "See you");
        ctx.redirect("/c")
    }
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>B {{ kept }} {{ query }}</p>", ext = "html")]
pub struct PageB {
    #[lvt(persist)]
    pub kept: i64,
    pub query: String,
}

pub struct CtrlB;

#[actions]
impl CtrlB {
    async fn mount(&self, _s: &mut PageB, ctx: &mut Context) -> Result<()> {
        ctx.set_title("Page <B>");
        Ok(())
    }
    async fn handle_params(&self, s: &mut PageB, ctx: &mut Context) -> Result<()> {
        s.query = ctx.query().to_string();
        Ok(())
    }
    async fn keep(&self, s: &mut PageB, _ctx: &mut Context) -> Result<()> {
        s.kept += 1;
        Ok(())
    }
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>broken</p>", ext = "html")]
pub struct Broken {}

pub struct CtrlBroken;

#[actions]
impl CtrlBroken {
    async fn mount(&self, _s: &mut Broken, _ctx: &mut Context) -> Result<()> {
        Err(Error::msg("not today"))
    }
}

const LAYOUT: &str = r#"<nav><a lvt-navigate href="/b">B</a><input id="q"></nav><p lvt-flash="info"></p>{live}"#;

fn app() -> Arc<App> {
    Arc::new(
        App::builder()
            .title("Demo")
            .layout("/", LAYOUT)
            .layout("/c", "<header>other</header>{live}")
            .page("/a", CtrlA, PageA::default())
            .page("/b", CtrlB, PageB::default())
            .page("/c", CtrlB, PageB::default())
            .page("/broken", CtrlBroken, Broken::default())
            .page_title("/a", "Page A")
            .build()
            .unwrap(),
    )
}

async fn open(app: &Arc<App>, path: &str, group: &GroupId) -> (Connection, Value) {
    let req = Request {
        path: path.into(),
        query: String::new(),
        group: group.clone(),
    };
    let (conn, first) = Connection::open(app.clone(), req).await.unwrap();
    (conn, serde_json::from_str(&first).unwrap())
}

async fn send(conn: &mut Connection, frame: Value) -> Value {
    let text = conn.on_message(&frame.to_string()).await.unwrap().unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn navigate_swaps_the_page_on_the_connection() {
    let app = app();
    let group = GroupId::random();
    // A value saved for /b earlier in the group: the page that arrives loads it.
    let (mut b, _) = open(&app, "/b", &group).await;
    send(&mut b, json!({"a": "keep", "r": 1})).await;
    b.close().await;

    let (mut conn, first) = open(&app, "/a", &group).await;
    assert_eq!(first["v"], 2);
    let left = a_left(&group);
    let f = send(&mut conn, json!({"n": "/b?x=1#top", "r": 9})).await;
    assert_eq!(f["r"], 9);
    assert_eq!(f["v"], 2, "a new page: statics start over: {f}");
    assert_eq!(f["navigate"], "/b?x=1#top");
    assert_eq!(f["title"], "Page <B>");
    assert_eq!(f["flash"], json!({}), "a navigation clears the flash shown");
    assert_eq!(f["t"]["0"], 1, "the persisted field was loaded: {f}");
    assert_eq!(f["t"]["1"], "x=1", "handle_params ran for the URL's query: {f}");
    assert_eq!(a_left(&group), left + 1, "the old page's on_disconnect ran");
    assert_eq!(conn.path(), "/b");

    // The old page's subscription went with it.
    app.hub().publish("a-topic", "ping", Value::Null, None).await.unwrap();
    let pushed = tokio::time::timeout(Duration::from_millis(200), conn.next_push()).await;
    assert!(
        pushed.is_err(),
        "a publish to the old page's topic no longer reaches the connection"
    );

    // The new page runs actions; the persisted field was loaded (1) and saves on.
    let f = send(&mut conn, json!({"a": "keep", "r": 10})).await;
    assert_eq!(f["r"], 10);
    assert_eq!(f["d"]["0"], 2, "{f}");
    conn.close().await;
}

#[tokio::test]
async fn push_navigate_answers_the_action_with_the_new_page_and_its_flash() {
    let app = app();
    let group = GroupId::random();
    let (mut conn, _) = open(&app, "/a", &group).await;
    let f = send(&mut conn, json!({"a": "go", "r": 3})).await;
    assert_eq!(f["r"], 3);
    assert_eq!(f["navigate"], "/b?from=a");
    assert_eq!(f["flash"], json!({"info": "Moved to B"}));
    assert!(
        f["t"].is_object() && f["d"].is_null(),
        "the whole new tree, no diff of the old page: {f}"
    );
    assert_eq!(conn.path(), "/b");
    // The next link navigation clears it.
    let f = send(&mut conn, json!({"n": "/a", "r": 4})).await;
    assert_eq!(f["flash"], json!({}));
    assert_eq!(
        f["title"], "Page A",
        "the builder's page title when the state sets none"
    );
    conn.close().await;
}

#[tokio::test]
async fn a_pushed_action_may_navigate_too() {
    let app = app();
    let group = GroupId::random();
    let (mut conn, _) = open(&app, "/a", &group).await;
    app.hub().publish("a-topic", "go", Value::Null, None).await.unwrap();
    let pushed = tokio::time::timeout(Duration::from_secs(5), conn.next_push())
        .await
        .unwrap();
    let text = conn.on_push(pushed).await.unwrap().unwrap();
    let f: Value = serde_json::from_str(&text).unwrap();
    assert!(f["r"].is_null(), "a push answers no ref: {f}");
    assert_eq!(f["navigate"], "/b?from=a");
    assert_eq!(f["flash"], json!({"info": "Moved to B"}));
    assert_eq!(conn.path(), "/b");
    conn.close().await;
}

#[tokio::test]
async fn other_layouts_unknown_pages_and_failed_mounts() {
    let app = app();
    let group = GroupId::random();
    let (mut conn, _) = open(&app, "/a", &group).await;
    let left = a_left(&group);
    for url in ["/c", "/c?x=1", "/nowhere"] {
        let f = send(&mut conn, json!({"n": url, "r": 1})).await;
        assert_eq!(f, json!({"r": 1, "redirect": url}), "a document load");
    }
    let f = send(&mut conn, json!({"n": "https://example.com/", "r": 2})).await;
    assert!(f["e"].is_string(), "{f}");
    // A page that fails to mount: an error, and the old page stays.
    let f = send(&mut conn, json!({"n": "/broken", "r": 5})).await;
    assert_eq!(f, json!({"r": 5, "e": "not today"}));
    assert_eq!(conn.path(), "/a");
    let f = send(&mut conn, json!({"a": "ping", "r": 6})).await;
    assert_eq!(f["r"], 6);
    assert!(f["e"].is_null(), "{f}");
    assert_eq!(a_left(&group), left, "the old page was not left");
    conn.close().await;
}

#[tokio::test]
async fn titles_change_live_and_render_into_the_document() {
    let app = app();
    let group = GroupId::random();
    let (conn, first) = open(&app, "/b", &group).await;
    assert_eq!(first["title"], "Page <B>", "the first frame carries the state's title");
    conn.close().await;
    let (mut conn, first) = open(&app, "/a", &group).await;
    assert!(first["title"].is_null(), "no title set by the state: {first}");
    let f = send(&mut conn, json!({"a": "retitle", "r": 1})).await;
    assert_eq!(f["title"], "Count 1");
    let f = send(&mut conn, json!({"a": "ping", "r": 2})).await;
    assert!(f["title"].is_null(), "unchanged: not sent again");
    conn.close().await;

    let req = |path: &str| Request {
        path: path.into(),
        query: String::new(),
        group: group.clone(),
    };
    let doc = app.render_page(&req("/b"), "/c.js").await.unwrap().unwrap();
    assert!(doc.contains("<title>Page &lt;B&gt;</title>"), "{doc}");
    assert!(
        doc.contains("<nav><a lvt-navigate href=\"/b\">B</a><input id=\"q\"></nav>"),
        "the layout: {doc}"
    );
    assert!(
        doc.contains("<p lvt-flash=\"info\" hidden></p><div data-lvt-root"),
        "{doc}"
    );
    let doc = app.render_page(&req("/a"), "/c.js").await.unwrap().unwrap();
    assert!(doc.contains("<title>Page A</title>"), "{doc}");
    let doc = app.render_page(&req("/c"), "/c.js").await.unwrap().unwrap();
    assert!(doc.contains("<header>other</header><div data-lvt-root"), "{doc}");
}

#[tokio::test]
async fn flash_rides_frames_and_survives_a_redirect_once() {
    let app = app();
    let group = GroupId::random();
    let (mut conn, _) = open(&app, "/a", &group).await;
    let f = send(&mut conn, json!({"a": "flash", "r": 1})).await;
    assert_eq!(f["flash"], json!({"info": "Saved", "error": "Careful"}));
    let f = send(
        &mut conn,
        json!({"a": "lvt:clear_flash", "d": {"kind": "info"}, "r": 2}),
    )
    .await;
    assert_eq!(f, json!({"r": 2, "flash": {"error": "Careful"}}));
    let f = send(
        &mut conn,
        json!({"a": "lvt:clear_flash", "d": {"kind": "info"}, "r": 3}),
    )
    .await;
    assert_eq!(f, json!({"r": 3}), "nothing left to clear");
    let f = send(&mut conn, json!({"a": "away", "r": 4})).await;
    assert_eq!(f["redirect"], "/c");
    conn.close().await;

    // The document load marks it shown (/c's layout has no flash element to show it in), the
    // connection that page opens starts with it, and no later GET shows it again.
    let req = Request {
        path: "/c".into(),
        query: String::new(),
        group: group.clone(),
    };
    let doc = app.render_page(&req, "/c.js").await.unwrap().unwrap();
    assert!(!doc.contains("See you"), "{doc}");
    let (conn, first) = open(&app, "/c", &group).await;
    assert_eq!(first["flash"], json!({"info": "See you"}), "{first}");
    conn.close().await;
    let req_a = Request {
        path: "/a".into(),
        ..req.clone()
    };
    let doc = app.render_page(&req_a, "/c.js").await.unwrap().unwrap();
    assert!(!doc.contains("See you"), "shown once only: {doc}");

    // A flash for a document load shows on the next GET, then the page's connection takes it.
    let (mut conn, _) = open(&app, "/a", &group).await;
    send(&mut conn, json!({"a": "away", "r": 1})).await;
    conn.close().await;
    let doc = app.render_page(&req_a, "/c.js").await.unwrap().unwrap();
    assert!(doc.contains("<p lvt-flash=\"info\">See you</p>"), "{doc}");
    let (conn, first) = open(&app, "/a", &group).await;
    assert_eq!(first["flash"], json!({"info": "See you"}));
    conn.close().await;
    let doc = app.render_page(&req_a, "/c.js").await.unwrap().unwrap();
    assert!(!doc.contains("See you"), "{doc}");
}

#[test]
fn layouts_need_exactly_one_marker() {
    for bad in ["<main></main>", "{live}{live}"] {
        let err = App::builder().layout("/", bad).build().unwrap_err().to_string();
        assert!(err.contains("{live}"), "{err}");
    }
    assert!(App::builder().layout("shop", "{live}").build().is_err());
}

#[test]
fn push_navigate_takes_only_paths_of_the_app() {
    let mut ctx = Context::for_test(Value::Null);
    for bad in ["https://x.test/", "//x.test", "?page=2", "javascript:alert(1)", "/a\nb"] {
        assert!(ctx.push_navigate(bad).is_err(), "{bad}");
    }
    assert!(ctx.push_navigate("/b?x=1#h").is_ok());
}
