//! `/reconnection`: the seed's Reconnection Recovery page. Counter and notes are persisted
//! per session group; notes are kept verbatim.

use livetemplate::AppBuilder;
use livetemplate::prelude::*;

/// Reconnection state.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "realtime/reconnection.html")]
pub struct ReconnectionState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// Persisted counter.
    #[lvt(persist)]
    pub counter: i64,
    /// Persisted notes, verbatim.
    #[lvt(persist)]
    pub notes: String,
}

/// Reconnection actions.
#[derive(Debug)]
pub struct ReconnectionController;

#[actions]
impl ReconnectionController {
    async fn increment(&self, state: &mut ReconnectionState, _ctx: &mut Context) -> Result<()> {
        state.counter += 1;
        Ok(())
    }

    async fn save_notes(&self, state: &mut ReconnectionState, ctx: &mut Context) -> Result<()> {
        // Free-form text: leading and trailing whitespace and newlines are the user's.
        state.notes = ctx.get_string("notes");
        Ok(())
    }
}

/// Add `/reconnection`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page(
        "/reconnection",
        ReconnectionController,
        ReconnectionState {
            title: "Reconnection Recovery".into(),
            category: "Real-Time & Multi-User".into(),
            ..Default::default()
        },
    )
}
