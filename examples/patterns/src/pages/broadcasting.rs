//! `/broadcasting`: the seed's Broadcasting page. A shared chat log on the controller; `send`
//! appends to it and publishes `new_message`, and every other subscribed connection re-reads
//! the log.

use std::sync::{Mutex, MutexGuard};

use livetemplate::AppBuilder;
use livetemplate::prelude::*;

use super::chat::message_text;

/// The topic every connection of the page subscribes to.
///
/// The seed publishes on `ctx.self_topic()`, which is scoped to one session group: only the
/// tabs of one browser would see each other's messages. A chat is between people, so this
/// page publishes on one app-wide topic instead, which reaches the other tabs of this browser
/// and every other browser alike. Subscribing to `self_topic()` as well would add nothing but
/// a second delivery of the same `new_message`, so the page subscribes only here.
const TOPIC: &str = "broadcasting:all";

/// One chat message.
#[derive(Clone, Debug)]
pub struct Message {
    /// Unique, increasing: the `data-key` of its row.
    pub id: u64,
    /// Who sent it.
    pub user: String,
    /// What they wrote (trimmed, never empty).
    pub text: String,
}

/// Broadcasting state.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "realtime/broadcasting.html")]
pub struct BroadcastingState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// The name this connection posts as; empty until Join. Deliberately not persisted:
    /// persisted fields are shared by every tab of one browser, and the point of the demo is
    /// that two tabs can join as different users.
    pub username: String,
    /// This connection's copy of the shared log.
    pub messages: Vec<Message>,
}

/// The shared log, in memory: the last [`LOG_LEN`] messages of at most
/// [`MAX_TEXT`](super::chat::MAX_TEXT) characters (the rule `send` shares with `/chat`), so a
/// page render stays far below the server's outbound frame limit however long the chat runs.
/// A real app would keep it in a store.
/// Messages the log keeps; older ones drop off.
const LOG_LEN: usize = 100;

#[derive(Debug, Default)]
struct Log {
    next_id: u64,
    messages: Vec<Message>,
}

/// Broadcasting actions; owns the log every connection reads.
#[derive(Debug, Default)]
pub struct BroadcastingController {
    log: Mutex<Log>,
}

impl BroadcastingController {
    fn log(&self) -> MutexGuard<'_, Log> {
        // A panic while holding the lock cannot leave the Vec half-written; keep serving.
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[actions]
impl BroadcastingController {
    async fn mount(&self, state: &mut BroadcastingState, ctx: &mut Context) -> Result<()> {
        ctx.subscribe(TOPIC);
        state.messages = self.log().messages.clone();
        Ok(())
    }

    async fn join(&self, state: &mut BroadcastingState, ctx: &mut Context) -> Result<()> {
        let name = ctx.get_string("username");
        let name = name.trim();
        if name.is_empty() {
            return Ok(());
        }
        // The name lives as long as the connection; a plain form POST has none, so the next
        // page would show the Join form again with no word of why.
        if !ctx.is_live() {
            return Err(Error::msg("joining the chat needs JavaScript (a live connection)"));
        }
        state.username = name.to_string();
        Ok(())
    }

    async fn send(&self, state: &mut BroadcastingState, ctx: &mut Context) -> Result<()> {
        if state.username.is_empty() {
            return Ok(());
        }
        let Some(text) = message_text(ctx)? else {
            return Ok(());
        };
        {
            let mut log = self.log();
            log.next_id += 1;
            let message = Message {
                id: log.next_id,
                user: state.username.clone(),
                text,
            };
            log.messages.push(message);
            let over = log.messages.len().saturating_sub(LOG_LEN);
            log.messages.drain(..over);
            state.messages = log.messages.clone();
        }
        // Queued; the peers receive it only after this action returned Ok, and the publisher
        // itself is skipped (its state is already up to date).
        ctx.publish(TOPIC, "new_message", ())
    }

    #[lvt(server)]
    async fn new_message(&self, state: &mut BroadcastingState, _ctx: &mut Context) -> Result<()> {
        state.messages = self.log().messages.clone();
        Ok(())
    }
}

/// Add `/broadcasting`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page(
        "/broadcasting",
        BroadcastingController::default(),
        BroadcastingState {
            title: "Broadcasting".into(),
            category: "Real-Time & Multi-User".into(),
            ..Default::default()
        },
    )
}
