//! `/chat-stream`: the `/chat` room on a [`Stream`]. Every message travels in the published
//! action's data and is rendered once per connection, sent, and forgotten: a connection holds
//! no message, however long the room runs. The app keeps only the last [`HISTORY`] messages,
//! which [`mount`](ChatStreamController) inserts for a late joiner.

use std::collections::VecDeque;
use std::sync::Mutex;

use livetemplate::AppBuilder;
use livetemplate::prelude::*;

use super::chat::{Message, joined_name, new_message};

/// The room's topic: app-wide.
pub const TOPIC: &str = "chat-stream:room";

/// Messages the app keeps for late joiners.
pub const HISTORY: usize = 100;

/// Messages a browser keeps (the newest, at the bottom).
pub const BROWSER_LIMIT: i64 = 1_000;

/// The last [`HISTORY`] messages of this process, oldest first.
static RECENT: Mutex<VecDeque<Message>> = Mutex::new(VecDeque::new());

fn remember(m: &Message) {
    let mut recent = RECENT.lock().unwrap_or_else(|p| p.into_inner());
    recent.push_back(m.clone());
    while recent.len() > HISTORY {
        recent.pop_front();
    }
}

/// The room's page state, one per connection: its messages are a stream, held by the
/// browser only.
#[derive(LiveState, Clone, Debug)]
#[lvt(template = "realtime/chat_stream.html")]
pub struct ChatStreamState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// The name this connection posts as; empty until Join.
    pub username: String,
    /// The messages, oldest first; the browser keeps the last [`BROWSER_LIMIT`].
    pub messages: Stream<Message>,
}

impl ChatStreamState {
    /// The page's initial state.
    pub fn new() -> Self {
        ChatStreamState {
            title: "Chat on a stream".into(),
            category: "Real-Time & Multi-User".into(),
            username: String::new(),
            messages: Stream::new(|m: &Message| format!("m-{}", m.id)).limit(-BROWSER_LIMIT),
        }
    }
}

impl Default for ChatStreamState {
    fn default() -> Self {
        Self::new()
    }
}

/// The room's actions.
#[derive(Debug, Default)]
pub struct ChatStreamController;

#[actions]
impl ChatStreamController {
    async fn mount(&self, state: &mut ChatStreamState, ctx: &mut Context) -> Result<()> {
        ctx.subscribe(TOPIC);
        let recent: Vec<Message> = RECENT
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        state.messages.extend(recent);
        Ok(())
    }

    async fn join(&self, state: &mut ChatStreamState, ctx: &mut Context) -> Result<()> {
        if let Some(name) = joined_name(ctx)? {
            state.username = name;
        }
        Ok(())
    }

    async fn send(&self, state: &mut ChatStreamState, ctx: &mut Context) -> Result<()> {
        let Some(message) = new_message(&state.username, ctx)? else {
            return Ok(());
        };
        remember(&message);
        state.messages.insert(message.clone());
        // Queued until this action returns Ok; the sender is skipped (it has the message).
        ctx.publish(TOPIC, "new_message", &message)
    }

    /// A message from another connection. A second delivery of one the browser has replaces
    /// it in place (same DOM id): nothing to check on the server.
    #[lvt(server)]
    async fn new_message(&self, state: &mut ChatStreamState, ctx: &mut Context) -> Result<()> {
        let message = Message {
            id: ctx.get_string("id"),
            user: ctx.get_string("user"),
            text: ctx.get_string("text"),
        };
        if message.id.is_empty() || message.text.is_empty() {
            return Ok(());
        }
        state.messages.insert(message);
        Ok(())
    }
}

/// Add `/chat-stream`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page("/chat-stream", ChatStreamController, ChatStreamState::new())
}
