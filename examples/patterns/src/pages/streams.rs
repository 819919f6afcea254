//! `/streams`: a feed on a [`Stream`]. The server renders each item once, sends it, and
//! forgets it: Send prepends one message, "Add 1,000" inserts a thousand at once, each item's
//! Delete removes that one by its DOM id, Reset empties the feed, and the browser keeps at
//! most [`LIMIT`] items (the newest: the feed prepends, so the limit keeps the first ones).
//! Every button works with JavaScript off too (the page then shows the pending items).

use livetemplate::AppBuilder;
use livetemplate::prelude::*;

use super::chat::message_text;

/// Items the browser keeps (the newest, at the top).
pub const LIMIT: usize = 5_000;

/// Items "Add 1,000" inserts.
pub const MANY: usize = 1_000;

/// One item of the feed.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedItem {
    /// Unique on the page: its DOM id is `item-<id>`.
    pub id: u64,
    /// What it says.
    pub text: String,
}

/// The feed page's state.
#[derive(LiveState, Clone, Debug)]
#[lvt(template = "streams.html")]
pub struct StreamsState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// The feed: newest first, at most [`LIMIT`] in the browser.
    pub items: Stream<FeedItem>,
    /// The next item's id.
    pub next_id: u64,
    /// Items the browser holds: inserts minus deletes, at most [`LIMIT`], 0 after a reset.
    pub in_browser: usize,
    /// Items the server held when the last action started ([`Stream::held`]): 0 on a live
    /// connection (sent items are dropped), the pending ones without JavaScript.
    pub server_held: usize,
}

impl StreamsState {
    /// The page's initial state: an empty feed keeping the newest [`LIMIT`] items.
    pub fn new() -> Self {
        StreamsState {
            title: "Streams".into(),
            category: "Lists".into(),
            items: Stream::new(|m: &FeedItem| format!("item-{}", m.id)).limit(LIMIT as i64),
            next_id: 1,
            in_browser: 0,
            server_held: 0,
        }
    }

    fn prepend(&mut self, text: String) {
        let item = FeedItem { id: self.next_id, text };
        self.next_id += 1;
        self.items.insert_at(0, item);
        self.in_browser = (self.in_browser + 1).min(LIMIT);
    }
}

impl Default for StreamsState {
    fn default() -> Self {
        Self::new()
    }
}

/// The feed's actions.
#[derive(Debug, Default)]
pub struct StreamsController;

#[actions]
impl StreamsController {
    async fn send(&self, state: &mut StreamsState, ctx: &mut Context) -> Result<()> {
        state.server_held = state.items.held();
        if let Some(text) = message_text(ctx)? {
            state.prepend(text);
        }
        Ok(())
    }

    async fn add_many(&self, state: &mut StreamsState, _ctx: &mut Context) -> Result<()> {
        state.server_held = state.items.held();
        let first = state.next_id;
        for i in 0..MANY as u64 {
            state.prepend(format!("generated item {} (batch from {first})", first + i));
        }
        Ok(())
    }

    async fn delete(&self, state: &mut StreamsState, ctx: &mut Context) -> Result<()> {
        state.server_held = state.items.held();
        let id = ctx.get_int("delete");
        if id > 0 {
            state.items.delete_by_dom_id(&format!("item-{id}"));
            state.in_browser = state.in_browser.saturating_sub(1);
        }
        Ok(())
    }

    async fn reset(&self, state: &mut StreamsState, _ctx: &mut Context) -> Result<()> {
        state.server_held = state.items.held();
        state.items.reset();
        state.in_browser = 0;
        Ok(())
    }
}

/// Add `/streams`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page("/streams", StreamsController, StreamsState::new())
}
