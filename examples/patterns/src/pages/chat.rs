//! `/chat`: an app-wide chat room that works across nodes. Every message travels in the
//! published action's data (there is no shared in-memory log), so with `LVT_REDIS_URL` set
//! two processes of this example behind a load balancer are one room: a message sent on
//! one node runs `new_message` on every subscribed connection of every node.
//!
//! What a connection shows is what it received since it opened (the last [`KEEP`]): a real
//! app would load the recent history from its database in `mount`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use livetemplate::prelude::*;
use livetemplate::{AppBuilder, GroupId};
use serde::{Deserialize, Serialize};

/// The room's topic: app-wide, so every browser on every node is in it.
pub const TOPIC: &str = "chat:room";

/// Messages a connection keeps; older ones drop off.
pub const KEEP: usize = 100;

/// Longest message, in characters.
pub const MAX_TEXT: usize = 2_000;

/// Longest name, in characters.
const MAX_NAME: usize = 40;

/// One chat message: what the `new_message` action carries.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Message {
    /// Unique across nodes: the `data-key` of its row.
    pub id: String,
    /// Who sent it.
    pub user: String,
    /// What they wrote (trimmed, never empty).
    pub text: String,
}

/// A message id no other process makes: a random prefix drawn once per process, then a
/// counter.
pub(crate) fn next_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static N: AtomicU64 = AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(|| GroupId::random().as_str()[..10].to_string());
    format!("{prefix}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// The text a Send posts, trimmed: `None` when it is empty; an error when it is longer than
/// [`MAX_TEXT`] characters. `/broadcasting` reads its messages with it too.
pub(crate) fn message_text(ctx: &Context) -> Result<Option<String>> {
    let text = ctx.get_string("text");
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT {
        return Err(Error::msg(format!(
            "a message is at most {MAX_TEXT} characters (this one has {chars})"
        )));
    }
    Ok(Some(text.to_string()))
}

/// The name a Join posts, trimmed: `None` when it is empty; an error when it is longer than
/// [`MAX_NAME`] characters or the page has no live connection. `/chat-stream` joins with it too.
pub(crate) fn joined_name(ctx: &Context) -> Result<Option<String>> {
    let name = ctx.get_string("username");
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > MAX_NAME {
        return Err(Error::msg(format!("a name is at most {MAX_NAME} characters")));
    }
    if !ctx.is_live() {
        return Err(Error::msg("joining the chat needs JavaScript (a live connection)"));
    }
    Ok(Some(name.to_string()))
}

/// The message a Send by `username` posts: `None` before Join or for an empty text.
/// `/chat-stream` sends with it too.
pub(crate) fn new_message(username: &str, ctx: &Context) -> Result<Option<Message>> {
    if username.is_empty() {
        return Ok(None);
    }
    let Some(text) = message_text(ctx)? else {
        return Ok(None);
    };
    Ok(Some(Message {
        id: next_id(),
        user: username.to_string(),
        text,
    }))
}

/// Chat state, one per connection.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "realtime/chat.html")]
pub struct ChatState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// The name this connection posts as; empty until Join.
    pub username: String,
    /// What this connection received since it opened, oldest first.
    pub messages: Vec<Message>,
}

impl ChatState {
    fn push(&mut self, m: Message) {
        self.messages.push(m);
        let over = self.messages.len().saturating_sub(KEEP);
        self.messages.drain(..over);
    }
}

/// Chat actions. Holds nothing: the messages are in the actions' data.
#[derive(Debug, Default)]
pub struct ChatController;

#[actions]
impl ChatController {
    async fn mount(&self, _state: &mut ChatState, ctx: &mut Context) -> Result<()> {
        ctx.subscribe(TOPIC);
        Ok(())
    }

    async fn join(&self, state: &mut ChatState, ctx: &mut Context) -> Result<()> {
        if let Some(name) = joined_name(ctx)? {
            state.username = name;
        }
        Ok(())
    }

    async fn send(&self, state: &mut ChatState, ctx: &mut Context) -> Result<()> {
        let Some(message) = new_message(&state.username, ctx)? else {
            return Ok(());
        };
        state.push(message.clone());
        // Queued until this action returns Ok; the sender is skipped (it has the message).
        ctx.publish(TOPIC, "new_message", &message)
    }

    /// A message from another connection, on this node or another.
    #[lvt(server)]
    async fn new_message(&self, state: &mut ChatState, ctx: &mut Context) -> Result<()> {
        let message = Message {
            id: ctx.get_string("id"),
            user: ctx.get_string("user"),
            text: ctx.get_string("text"),
        };
        if message.id.is_empty() || message.text.is_empty() || state.messages.iter().any(|m| m.id == message.id) {
            return Ok(()); // malformed, or a second delivery of one already shown
        }
        state.push(message);
        Ok(())
    }
}

/// Add `/chat`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page(
        "/chat",
        ChatController,
        ChatState {
            title: "Chat (many nodes)".into(),
            category: "Real-Time & Multi-User".into(),
            ..Default::default()
        },
    )
}
