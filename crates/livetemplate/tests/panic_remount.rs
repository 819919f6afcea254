//! A panic (in an action, `handle_params`, a pushed action or the render) leaves no
//! half-changed state: the view mounts again on the same connection (initial state, `mount`,
//! persisted fields from the store, `handle_params` for the current URL), and the reply
//! carries the whole new tree with the error. When mounting again fails too, the connection
//! closes with 1011.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use livetemplate::prelude::*;
use livetemplate::testing::{Frame, TestPage};
use livetemplate::{App, GroupId};
use serde_json::{Value, json};

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<p>{{ saved }} {{ tab }} {{ mounts }}</p>{% if !draft.is_empty() %}<u>{{ draft }}</u>{% endif %}{% if mounts > 1 %}<em>again</em>{% endif %}{% if poison %}{{ Self::explode() }}{% endif %}<ul>{% for i in items %}<li data-key="{{ i }}">{{ i }}</li>{% endfor %}</ul>"#,
    ext = "html"
)]
pub struct Crashy {
    #[lvt(persist)]
    pub saved: i64,
    pub draft: String,
    pub tab: String,
    /// Which mount of the page built this state (counted by the controller).
    pub mounts: u32,
    pub poison: bool,
    pub items: Vec<i64>,
}

impl Crashy {
    fn explode() -> String {
        panic!("the template cannot render a poisoned state")
    }
}

#[derive(Default)]
pub struct Ctrl {
    mounts: Arc<AtomicU32>,
    /// The mount (1, 2, …) that panics; 0 for none.
    failing_mount: Arc<AtomicU32>,
}

#[actions]
impl Ctrl {
    async fn mount(&self, s: &mut Crashy, _ctx: &mut Context) -> Result<()> {
        let n = self.mounts.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.failing_mount.load(Ordering::SeqCst) {
            panic!("mount {n} fails");
        }
        s.mounts = n;
        Ok(())
    }

    async fn handle_params(&self, s: &mut Crashy, ctx: &mut Context) -> Result<()> {
        let tab = ctx.param("tab").unwrap_or_default();
        if tab == "crash" && !s.draft.is_empty() {
            s.tab = "half".into();
            panic!("handle_params fails on a drafted state");
        }
        s.tab = tab;
        Ok(())
    }

    async fn inc(&self, s: &mut Crashy, _ctx: &mut Context) -> Result<()> {
        s.saved += 1;
        s.items.push(s.saved);
        Ok(())
    }

    async fn set_draft(&self, s: &mut Crashy, ctx: &mut Context) -> Result<()> {
        s.draft = ctx.get_string("draft");
        Ok(())
    }

    /// Changes everything, then panics.
    async fn crash(&self, s: &mut Crashy, _ctx: &mut Context) -> Result<()> {
        half_change(s);
        panic!("crash after changing the state");
    }

    /// Sets a state the template panics on.
    async fn poison(&self, s: &mut Crashy, _ctx: &mut Context) -> Result<()> {
        s.poison = true;
        s.saved += 50;
        Ok(())
    }

    #[lvt(server)]
    async fn pushed_crash(&self, s: &mut Crashy, _ctx: &mut Context) -> Result<()> {
        half_change(s);
        panic!("pushed crash after changing the state");
    }
}

fn half_change(s: &mut Crashy) {
    s.saved += 100;
    s.draft = "half".into();
    s.items.clear();
    s.items.push(-1);
}

struct Setup {
    page: TestPage,
    mounts: Arc<AtomicU32>,
    failing_mount: Arc<AtomicU32>,
}

async fn setup(url: &str) -> Setup {
    let ctrl = Ctrl::default();
    let (mounts, failing_mount) = (ctrl.mounts.clone(), ctrl.failing_mount.clone());
    let app = App::builder()
        .page("/p", ctrl, Crashy::default())
        .config(|c| {
            c.rate_per_sec = f64::INFINITY;
            c.rate_burst = f64::INFINITY;
        })
        .build()
        .unwrap();
    let page = TestPage::connect(Arc::new(app), url, GroupId::random()).await.unwrap();
    Setup {
        page,
        mounts,
        failing_mount,
    }
}

/// The HTML of a freshly mounted state: persisted `saved`, the URL's `tab`, mount number
/// `mounts`, everything else initial.
fn fresh(saved: i64, tab: &str, mounts: u32) -> String {
    Crashy {
        saved,
        tab: tab.into(),
        mounts,
        ..Crashy::default()
    }
    .render_html()
    .unwrap()
}

/// The frame answering an action that panicked: the whole new tree and the generic error,
/// no protocol version (the connection and its statics ids go on).
fn assert_remount_reply(f: &Frame) {
    let json = f.json();
    assert!(f.error().unwrap().starts_with("internal error (ref "), "{}", f.text());
    assert!(json.get("t").is_some(), "a whole tree: {}", f.text());
    assert!(json.get("d").is_none() && json.get("v").is_none(), "{}", f.text());
}

#[tokio::test]
async fn an_action_that_panics_after_changing_the_state_mounts_the_page_again() {
    let Setup { mut page, mounts, .. } = setup("/p?tab=a").await;
    assert_eq!(page.html(), fresh(0, "a", 1));
    page.act("inc", Value::Null).await;
    page.act("inc", Value::Null).await;
    // The draft's branch statics reach the client before the panic.
    page.act("set_draft", json!({"draft": "x"})).await;
    // A patch: the remount runs `handle_params` for the URL the browser shows now.
    page.patch("?tab=b").await;
    assert_eq!(page.url(), "/p?tab=b");

    let f = page.act("crash", Value::Null).await;
    assert_remount_reply(&f);
    assert_eq!(f.json()["r"], 5);
    // Only the statics the client lacks (the branch a second mount shows) are sent; the ids
    // sent before stay valid.
    assert_eq!(f.json()["s"].as_object().map(|s| s.len()), Some(1), "{}", f.text());
    assert!(f.text().contains(r#"["<em>again</em>"]"#), "{}", f.text());
    // The client's tree is a fresh render of the remounted state: the persisted field holds
    // its stored value (2, not 102), the draft and the items are gone, the tab is the URL's.
    assert_eq!(mounts.load(Ordering::SeqCst), 2);
    assert_eq!(page.html(), fresh(2, "b", 2));

    // The next actions work, diffed against the new tree; the draft's branch reuses the
    // statics id sent before the panic.
    let f = page.act("set_draft", json!({"draft": "y"})).await;
    assert!(f.error().is_none() && f.json().get("s").is_none(), "{}", f.text());
    let f = page.act("inc", Value::Null).await;
    assert!(f.error().is_none(), "{}", f.text());
    let mut want = Crashy {
        saved: 3,
        draft: "y".into(),
        tab: "b".into(),
        mounts: 2,
        items: vec![3],
        ..Crashy::default()
    };
    assert_eq!(page.html(), want.render_html().unwrap());
    // What was saved is what a new connection loads.
    page.reconnect().await.unwrap();
    want = Crashy {
        saved: 3,
        tab: "b".into(),
        mounts: 3,
        ..Crashy::default()
    };
    assert_eq!(page.html(), want.render_html().unwrap());
}

#[tokio::test]
async fn a_template_that_panics_on_the_new_state_mounts_the_page_again() {
    let Setup { mut page, .. } = setup("/p").await;
    page.act("inc", Value::Null).await;
    let f = page.act("poison", Value::Null).await;
    assert_remount_reply(&f);
    // `poison` also raised the persisted field, but nothing of a failed step is saved.
    assert_eq!(page.html(), fresh(1, "", 2));
    // Before, every later step rendered the poisoned state and failed; now the page goes on.
    for n in 2..5 {
        let f = page.act("inc", Value::Null).await;
        assert!(f.error().is_none() && f.json().get("d").is_some(), "{}", f.text());
        let want = Crashy {
            saved: n,
            mounts: 2,
            items: (2..=n).collect(),
            ..Crashy::default()
        };
        assert_eq!(page.html(), want.render_html().unwrap());
    }
}

#[tokio::test]
async fn handle_params_that_panics_mounts_the_page_again() {
    let Setup { mut page, .. } = setup("/p?tab=a").await;
    page.act("set_draft", json!({"draft": "x"})).await;
    let f = page.patch("?tab=crash").await;
    assert_remount_reply(&f);
    // Mounted again for the new URL, where a fresh state does not panic.
    assert_eq!(page.html(), fresh(0, "crash", 2));
    assert!(page.act("inc", Value::Null).await.error().is_none());
}

#[tokio::test]
async fn a_pushed_action_that_panics_pushes_the_whole_new_tree() {
    let Setup { mut page, .. } = setup("/p").await;
    page.act("inc", Value::Null).await;
    page.act("set_draft", json!({"draft": "x"})).await;
    let app = page.app().clone();
    app.hub()
        .trigger("/p", page.group(), "pushed_crash", Value::Null)
        .await
        .unwrap();
    let f = page.next_push(Duration::from_secs(5)).await.expect("a pushed frame");
    let json = f.json();
    // Nobody waits for an answer: no ref and no error, only the new tree.
    assert!(json.get("t").is_some(), "{}", f.text());
    assert!(json.get("r").is_none() && json.get("e").is_none(), "{}", f.text());
    assert_eq!(page.html(), fresh(1, "", 2));
    assert!(page.act("inc", Value::Null).await.error().is_none());
    let want = Crashy {
        saved: 2,
        mounts: 2,
        items: vec![2],
        ..Crashy::default()
    };
    assert_eq!(page.html(), want.render_html().unwrap());
}

#[tokio::test]
async fn when_mounting_again_fails_the_connection_closes_with_1011() {
    let Setup {
        mut page,
        failing_mount,
        ..
    } = setup("/p").await;
    page.act("inc", Value::Null).await;
    failing_mount.store(2, Ordering::SeqCst);
    let f = page.act("crash", Value::Null).await;
    // The action is answered with the error, without a tree: the client keeps its page...
    assert!(f.error().unwrap().starts_with("internal error (ref "), "{}", f.text());
    assert!(f.json().get("t").is_none(), "{}", f.text());
    let before = Crashy {
        saved: 1,
        mounts: 1,
        items: vec![1],
        ..Crashy::default()
    };
    assert_eq!(page.html(), before.render_html().unwrap());
    // ...and the connection closes with 1011, so the browser reconnects.
    let next = page.act("inc", Value::Null).await;
    let closed = next.closed().expect("closed");
    assert_eq!((closed.code, closed.reason.as_str()), (1011, "page failed to restart"));
    // The reconnect mounts from scratch, with the stored value.
    page.reconnect().await.unwrap();
    assert_eq!(page.html(), fresh(1, "", 3));
    assert!(page.act("inc", Value::Null).await.error().is_none());
}
