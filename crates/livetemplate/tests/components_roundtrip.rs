//! The byte-for-byte invariant with components: after every step of random sequences (page
//! actions adding, removing and reordering instances and changing their inputs, component
//! actions, nested instances, messages to parents), the HTML the reference client rebuilds
//! from the live connection's frames equals the page's GET render of the same states, the
//! states being driven through the no-JS POST path in another session group.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::Arc;

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use livetemplate_core::page::{Page, PageRoute, Request, Services};
use livetemplate_core::{GroupId, MemoryStore, PersistStore};
use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<h1>{{ title }} ({{ told }})</h1><ul>{% for id in ids %}<li>{{ live_component::<CellComponent>(id, self.inputs()) }}</li>{% else %}<li>none</li>{% endfor %}</ul>{% if footer %}{{ live_component::<LeafComponent>("footer", told.clone()) }}{% endif %}"#,
    ext = "html"
)]
pub struct Sheet {
    pub title: String,
    pub ids: Vec<String>,
    pub nested: bool,
    pub footer: bool,
    pub told: i64,
}

impl Sheet {
    pub fn inputs(&self) -> CellInputs {
        CellInputs {
            title: self.title.clone(),
            nested: self.nested,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CellInputs {
    pub title: String,
    pub nested: bool,
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<b class="{{ title }}">{{ id }}={{ n }}</b>{% if nested %}<i>{{ live_component::<LeafComponent>(self.leaf_id(), n.clone()) }}</i>{% endif %}"#,
    ext = "html"
)]
pub struct Cell {
    pub id: String,
    pub title: String,
    pub nested: bool,
    #[lvt(persist)]
    pub n: i64,
}

impl Cell {
    pub fn leaf_id(&self) -> String {
        format!("{}-leaf", self.id)
    }
}

pub struct CellComponent;

#[actions(component)]
impl CellComponent {
    async fn update(&self, state: &mut Cell, inputs: &CellInputs, ctx: &mut Context) -> Result<()> {
        state.id = ctx.component_id().unwrap_or_default().to_string();
        state.title = inputs.title.clone();
        state.nested = inputs.nested;
        Ok(())
    }
    async fn bump(&self, state: &mut Cell, ctx: &mut Context) -> Result<()> {
        state.n += ctx.get_int("by");
        Ok(())
    }
    async fn tell(&self, state: &mut Cell, ctx: &mut Context) -> Result<()> {
        ctx.send_parent("told", json!({"n": state.n}));
        Ok(())
    }
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = r#"<s>{{ shown }}/{{ pings }}</s>"#, ext = "html")]
pub struct Leaf {
    pub shown: i64,
    pub pings: i64,
}

pub struct LeafComponent;

#[actions(component)]
impl LeafComponent {
    async fn update(&self, state: &mut Leaf, inputs: &i64, _ctx: &mut Context) -> Result<()> {
        state.shown = *inputs;
        Ok(())
    }
    async fn ping(&self, state: &mut Leaf, ctx: &mut Context) -> Result<()> {
        state.pings += 1;
        // To the cell it is nested in (or, for the footer, to the page).
        ctx.send_parent(
            if ctx.component_id() == Some("footer") {
                "told"
            } else {
                "bump"
            },
            json!({"by": 1, "n": 1}),
        );
        Ok(())
    }
}

pub struct SheetCtrl;

#[actions]
impl SheetCtrl {
    async fn add(&self, state: &mut Sheet, ctx: &mut Context) -> Result<()> {
        let id = ctx.get_string("id");
        if !state.ids.contains(&id) {
            let at = (ctx.get_int("at") as usize) % (state.ids.len() + 1);
            state.ids.insert(at, id);
        }
        Ok(())
    }
    async fn remove(&self, state: &mut Sheet, ctx: &mut Context) -> Result<()> {
        let id = ctx.get_string("id");
        state.ids.retain(|i| *i != id);
        Ok(())
    }
    async fn retitle(&self, state: &mut Sheet, ctx: &mut Context) -> Result<()> {
        state.title = ctx.get_string("title");
        Ok(())
    }
    async fn nest(&self, state: &mut Sheet, _ctx: &mut Context) -> Result<()> {
        state.nested = !state.nested;
        Ok(())
    }
    async fn footer(&self, state: &mut Sheet, _ctx: &mut Context) -> Result<()> {
        state.footer = !state.footer;
        Ok(())
    }
    async fn reverse(&self, state: &mut Sheet, _ctx: &mut Context) -> Result<()> {
        state.ids.reverse();
        Ok(())
    }
    async fn told(&self, state: &mut Sheet, ctx: &mut Context) -> Result<()> {
        state.told += ctx.get_int("n");
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Op {
    Add(u8, u8),
    Remove(u8),
    Retitle(u8),
    Nest,
    Footer,
    Reverse,
    Bump(u8, i8),
    Tell(u8),
    Ping(u8),
    PingFooter,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..6u8, any::<u8>()).prop_map(|(i, at)| Op::Add(i, at)),
        1 => (0..6u8).prop_map(Op::Remove),
        1 => (0..3u8).prop_map(Op::Retitle),
        1 => Just(Op::Nest),
        1 => Just(Op::Footer),
        1 => Just(Op::Reverse),
        3 => (0..6u8, -3..4i8).prop_map(|(i, by)| Op::Bump(i, by)),
        1 => (0..6u8).prop_map(Op::Tell),
        2 => (0..6u8).prop_map(Op::Ping),
        1 => Just(Op::PingFooter),
    ]
}

/// The op as (target instance, action, data).
fn message(op: &Op) -> (Option<String>, &'static str, Value) {
    let cell = |i: &u8| format!("c{i}");
    match op {
        Op::Add(i, at) => (None, "add", json!({"id": cell(i), "at": *at})),
        Op::Remove(i) => (None, "remove", json!({"id": cell(i)})),
        Op::Retitle(t) => (None, "retitle", json!({"title": format!("t{t}")})),
        Op::Nest => (None, "nest", json!({})),
        Op::Footer => (None, "footer", json!({})),
        Op::Reverse => (None, "reverse", json!({})),
        Op::Bump(i, by) => (Some(cell(i)), "bump", json!({"by": *by})),
        Op::Tell(i) => (Some(cell(i)), "tell", json!({})),
        Op::Ping(i) => (Some(format!("c{i}-leaf")), "ping", json!({})),
        Op::PingFooter => (Some("footer".into()), "ping", json!({})),
    }
}

fn initial() -> Sheet {
    Sheet {
        title: "t0".into(),
        ids: vec!["c0".into(), "c1".into()],
        ..Sheet::default()
    }
}

async fn run(ops: Vec<Op>) {
    // The live page, through the wire.
    let mut live = TestPage::mount(SheetCtrl, initial()).await.unwrap();
    // The same steps through the no-JS path, read back by GETs.
    let route = Page::new("/test", SheetCtrl, initial());
    let store: Arc<dyn PersistStore> = Arc::new(MemoryStore::new());
    let svc = Services::with_store(store);
    let req = Request {
        path: "/test".into(),
        query: String::new(),
        group: GroupId::random(),
    };
    let get = || async { route.render(&svc, &req).await.unwrap() };
    assert_eq!(live.html(), get().await, "first render");
    for (step, op) in ops.iter().enumerate() {
        let (target, action, data) = message(op);
        let frame = match &target {
            Some(t) => live.act_on(t, action, data.clone()).await,
            None => live.act(action, data.clone()).await,
        };
        let mut form = data;
        if let Some(t) = &target {
            form["lvt-target"] = Value::String(t.clone());
        }
        let posted = route.post(&svc, &req, action, form).await;
        // Both paths agree on whether the step could run (an instance not on the page).
        assert_eq!(
            frame.error().is_some(),
            posted.is_err(),
            "step {step} {op:?}: {}",
            frame.text()
        );
        if target.is_some() && frame.error().is_none() {
            let json = frame.json();
            // A component's step sends the page's diff only when a message reached the page.
            if json.get("d").is_some() {
                assert!(
                    matches!(op, Op::Tell(_) | Op::PingFooter),
                    "step {step} {op:?}: {}",
                    frame.text()
                );
            }
        }
        assert_eq!(live.html(), get().await, "after step {step} {op:?}: {}", frame.text());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn rebuilt_html_equals_the_get_render(ops in proptest::collection::vec(op(), 1..24)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops));
    }
}
