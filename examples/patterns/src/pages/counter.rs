//! `/counter`: two buttons and a number.

use livetemplate::AppBuilder;
use livetemplate::prelude::*;

/// Counter state (per connection; not persisted).
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "counter.html")]
pub struct CounterState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// The count.
    pub count: i64,
}

/// Counter actions.
#[derive(Debug)]
pub struct CounterController;

#[actions]
impl CounterController {
    async fn increment(&self, state: &mut CounterState, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        Ok(())
    }

    async fn decrement(&self, state: &mut CounterState, _ctx: &mut Context) -> Result<()> {
        state.count -= 1;
        Ok(())
    }
}

/// Add `/counter`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page(
        "/counter",
        CounterController,
        CounterState {
            title: "Counter".into(),
            category: "Basics".into(),
            count: 0,
        },
    )
}
