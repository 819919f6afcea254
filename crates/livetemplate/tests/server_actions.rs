//! `#[lvt(server)]` actions: reachable from the server (`session.trigger_action`, publishes,
//! presence), never from a browser's message or form post, and not named to it.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::time::Duration;

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use livetemplate_core::Request;
use serde_json::json;

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ count }}</p>", ext = "html")]
pub struct Counter {
    pub count: i64,
}

pub struct Ctrl;

#[actions]
impl Ctrl {
    async fn increment(&self, s: &mut Counter, _ctx: &mut Context) -> Result<()> {
        s.count += 1;
        Ok(())
    }

    /// Only the server may add ten.
    #[lvt(server)]
    async fn bonus(&self, s: &mut Counter, _ctx: &mut Context) -> Result<()> {
        s.count += 10;
        Ok(())
    }
}

#[tokio::test]
async fn a_browser_cannot_run_a_server_action() {
    let mut page = TestPage::mount(Ctrl, Counter::default()).await.unwrap();
    for name in ["bonus", "Bonus", "bonus"] {
        let f = page.act(name, serde_json::Value::Null).await;
        let err = f.error().expect("refused");
        assert!(err.contains("not found"), "{err}");
        assert!(
            err.ends_with("known: increment"),
            "server actions are not listed: {err}"
        );
    }
    assert_eq!(page.html(), "<p>0</p>");
    page.act("increment", serde_json::Value::Null).await;
    assert_eq!(page.html(), "<p>1</p>");
}

#[tokio::test]
async fn the_server_can() {
    let mut page = TestPage::mount(Ctrl, Counter::default()).await.unwrap();
    let session = page.app().session("/test", page.group());
    session.trigger_action("bonus", ()).await.unwrap();
    page.next_push(Duration::from_secs(5)).await.expect("pushed");
    assert_eq!(page.html(), "<p>10</p>");
}

#[tokio::test]
async fn a_form_post_cannot_either() {
    let page = TestPage::mount(Ctrl, Counter::default()).await.unwrap();
    let app = page.app().clone();
    let route = app.route("/test").unwrap();
    let req = Request {
        path: "/test".into(),
        query: String::new(),
        group: page.group().clone(),
    };
    let err = route.post(app.services(), &req, "bonus", json!({})).await.unwrap_err();
    assert!(err.is_unknown_action(), "{err}");
    assert!(route.post(app.services(), &req, "increment", json!({})).await.is_ok());
}
