//! `/presence`: who is on the page now. Joining tracks this connection on a topic with a name;
//! the framework drops it when the connection closes, and every subscriber gets the
//! `presence` action whenever the list changes.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use livetemplate::AppBuilder;
use livetemplate::prelude::*;
use serde::{Deserialize, Serialize};

/// The presence topic of the lobby.
const LOBBY: &str = "presence:lobby";

/// Ids of the entries, unique in this process: the `data-key` of each row (two people may
/// share a name).
static NEXT_MEMBER: AtomicU64 = AtomicU64::new(1);

/// A member id no other process makes (the list spans every node when the app runs on
/// Redis): a random prefix drawn once per process, then [`NEXT_MEMBER`].
fn member_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    let prefix = PREFIX.get_or_init(|| livetemplate::GroupId::random().as_str()[..10].to_string());
    format!("{prefix}-{}", NEXT_MEMBER.fetch_add(1, Ordering::Relaxed))
}

/// One person in the lobby: the meta tracked for their connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Member {
    /// Unique id of this entry, across nodes.
    pub id: String,
    /// Name they joined with.
    pub name: String,
    /// When they joined, `HH:MM:SS` UTC.
    pub since: String,
    /// When they joined, in milliseconds since the Unix epoch: the list's order across nodes.
    #[serde(default)]
    pub at: u64,
}

/// Presence state.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "realtime/presence.html")]
pub struct PresenceState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// The name this connection joined with; empty until Join. Per connection, like
    /// Broadcasting's, so two tabs can be two people.
    pub name: String,
    /// Who is in the lobby, oldest first.
    pub members: Vec<Member>,
}

impl PresenceState {
    fn refresh(&mut self, ctx: &Context) {
        self.members = ctx
            .presence(LOBBY)
            .into_iter()
            // Every meta on this topic is written by `join`; anything else is skipped.
            .filter_map(|meta| Member::deserialize(meta).ok())
            .collect();
        // `ctx.presence` lists this node's entries first, then other nodes': oldest first
        // across all of them.
        self.members.sort_by_key(|m| m.at);
    }
}

/// `HH:MM:SS` (UTC) of now.
fn now_hms() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// Presence actions.
#[derive(Debug)]
pub struct PresenceController;

#[actions]
impl PresenceController {
    async fn mount(&self, state: &mut PresenceState, ctx: &mut Context) -> Result<()> {
        // Subscribed whether or not this connection joins: watching the list needs no name.
        ctx.subscribe(LOBBY);
        state.refresh(ctx);
        Ok(())
    }

    async fn join(&self, state: &mut PresenceState, ctx: &mut Context) -> Result<()> {
        let name = ctx.get_string("name");
        let name = name.trim();
        if name.is_empty() || !state.name.is_empty() {
            return Ok(());
        }
        // Presence belongs to a connection and ends with it; a plain form POST has none.
        if !ctx.is_live() {
            return Err(Error::msg("joining the lobby needs JavaScript (a live connection)"));
        }
        let member = Member {
            id: member_id(),
            name: name.to_string(),
            since: now_hms(),
            at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        };
        // Takes effect after this action returns; the `presence` action that follows brings
        // this connection's own entry into its list too.
        ctx.track(LOBBY, &member)?;
        state.name = member.name;
        Ok(())
    }

    #[lvt(server)]
    async fn presence(&self, state: &mut PresenceState, ctx: &mut Context) -> Result<()> {
        state.refresh(ctx);
        Ok(())
    }
}

/// Add `/presence`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page(
        "/presence",
        PresenceController,
        PresenceState {
            title: "Presence Tracking".into(),
            category: "Real-Time & Multi-User".into(),
            ..Default::default()
        },
    )
}
