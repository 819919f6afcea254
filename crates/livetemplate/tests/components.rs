//! Stateful components through the real wire format (`TestPage`): a component's action
//! renders only its instance (no `"d"`), messages to the page, nested instances, inputs,
//! persisted instances, unknown targets, and the plain render of the same states.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use serde_json::{Value, json};

#[derive(LiveState, Clone, Default)]
#[lvt(
    source = r#"<span>{{ label }}: {{ count }}</span><button lvt-click="inc" name="inc">+</button>{% if let Some(inner) = inner %}{{ live_component::<BadgeComponent>(inner, count.clone()) }}{% endif %}"#,
    ext = "html"
)]
pub struct Counter {
    pub id: String,
    pub label: String,
    pub inner: Option<String>,
    #[lvt(persist)]
    pub count: i64,
}

#[derive(Clone, PartialEq, Debug)]
pub struct CounterInputs {
    pub label: String,
    pub nested: bool,
}

pub struct CounterComponent;

#[actions(component)]
impl CounterComponent {
    async fn update(&self, state: &mut Counter, inputs: &CounterInputs, ctx: &mut Context) -> Result<()> {
        state.id = ctx.component_id().unwrap_or_default().to_string();
        state.label = inputs.label.clone();
        state.inner = inputs.nested.then(|| format!("{}-badge", state.id));
        Ok(())
    }

    async fn inc(&self, state: &mut Counter, ctx: &mut Context) -> Result<()> {
        state.count += 1;
        ctx.send_parent("counter_changed", json!({"id": state.id, "count": state.count}));
        Ok(())
    }

    async fn quiet(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
        state.count += 100;
        Ok(())
    }

    async fn boom(&self, _state: &mut Counter, _ctx: &mut Context) -> Result<()> {
        panic!("component bug")
    }
}

#[derive(LiveState, Clone, Default)]
#[lvt(source = r#"<i>{{ shown }} seen {{ updates }}</i>"#, ext = "html")]
pub struct Badge {
    pub shown: i64,
    pub updates: u32,
}

pub struct BadgeComponent;

#[actions(component)]
impl BadgeComponent {
    async fn update(&self, state: &mut Badge, inputs: &i64, _ctx: &mut Context) -> Result<()> {
        state.shown = *inputs;
        state.updates += 1;
        Ok(())
    }

    async fn ping(&self, _state: &mut Badge, ctx: &mut Context) -> Result<()> {
        ctx.send_parent("quiet", Value::Null);
        Ok(())
    }
}

#[derive(LiveState, Clone, Default)]
#[lvt(
    source = r#"<h1>{{ title }}</h1><p>Total: {{ total }}</p>{% for id in ids %}{{ live_component::<CounterComponent>(id, self.inputs_for(id)) }}{% endfor %}"#,
    ext = "html"
)]
pub struct Board {
    pub title: String,
    pub ids: Vec<String>,
    pub counts: std::collections::BTreeMap<String, i64>,
    pub total: i64,
    pub nested: bool,
}

impl Board {
    pub fn inputs_for(&self, id: &str) -> CounterInputs {
        CounterInputs {
            label: format!("{} {id}", self.title),
            nested: self.nested,
        }
    }
}

pub struct BoardCtrl;

#[actions]
impl BoardCtrl {
    async fn counter_changed(&self, state: &mut Board, ctx: &mut Context) -> Result<()> {
        let id = ctx.get_string("id");
        state.counts.insert(id, ctx.get_int("count"));
        state.total = state.counts.values().sum();
        Ok(())
    }

    async fn retitle(&self, state: &mut Board, ctx: &mut Context) -> Result<()> {
        state.title = ctx.get_string("title");
        Ok(())
    }

    async fn set_ids(&self, state: &mut Board, ctx: &mut Context) -> Result<()> {
        state.ids = ctx
            .get_string("ids")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        Ok(())
    }

    async fn nest(&self, state: &mut Board, _ctx: &mut Context) -> Result<()> {
        state.nested = !state.nested;
        Ok(())
    }
}

fn board() -> Board {
    Board {
        title: "C".into(),
        ids: vec!["a".into(), "b".into(), "c".into()],
        ..Board::default()
    }
}

#[tokio::test]
async fn page_composes_instances_and_a_component_action_sends_no_page_diff() {
    let mut page = TestPage::mount(BoardCtrl, board()).await.unwrap();
    let html = page.html();
    assert!(
        html.starts_with("<h1>C</h1><p>Total: 0</p><div lvt-component=\"a\"><span>C a: 0</span>"),
        "{html}"
    );
    assert_eq!(html.matches("lvt-component=").count(), 3);

    // A component action that tells nobody: only its instance's diff.
    let frame = page.component("b").act("quiet", Value::Null).await;
    let json = frame.json();
    assert!(json.get("d").is_none(), "{}", frame.text());
    assert_eq!(json["c"].as_object().unwrap().len(), 1, "{}", frame.text());
    assert!(page.html().contains("<span>C b: 100</span>"), "{}", page.html());
    assert!(page.html().contains("<span>C a: 0</span>"));

    // `send_parent`: the page's total follows, in `"d"`.
    let frame = page.act_on("a", "inc", json!({})).await;
    assert!(frame.json().get("d").is_some(), "{}", frame.text());
    assert!(page.html().contains("<p>Total: 1</p>"), "{}", page.html());
    assert!(page.html().contains("<span>C a: 1</span>"));
}

#[tokio::test]
async fn inputs_changing_update_instances_and_dropped_ones_go() {
    let mut page = TestPage::mount(BoardCtrl, board()).await.unwrap();
    page.act_on("c", "quiet", Value::Null).await;
    // New inputs for every instance: each is updated, and keeps its own state.
    let frame = page.act("retitle", json!({"title": "D"})).await;
    assert_eq!(frame.json()["c"].as_object().unwrap().len(), 3, "{}", frame.text());
    assert!(page.html().contains("<span>D c: 100</span>"), "{}", page.html());
    // Equal inputs: nothing sent for the instances.
    let frame = page.act("retitle", json!({"title": "D"})).await;
    assert!(frame.json().get("c").is_none(), "{}", frame.text());
    // `b` is no longer rendered: dropped (`null`); `z` is new.
    let frame = page.act("set_ids", json!({"ids": "a,c,z"})).await;
    let c = frame.json()["c"].clone();
    assert!(c.as_object().unwrap().values().any(Value::is_null), "{}", frame.text());
    assert_eq!(page.html().matches("lvt-component=").count(), 3);
    assert!(page.html().contains("<div lvt-component=\"z\"><span>D z: 0</span>"));
    assert!(page.html().contains("<span>D c: 100</span>"));
    // Back again, `b` starts over (its persisted count stays: it was 0).
    page.act("set_ids", json!({"ids": "a,b"})).await;
    assert!(page.html().contains("<span>D b: 0</span>"), "{}", page.html());
}

#[tokio::test]
async fn nested_components_and_messages_between_them() {
    let mut page = TestPage::mount(BoardCtrl, board()).await.unwrap();
    page.act("nest", Value::Null).await;
    let html = page.html();
    assert!(
        html.contains("<div lvt-component=\"a-badge\"><i>0 seen 1</i></div>"),
        "{html}"
    );
    // The outer instance's action changes the inner one's inputs: both are sent.
    let frame = page.act_on("a", "quiet", Value::Null).await;
    assert!(frame.json().get("d").is_none(), "{}", frame.text());
    assert_eq!(frame.json()["c"].as_object().unwrap().len(), 2, "{}", frame.text());
    assert!(page.html().contains("<i>100 seen 2</i>"), "{}", page.html());
    // The inner one's message goes to its parent component, not to the page.
    let frame = page.act_on("a-badge", "ping", Value::Null).await;
    assert!(frame.json().get("d").is_none(), "{}", frame.text());
    assert!(page.html().contains("<span>C a: 200</span>"), "{}", page.html());
    assert!(page.html().contains("<i>200 seen 3</i>"), "{}", page.html());
    // Un-nesting drops the inner instances.
    let frame = page.act("nest", Value::Null).await;
    let nulls = frame.json()["c"]
        .as_object()
        .unwrap()
        .values()
        .filter(|v| v.is_null())
        .count();
    assert_eq!(nulls, 3, "{}", frame.text());
    assert!(!page.html().contains("badge"));
}

#[tokio::test]
async fn unknown_target_and_unknown_action_are_errors() {
    let mut page = TestPage::mount(BoardCtrl, board()).await.unwrap();
    let frame = page.act_on("x", "inc", Value::Null).await;
    assert_eq!(
        frame.error().as_deref(),
        Some("no component `x` on /test"),
        "{}",
        frame.text()
    );
    let frame = page.act_on("a", "nope", Value::Null).await;
    let err = frame.error().unwrap();
    assert!(err.contains("action `nope` not found on /test#a"), "{err}");
    assert!(err.contains("inc"), "{err}");
    // `lvt-target` in the data (a form without JavaScript sends it so) targets too.
    page.act("inc", json!({"lvt-target": "b"})).await;
    assert!(page.html().contains("<span>C b: 1</span>"), "{}", page.html());
    // And `page` targets the page.
    page.act("retitle", json!({"lvt-target": "page", "title": "P"})).await;
    assert!(page.html().contains("<h1>P</h1>"));
}

#[tokio::test]
async fn a_panic_in_a_component_mounts_the_page_again() {
    let mut page = TestPage::mount(BoardCtrl, board()).await.unwrap();
    page.act_on("a", "quiet", Value::Null).await;
    let frame = page.act_on("a", "boom", Value::Null).await;
    assert!(frame.error().is_some(), "{}", frame.text());
    assert!(frame.json().get("t").is_some(), "{}", frame.text());
    // Every live instance comes whole with the tree.
    assert_eq!(frame.json()["c"].as_object().unwrap().len(), 3, "{}", frame.text());
    // Not persisted: `quiet`'s count was saved (it is `#[lvt(persist)]`), so it comes back.
    assert!(page.html().contains("<span>C a: 100</span>"), "{}", page.html());
    page.act_on("a", "inc", Value::Null).await;
    assert!(page.html().contains("<span>C a: 101</span>"), "{}", page.html());
}

#[tokio::test]
async fn a_persisted_instance_survives_a_reconnect() {
    let mut page = TestPage::mount(BoardCtrl, board()).await.unwrap();
    page.act_on("c", "inc", Value::Null).await;
    page.act_on("c", "inc", Value::Null).await;
    page.reconnect().await.unwrap();
    assert!(page.html().contains("<span>C c: 2</span>"), "{}", page.html());
    assert!(page.html().contains("<span>C a: 0</span>"));
    let stored = page.store().load(page.group(), "/test#c").await.unwrap();
    assert!(stored.iter().any(|(k, _)| k == "count"), "{stored:?}");
}

#[tokio::test]
async fn rendering_one_id_twice_fails_the_render() {
    // The page cannot start: the error (logged, with the message naming the id) closes the
    // connection as any failed mount does.
    let page = TestPage::mount(
        BoardCtrl,
        Board {
            ids: vec!["a".into(), "a".into()],
            ..board()
        },
    )
    .await;
    let err = page.err().unwrap();
    assert!(err.to_string().contains("page failed to start"), "{err}");
}

#[derive(LiveState, Clone, Default)]
#[lvt(source = r#"<p>{{ self.hidden() }}</p>"#, ext = "html")]
pub struct Hidden {
    pub n: i64,
}

impl Hidden {
    pub fn hidden(&self) -> String {
        live_component::<BadgeComponent>("x", 1).to_string()
    }
}

pub struct HiddenCtrl;

#[actions]
impl HiddenCtrl {
    async fn bump(&self, state: &mut Hidden, _ctx: &mut Context) -> Result<()> {
        state.n += 1;
        Ok(())
    }
}

#[tokio::test]
async fn an_embed_turned_into_a_string_fails_the_render() {
    // Through a string, the embed cannot be a component slot: the page does not start.
    assert!(TestPage::mount(HiddenCtrl, Hidden::default()).await.is_err());
    // Outside any page render it writes the empty wrapper.
    assert_eq!(Hidden::default().hidden(), r#"<div lvt-component="x"></div>"#);
}

#[derive(LiveState, Clone, Default)]
#[lvt(source = r#"<u>{{ n }}</u>"#, ext = "html")]
pub struct Picky {
    pub n: i64,
}

pub struct PickyComponent;

#[actions(component)]
impl PickyComponent {
    async fn update(&self, state: &mut Picky, inputs: &i64, _ctx: &mut Context) -> Result<()> {
        if *inputs == 13 {
            return Err(Error::msg("not 13"));
        }
        state.n = *inputs;
        Ok(())
    }
}

#[derive(LiveState, Clone, Default)]
#[lvt(
    source = r#"<p>{% if shown %}{{ live_component::<PickyComponent>("p", n.clone()) }}{% endif %}</p>"#,
    ext = "html"
)]
pub struct Holder {
    pub shown: bool,
    pub n: i64,
}

pub struct HolderCtrl;

#[actions]
impl HolderCtrl {
    async fn show(&self, state: &mut Holder, ctx: &mut Context) -> Result<()> {
        state.shown = true;
        state.n = ctx.get_int("n");
        Ok(())
    }
}

#[tokio::test]
async fn an_instance_whose_first_update_fails_is_not_kept() {
    let mut page = TestPage::mount(HolderCtrl, Holder::default()).await.unwrap();
    let frame = page.act("show", json!({"n": 13})).await;
    assert_eq!(frame.error().as_deref(), Some("not 13"), "{}", frame.text());
    assert_eq!(page.html(), "<p></p>");
    // The next render creates it again, from scratch.
    page.act("show", json!({"n": 7})).await;
    assert_eq!(page.html(), r#"<p><div lvt-component="p"><u>7</u></div></p>"#);
}

#[tokio::test]
async fn another_tab_sees_a_persisted_instance_change() {
    let mut one = TestPage::mount(BoardCtrl, board()).await.unwrap();
    let mut two = TestPage::connect(one.app().clone(), "/test", one.group().clone())
        .await
        .unwrap();
    one.act_on("c", "quiet", Value::Null).await;
    let pushed = two
        .next_push(std::time::Duration::from_secs(5))
        .await
        .expect("a reload frame");
    assert!(pushed.json().get("d").is_none(), "{}", pushed.text());
    assert!(two.html().contains("<span>C c: 100</span>"), "{}", two.html());
    // Not persisted fields stay each tab's own: the page's total is not shared.
    assert!(two.html().contains("<p>Total: 0</p>"));
}

#[derive(LiveState, Clone, Default)]
#[lvt(
    source = r#"{% if badge %}{{ live_component::<BadgeComponent>("x", 5) }}{% else %}{{ live_component::<PickyComponent>("x", 6) }}{% endif %}"#,
    ext = "html"
)]
pub struct Swap {
    pub badge: bool,
}

pub struct SwapCtrl;

#[actions]
impl SwapCtrl {
    async fn flip(&self, state: &mut Swap, _ctx: &mut Context) -> Result<()> {
        state.badge = !state.badge;
        Ok(())
    }
}

#[tokio::test]
async fn an_id_that_names_another_component_type_is_a_new_instance() {
    let mut page = TestPage::mount(SwapCtrl, Swap::default()).await.unwrap();
    assert_eq!(page.html(), r#"<div lvt-component="x"><u>6</u></div>"#);
    let frame = page.act("flip", Value::Null).await;
    // One entry for the cid: the new instance whole.
    let c = frame.json()["c"].as_object().unwrap().clone();
    assert_eq!(c.len(), 1, "{}", frame.text());
    assert!(c.values().all(|v| v.get("s").is_some()), "{}", frame.text());
    assert!(!frame.text().contains("null"), "{}", frame.text());
    assert_eq!(page.html(), r#"<div lvt-component="x"><i>5 seen 1</i></div>"#);
}
