//! A read-only page, `#[actions] impl About {}`: it renders, and refuses every action with
//! the unknown-action error, which names no known action.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use livetemplate_core::Request;
use serde_json::json;

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = "<h1>{{ title }}</h1><form method=\"POST\"><button name=\"edit\">Edit</button></form>",
    ext = "html"
)]
pub struct AboutState {
    pub title: String,
}

pub struct About;

#[actions]
impl About {}

fn about() -> AboutState {
    AboutState {
        title: "About us".into(),
    }
}

#[tokio::test]
async fn renders_over_the_wire() {
    let page = TestPage::mount(About, about()).await.unwrap();
    assert_eq!(
        page.html(),
        "<h1>About us</h1><form method=\"POST\"><button name=\"edit\">Edit</button></form>"
    );
}

#[tokio::test]
async fn refuses_every_action_listing_none() {
    let mut page = TestPage::mount(About, about()).await.unwrap();
    let before = page.html();
    for name in ["edit", "saveNotes", "mount"] {
        let f = page.act(name, serde_json::Value::Null).await;
        let err = f.error().expect("refused");
        assert!(err.contains("not found on /test"), "{err}");
        assert!(err.ends_with("known: (none)"), "{err}");
    }
    assert_eq!(page.html(), before);
}

#[tokio::test]
async fn a_form_post_is_refused_too() {
    let app = App::builder().page("/about", About, about()).build().unwrap();
    let page = TestPage::connect(std::sync::Arc::new(app), "/about", livetemplate::GroupId::random())
        .await
        .unwrap();
    let route = page.app().route("/about").unwrap();
    assert!(page.html().starts_with("<h1>About us</h1>"), "{}", page.html());
    let req = Request {
        path: "/about".into(),
        query: String::new(),
        group: page.group().clone(),
    };
    let err = route
        .post(page.app().services(), &req, "edit", json!({}))
        .await
        .unwrap_err();
    assert!(err.is_unknown_action(), "{err}");
    assert!(err.to_string().ends_with("known: (none)"), "{err}");
}
