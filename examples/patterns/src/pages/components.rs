//! `/components`: three counter components on one page, each with its own state, template
//! and actions; the page's total follows them through `send_parent`; the third counter's
//! count and name are persisted (per instance). The browser's other tabs of the page load
//! a saved count by themselves, but their page is not told: the saved counter also publishes
//! its count to them (on the group's topic), so their totals follow.

use std::collections::BTreeMap;

use livetemplate::AppBuilder;
use livetemplate::prelude::*;

/// What the page passes each counter.
#[derive(Clone, Debug, PartialEq)]
pub struct CounterInputs {
    /// Shown as the counter's heading.
    pub label: String,
}

/// A counter's state (not persisted).
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "components/counter.html")]
pub struct Counter {
    /// The instance id the page gave.
    pub id: String,
    /// From the page's inputs.
    pub label: String,
    /// Set by the counter's own form.
    pub name: String,
    /// The count.
    pub count: i64,
    /// Whether count and name are stored (never, for this one).
    pub saved: bool,
}

/// A counter whose count and name are stored for the browser (per instance: the store's page
/// key is `/components#<id>`).
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "components/counter.html")]
pub struct SavedCounter {
    /// The instance id the page gave.
    pub id: String,
    /// From the page's inputs.
    pub label: String,
    /// Set by the counter's own form; persisted.
    #[lvt(persist)]
    pub name: String,
    /// The count; persisted.
    #[lvt(persist)]
    pub count: i64,
    /// Always true: the template says so.
    pub saved: bool,
}

/// The counter's actions, shared by both states.
trait Counting {
    fn fields(&mut self) -> (&mut String, &mut String, &mut String, &mut i64);
}

impl Counting for Counter {
    fn fields(&mut self) -> (&mut String, &mut String, &mut String, &mut i64) {
        (&mut self.id, &mut self.label, &mut self.name, &mut self.count)
    }
}

impl Counting for SavedCounter {
    fn fields(&mut self) -> (&mut String, &mut String, &mut String, &mut i64) {
        (&mut self.id, &mut self.label, &mut self.name, &mut self.count)
    }
}

/// What a counter tells the page.
#[derive(serde::Serialize)]
struct Changed<'a> {
    id: &'a str,
    count: i64,
}

/// Tell the page this counter's count.
fn report(state: &mut impl Counting, ctx: &mut Context) {
    let (id, _, _, count) = state.fields();
    ctx.send_parent("counter_changed", Changed { id, count: *count });
}

/// Tell the page in this browser's other tabs this (saved) counter's count: they show the
/// saved count by themselves, and their page's total needs it too.
fn tell_other_tabs(state: &mut impl Counting, ctx: &mut Context) -> Result<()> {
    let (id, _, _, count) = state.fields();
    let topic = ctx.self_topic();
    ctx.publish(topic, "counter_changed", Changed { id, count: *count })
}

fn start(state: &mut impl Counting, ctx: &mut Context) {
    let (id, ..) = state.fields();
    *id = ctx.component_id().unwrap_or_default().to_string();
    // The count may come from the store: the page's total includes it from the start.
    report(state, ctx);
}

fn step(state: &mut impl Counting, by: i64, ctx: &mut Context) {
    *state.fields().3 += by;
    report(state, ctx);
}

fn rename(state: &mut impl Counting, ctx: &mut Context) -> Result<()> {
    let name = ctx.get_string("name");
    let name = name.trim();
    if name.chars().count() > 40 {
        return Err(Error::msg("A name has at most 40 characters"));
    }
    *state.fields().2 = name.to_string();
    Ok(())
}

/// The counter component.
#[derive(Debug)]
pub struct CounterComponent;

#[actions(component)]
impl CounterComponent {
    async fn mount(&self, state: &mut Counter, ctx: &mut Context) -> Result<()> {
        start(state, ctx);
        Ok(())
    }

    async fn update(&self, state: &mut Counter, inputs: &CounterInputs, _ctx: &mut Context) -> Result<()> {
        state.label = inputs.label.clone();
        Ok(())
    }

    async fn inc(&self, state: &mut Counter, ctx: &mut Context) -> Result<()> {
        step(state, 1, ctx);
        Ok(())
    }

    async fn dec(&self, state: &mut Counter, ctx: &mut Context) -> Result<()> {
        step(state, -1, ctx);
        Ok(())
    }

    async fn rename(&self, state: &mut Counter, ctx: &mut Context) -> Result<()> {
        rename(state, ctx)
    }
}

/// The persisted counter component.
#[derive(Debug)]
pub struct SavedCounterComponent;

#[actions(component)]
impl SavedCounterComponent {
    async fn mount(&self, state: &mut SavedCounter, ctx: &mut Context) -> Result<()> {
        state.saved = true;
        start(state, ctx);
        Ok(())
    }

    async fn update(&self, state: &mut SavedCounter, inputs: &CounterInputs, _ctx: &mut Context) -> Result<()> {
        state.label = inputs.label.clone();
        Ok(())
    }

    async fn inc(&self, state: &mut SavedCounter, ctx: &mut Context) -> Result<()> {
        step(state, 1, ctx);
        tell_other_tabs(state, ctx)
    }

    async fn dec(&self, state: &mut SavedCounter, ctx: &mut Context) -> Result<()> {
        step(state, -1, ctx);
        tell_other_tabs(state, ctx)
    }

    async fn rename(&self, state: &mut SavedCounter, ctx: &mut Context) -> Result<()> {
        rename(state, ctx)
    }
}

/// The page: three counters and their total.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "components.html")]
pub struct ComponentsState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// Each counter's last reported count, by instance id.
    pub counts: BTreeMap<String, i64>,
    /// Their sum.
    pub total: i64,
}

impl ComponentsState {
    /// The page's inputs for a counter.
    pub fn inputs(&self, label: &str) -> CounterInputs {
        CounterInputs { label: label.into() }
    }
}

/// The page's actions: what the counters tell it.
#[derive(Debug)]
pub struct ComponentsController;

#[actions]
impl ComponentsController {
    /// Hears the saved counter of this browser's other tabs (see `tell_other_tabs`).
    async fn mount(&self, _state: &mut ComponentsState, ctx: &mut Context) -> Result<()> {
        let topic = ctx.self_topic();
        ctx.subscribe(topic);
        Ok(())
    }

    /// A counter's new count (sent by the counter with `ctx.send_parent`).
    async fn counter_changed(&self, state: &mut ComponentsState, ctx: &mut Context) -> Result<()> {
        state.counts.insert(ctx.get_string("id"), ctx.get_int("count"));
        state.total = state.counts.values().sum();
        Ok(())
    }
}

/// The page's initial state.
pub fn initial() -> ComponentsState {
    ComponentsState {
        title: "Components".into(),
        category: "Components".into(),
        ..ComponentsState::default()
    }
}

/// Add `/components`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page("/components", ComponentsController, initial())
}
