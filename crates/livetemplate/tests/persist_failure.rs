//! A step that fails after its action ran (a save the store refuses, the action's own `Err`, a
//! page whose stored values could not be read) leaves the persisted fields at what the store
//! holds, on the live path and on the no-JS POST path: a later action never builds on a value
//! that was not saved. Fields that are not persisted keep what the action did. And session
//! groups while the store is down: served with a configured key, a store error without one.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use livetemplate::prelude::*;
use livetemplate::store::{MemoryStore, PersistStore};
use livetemplate::testing::TestPage;
use livetemplate::{App, GroupId};
use livetemplate_core::BoxFuture;
use livetemplate_core::page::{Page, Request};
use livetemplate_core::store::Fields;
use serde_json::Value;

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ n }} {{ clicks }}</p>", ext = "html")]
pub struct Counter {
    #[lvt(persist)]
    pub n: i64,
    /// Not persisted: keeps what an action did even when the step fails.
    pub clicks: i64,
}

pub struct Ctrl;

#[actions]
impl Ctrl {
    async fn inc(&self, s: &mut Counter, _ctx: &mut Context) -> Result<()> {
        s.n += 1;
        s.clicks += 1;
        Ok(())
    }
    async fn half_then_fail(&self, s: &mut Counter, _ctx: &mut Context) -> Result<()> {
        s.n += 100;
        s.clicks += 1;
        Err(Error::msg("no"))
    }
}

const PATH: &str = "/counter";
const STORE_DOWN: &str = "not saved: the store is down";

/// A real in-memory store that fails loads and saves on demand: the failure injection for an
/// unreachable store.
#[derive(Debug, Default)]
struct Flaky {
    inner: MemoryStore,
    loads_fail: AtomicBool,
    saves_fail: AtomicBool,
}

impl Flaky {
    /// Every load and save fails (the store is unreachable), or none.
    fn set_down(&self, down: bool) {
        self.loads_fail.store(down, Ordering::SeqCst);
        self.saves_fail.store(down, Ordering::SeqCst);
    }

    async fn stored_n(&self, group: &GroupId) -> Option<i64> {
        let fields = self.inner.load(group, PATH).await.unwrap();
        let (_, bytes) = fields.iter().find(|(k, _)| k == "n")?;
        let mut probe = Counter::default();
        probe.decode_field("n", bytes).unwrap();
        Some(probe.n)
    }
}

impl PersistStore for Flaky {
    fn load<'a>(&'a self, group: &'a GroupId, page: &'a str) -> BoxFuture<'a, Result<Fields>> {
        if self.loads_fail.load(Ordering::SeqCst) {
            return Box::pin(async {
                Err(Error::store(
                    "the store is down",
                    std::io::Error::other("connection refused"),
                ))
            });
        }
        self.inner.load(group, page)
    }

    fn save<'a>(
        &'a self,
        group: &'a GroupId,
        page: &'a str,
        fields: &'a [(&'a str, Vec<u8>)],
    ) -> BoxFuture<'a, Result<()>> {
        if self.saves_fail.load(Ordering::SeqCst) {
            return Box::pin(async { Err(Error::msg(STORE_DOWN)) });
        }
        self.inner.save(group, page, fields)
    }
}

async fn open(store: &Arc<Flaky>, group: &GroupId) -> TestPage {
    let shared: Arc<dyn PersistStore> = store.clone();
    TestPage::mount_route(
        Arc::new(Page::new(PATH, Ctrl, Counter::default())),
        shared,
        group.clone(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_save_that_fails_is_not_applied_later() {
    let store = Arc::new(Flaky::default());
    let group = GroupId::random();
    let mut page = open(&store, &group).await;
    assert!(page.act("inc", Value::Null).await.error().is_none());
    assert_eq!(page.html(), "<p>1 1</p>");

    store.set_down(true);
    let failed = page.act("inc", Value::Null).await;
    assert_eq!(failed.error().as_deref(), Some(STORE_DOWN));
    assert_eq!(page.html(), "<p>1 1</p>", "the failed step sends no diff");

    store.set_down(false);
    assert!(page.act("inc", Value::Null).await.error().is_none());
    // `n` went back to the saved 1 and builds on it; `clicks` kept the failed step's click.
    assert_eq!(page.html(), "<p>2 3</p>");
    assert_eq!(store.stored_n(&group).await, Some(2));

    // A new tab of the group reads the same.
    let other = open(&store, &group).await;
    assert_eq!(other.html(), "<p>2 0</p>");
}

#[tokio::test]
async fn an_action_error_puts_persisted_fields_back() {
    let store = Arc::new(Flaky::default());
    let group = GroupId::random();
    let mut page = open(&store, &group).await;
    page.act("inc", Value::Null).await;
    let failed = page.act("half_then_fail", Value::Null).await;
    assert_eq!(failed.error().as_deref(), Some("no"));
    assert_eq!(store.stored_n(&group).await, Some(1));
    page.act("inc", Value::Null).await;
    assert_eq!(page.html(), "<p>2 3</p>", "persisted `n` back to 1; `clicks` kept");
    assert_eq!(store.stored_n(&group).await, Some(2));
}

#[tokio::test]
async fn a_page_opened_while_the_store_is_down_acknowledges_no_change() {
    let store = Arc::new(Flaky::default());
    let group = GroupId::random();
    let mut page = open(&store, &group).await;
    page.act("inc", Value::Null).await;
    page.act("inc", Value::Null).await;
    page.close().await;

    store.set_down(true);
    let mut page = open(&store, &group).await;
    assert_eq!(
        page.html(),
        "<p>0 0</p>",
        "defaults: the stored value could not be read"
    );
    let failed = page.act("inc", Value::Null).await;
    assert_eq!(
        failed.error().as_deref(),
        Some("not saved: the session store could not be read; try again in a moment")
    );
    assert_eq!(page.html(), "<p>0 0</p>");

    store.set_down(false);
    assert!(page.act("inc", Value::Null).await.error().is_none());
    assert_eq!(page.html(), "<p>3 2</p>", "the stored 2 is loaded before the action");
    assert_eq!(store.stored_n(&group).await, Some(3));
}

#[tokio::test]
async fn a_form_post_whose_save_fails_changes_nothing() {
    let store = Arc::new(Flaky::default());
    let app = App::builder()
        .page(PATH, Ctrl, Counter::default())
        .shared_store(store.clone())
        .secret_key("a test key of thirty-two bytes or more")
        .build()
        .unwrap();
    let group = GroupId::random();
    let req = Request {
        path: PATH.into(),
        query: String::new(),
        group: group.clone(),
    };
    let region = |doc: Option<String>| {
        let doc = doc.unwrap();
        let at = doc.find("<p>").unwrap();
        doc[at..doc[at..].find("</p>").unwrap() + at + 4].to_string()
    };
    app.post(&req, "inc", &[]).await.unwrap();
    assert_eq!(region(app.render_page(&req, "/c.js").await.unwrap()), "<p>1 1</p>");

    // The store reads but takes no write: the POST fails and the page shows what it holds.
    store.saves_fail.store(true, Ordering::SeqCst);
    let err = app.post(&req, "inc", &[]).await.unwrap_err();
    assert_eq!(err.to_string(), STORE_DOWN);
    store.set_down(false);
    assert_eq!(region(app.render_page(&req, "/c.js").await.unwrap()), "<p>1 1</p>");
    app.post(&req, "inc", &[]).await.unwrap();
    assert_eq!(region(app.render_page(&req, "/c.js").await.unwrap()), "<p>2 2</p>");
    assert_eq!(store.stored_n(&group).await, Some(2));

    // An action's own error on the POST path saves nothing either.
    let err = app.post(&req, "half_then_fail", &[]).await.unwrap_err();
    assert_eq!(err.to_string(), "no");
    assert_eq!(store.stored_n(&group).await, Some(2));
    assert_eq!(region(app.render_page(&req, "/c.js").await.unwrap()), "<p>2 2</p>");

    // The store was down when the POST loaded the page: nothing is acknowledged.
    store.set_down(true);
    let err = app.post(&req, "inc", &[]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "not saved: the session store could not be read; try again in a moment"
    );
    store.set_down(false);
    assert_eq!(store.stored_n(&group).await, Some(2));
    assert_eq!(region(app.render_page(&req, "/c.js").await.unwrap()), "<p>2 2</p>");
}

/// The group of a request with `cookie` (an `lvt_group` value), and the cookie sent back.
async fn resolve(app: &App, cookie: Option<&str>) -> livetemplate::Result<(GroupId, Option<String>)> {
    use livetemplate_core::transport::RequestHead;
    let header = cookie.map(|c| format!("lvt_group={c}"));
    let headers: Vec<(&str, &str)> = header.iter().map(|h| ("cookie", h.as_str())).collect();
    let head = RequestHead {
        path: PATH,
        headers: &headers,
    };
    let resolved = app.resolve_group(&head).await?;
    Ok((resolved.group, resolved.cookie.map(|c| c.as_str().to_string())))
}

fn app_on(store: &Arc<Flaky>, key: Option<&str>) -> App {
    let mut builder = App::builder()
        .page(PATH, Ctrl, Counter::default())
        .shared_store(store.clone());
    if let Some(key) = key {
        builder = builder.secret_key(key);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn session_groups_while_the_store_is_down() {
    let store = Arc::new(Flaky::default());
    // A key generated and kept in the store, and a cookie signed with it.
    let (group, generated) = resolve(&app_on(&store, None), None).await.unwrap();
    let generated = generated.unwrap();

    store.set_down(true);
    // No configured key: the request fails with a store error (the server answers 503).
    let err = resolve(&app_on(&store, None), None).await.unwrap_err();
    assert!(err.is_store(), "{err:?}");
    assert!(err.to_string().contains("LVT_SECRET_KEY"), "{err}");

    // A configured key: requests are served; new visitors get a cookie signed with it.
    let keyed = app_on(&store, Some("a configured key of thirty-two bytes or more"));
    let (fresh_group, fresh) = resolve(&keyed, None).await.unwrap();
    let fresh = fresh.expect("a new visitor gets a cookie");
    assert_eq!(resolve(&keyed, Some(&fresh)).await.unwrap(), (fresh_group, None));
    // The cookie signed with the kept key cannot be checked yet: not trusted, not replaced.
    let (other, set) = resolve(&keyed, Some(&generated)).await.unwrap();
    assert_ne!(other, group);
    assert_eq!(set, None);
    // Nor is an unsigned cookie that cannot be looked up.
    let (_, set) = resolve(&keyed, Some(GroupId::random().as_str())).await.unwrap();
    assert_eq!(set, None);

    // Once the store answers (looked up again at most 5 s later), the kept key reads its
    // cookie: the same group, re-signed with the configured key.
    store.set_down(false);
    let start = std::time::Instant::now();
    loop {
        let (g, set) = resolve(&keyed, Some(&generated)).await.unwrap();
        if g == group {
            assert!(set.is_some(), "re-signed with the configured key");
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "the kept key was not read again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
