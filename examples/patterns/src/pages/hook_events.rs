//! `/hook-events`: an `lvt-hook` element whose hook sends events with `pushEvent`; the page
//! counts them and checks that each one came in the order it was sent.
//!
//! The page ships no hook of its own: register one as `window.LiveTemplate.hooks.Events`
//! (its `mounted` calls `this.pushEvent("event", {n})` for n = 1, 2, 3, …). The browser test
//! sends 300 at once, past the connection's message rate: the server reads them more slowly
//! instead of closing the connection, so all of them arrive, in order.

use livetemplate::AppBuilder;
use livetemplate::prelude::*;

/// What the page has received (per connection; not persisted).
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "hook_events.html")]
pub struct HookEventsState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// Events received.
    pub received: i64,
    /// The `n` of the last event.
    pub last: i64,
    /// Events whose `n` was not one more than the one before.
    pub out_of_order: i64,
}

/// Hook events actions.
#[derive(Debug)]
pub struct HookEventsController;

#[actions]
impl HookEventsController {
    /// One event from the hook, `{"n": sequence number}`.
    async fn event(&self, state: &mut HookEventsState, ctx: &mut Context) -> Result<()> {
        let n = ctx.get_int("n");
        if n != state.last + 1 {
            state.out_of_order += 1;
        }
        state.last = n;
        state.received += 1;
        Ok(())
    }
}

/// Add `/hook-events`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page(
        "/hook-events",
        HookEventsController,
        HookEventsState {
            title: "Hook events".into(),
            category: "Client".into(),
            ..Default::default()
        },
    )
}
