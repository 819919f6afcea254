//! Persisted fields belong to the session group: when one tab saves them, the group's other
//! tabs of the page get the new values pushed, so tabs never overwrite each other with stale
//! copies.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::Arc;
use std::time::Duration;

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use livetemplate_core::GroupId;
use serde_json::json;

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = "<ul>{% for t in todos %}<li>{{ t }}</li>{% endfor %}</ul><p>{{ draft }}</p>",
    ext = "html"
)]
pub struct Todos {
    #[lvt(persist)]
    pub todos: Vec<String>,
    /// Per connection, not persisted.
    pub draft: String,
}

pub struct Ctrl;

#[actions]
impl Ctrl {
    async fn add(&self, s: &mut Todos, ctx: &mut Context) -> Result<()> {
        s.todos.push(ctx.get_string("title"));
        Ok(())
    }
    async fn type_draft(&self, s: &mut Todos, ctx: &mut Context) -> Result<()> {
        s.draft = ctx.get_string("draft");
        Ok(())
    }
}

#[tokio::test]
async fn tabs_of_a_group_converge_on_persisted_fields() {
    let app = Arc::new(App::builder().page("/todos", Ctrl, Todos::default()).build().unwrap());
    let group = GroupId::random();
    let mut tab1 = TestPage::connect(app.clone(), "/todos", group.clone()).await.unwrap();
    let mut tab2 = TestPage::connect(app.clone(), "/todos", group.clone()).await.unwrap();
    let mut stranger = TestPage::connect(app.clone(), "/todos", GroupId::random())
        .await
        .unwrap();

    tab2.act("typeDraft", json!({"draft": "half-typed"})).await;
    tab1.act("add", json!({"title": "from tab1"})).await;
    tab2.next_push(Duration::from_secs(5)).await.expect("tab2 refreshed");
    assert!(tab2.html().contains("<li>from tab1</li>"), "{}", tab2.html());
    assert!(
        tab2.html().contains("<p>half-typed</p>"),
        "fields that are not persisted stay per tab"
    );

    tab2.act("add", json!({"title": "from tab2"})).await;
    tab1.next_push(Duration::from_secs(5)).await.expect("tab1 refreshed");
    let both = "<ul><li>from tab1</li><li>from tab2</li></ul>";
    assert!(tab1.html().starts_with(both), "{}", tab1.html());
    assert!(tab2.html().starts_with(both), "{}", tab2.html());

    assert!(stranger.next_push(Duration::from_millis(300)).await.is_none());
    assert!(stranger.html().starts_with("<ul></ul>"));
}

/// Two tabs of one group acting at the same moment: every action builds on the last save,
/// whichever tab made it, so none is lost (each view loads the fields again when another
/// saved since it last looked, under the group's persist slot).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tabs_lose_no_update() {
    let app = Arc::new(App::builder().page("/todos", Ctrl, Todos::default()).build().unwrap());
    let group = GroupId::random();
    let tab1 = TestPage::connect(app.clone(), "/todos", group.clone()).await.unwrap();
    let tab2 = TestPage::connect(app.clone(), "/todos", group.clone()).await.unwrap();
    let run = |mut tab: TestPage, name: &'static str| {
        tokio::spawn(async move {
            for i in 0..40 {
                let f = tab.act("add", json!({ "title": format!("{name}-{i}") })).await;
                assert!(f.error().is_none(), "{:?}", f.error());
                if i % 3 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            tab
        })
    };
    let (a, b) = (run(tab1, "a"), run(tab2, "b"));
    let (_tab1, _tab2) = (a.await.unwrap(), b.await.unwrap());
    // A fresh tab loads what was saved: all 80 items, each tab's in its own order.
    let fresh = TestPage::connect(app.clone(), "/todos", group.clone()).await.unwrap();
    let html = fresh.html();
    let items: Vec<&str> = html
        .split("<li>")
        .skip(1)
        .map(|s| s.split("</li>").next().unwrap())
        .collect();
    assert_eq!(items.len(), 80, "{html}");
    for name in ["a", "b"] {
        let mine: Vec<&&str> = items.iter().filter(|t| t.starts_with(&format!("{name}-"))).collect();
        let expected: Vec<String> = (0..40).map(|i| format!("{name}-{i}")).collect();
        assert_eq!(mine.iter().map(|s| s.to_string()).collect::<Vec<_>>(), expected);
    }
}
