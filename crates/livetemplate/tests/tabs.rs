//! Persisted fields belong to the session group: when one tab saves them, the group's other
//! tabs of the page get the new values pushed, so tabs never overwrite each other with stale
//! copies.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::Arc;
use std::time::Duration;

use livetemplate::core::GroupId;
use livetemplate::prelude::*;
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
