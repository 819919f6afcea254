//! livetemplate on many nodes, through one Redis: a
//! [`PubSubTransport`](livetemplate_core::PubSubTransport) on Redis pub/sub
//! ([`RedisPubSub`]: publishes, app-wide publishes, `trigger_action` and presence reach every
//! node), and a [`PersistStore`] on Redis hashes with an idle TTL ([`RedisStore`], a
//! [`PersistStore`]).
//!
//! Several processes of one app, behind a load balancer, share one Redis and behave as one
//! app: a browser may reconnect to any node and finds its persisted fields there, a chat
//! message published on one node runs on every subscriber of every node, and the presence
//! list of a topic is the union of every node's.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> livetemplate_core::Result<()> {
//! use livetemplate_core::App;
//! use livetemplate_redis::{Redis, RedisExt};
//!
//! // `LVT_REDIS_URL=redis://127.0.0.1:6379/0`; `None` when the variable is not set.
//! let redis = Redis::from_env()?.unwrap_or(Redis::builder("redis://127.0.0.1:6379/0").build()?);
//! let app = App::builder().redis(&redis) /* .page(...) */ .build()?;
//! # let _ = app; Ok(()) }
//! ```
//!
//! # When Redis is unreachable
//!
//! Redis down is a partial failure, not an outage:
//! - pages keep serving and actions keep running on each node; publishes reach this node's
//!   subscribers at once;
//! - publishes for the other nodes wait, in order, in a bounded outbox
//!   ([`RedisBuilder::outbox`], 10,000 by default) and are sent when Redis is back (after the
//!   peers seen before the outage have subscribed again, for at most
//!   [`RedisBuilder::resubscribe_wait`]); a publish that finds the outbox full fails, and the
//!   failure is logged (`publish failed`) instead of being dropped silently;
//! - a persisted write fails its action with the clear error "not saved: the session store
//!   is unreachable" (the page's persisted fields go back to what Redis holds, nothing is
//!   acknowledged that was not stored); a page load starts from the defaults and never saves
//!   over what is stored (an action there that changes a persisted field fails until Redis
//!   answers);
//! - with `LVT_SECRET_KEY` set, session-group cookies are signed and checked with it, so
//!   pages serve even on a node started while Redis is down; without it, a node that has not
//!   read the generated key from Redis yet answers 503 with `Retry-After` (see
//!   `docs/deployment.md`);
//! - a wrong password is logged at ERROR ("Redis refused this node's credentials") and the
//!   node behaves as while Redis is down;
//! - presence lists keep the other nodes' entries as last seen;
//! - every connection reconnects by itself and resubscribes; this node's presence is written
//!   again at once.
//!
//! Delivery to other nodes is at least once while Redis flaps (a publish whose answer was
//! lost is sent again) and exactly once otherwise.
//!
//! # Presence bound
//!
//! Each node writes its presence entries to a hash that expires after
//! [`RedisBuilder::presence_ttl`] (default 5 s) and refreshes it every
//! [`RedisBuilder::heartbeat`] (default 1 s); each node also re-reads the others' every
//! heartbeat. A node that dies without saying goodbye has its entries removed from every other
//! node's list within `presence_ttl + heartbeat` (6 s by default). A node that stops cleanly
//! deletes its hash and tells the others at once.

mod pubsub;
mod store;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use livetemplate_core::{AppBuilder, Error, PersistStore, Result};

pub use pubsub::{RedisPubSub, Status};
pub use store::RedisStore;

/// The environment variable [`Redis::from_env`] reads: a `redis://` URL.
pub const REDIS_URL_ENV: &str = "LVT_REDIS_URL";

/// Idle (group, page) records expire after this unless the builder says otherwise.
pub const DEFAULT_IDLE_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// One Redis for an app: makes the [`RedisStore`] and the [`RedisPubSub`] of the app's nodes.
/// Cheap to clone; every clone shares one connection.
#[derive(Clone)]
pub struct Redis {
    pub(crate) shared: Arc<Shared>,
}

/// What every part shares: the client, its connection (made on first use) and the settings.
pub(crate) struct Shared {
    pub(crate) client: redis::Client,
    pub(crate) conn: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
    pub(crate) cfg: RedisBuilder,
}

/// The log line of a node whose credentials Redis refuses.
pub(crate) const AUTH_FAILED: &str = "Redis refused this node's credentials (authentication failed: check the user and \
     password in LVT_REDIS_URL); until it accepts them the node runs as if Redis were down";

/// Whether Redis refused the connection's credentials (a wrong password, or none where one is
/// required), rather than being unreachable.
pub(crate) fn refused_credentials(err: &redis::RedisError) -> bool {
    err.kind() == redis::ErrorKind::AuthenticationFailed || matches!(err.code(), Some("NOAUTH" | "WRONGPASS"))
}

/// A store error for a failed Redis command: `what` failed, and whether Redis is unreachable
/// or refused the credentials.
pub(crate) fn command_error(what: &str, err: redis::RedisError) -> Error {
    let why = match refused_credentials(&err) {
        true => "Redis refused this node's credentials (authentication failed: check LVT_REDIS_URL)",
        false => "Redis unreachable or failing",
    };
    Error::store(format!("{what}: {why}"), err)
}

impl Shared {
    /// The connection manager: reconnects by itself; a command while Redis is down fails
    /// within the connect timeout instead of hanging.
    pub(crate) async fn conn(&self) -> Result<redis::aio::ConnectionManager> {
        self.conn
            .get_or_try_init(|| async {
                let cfg = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.cfg.timeout))
                    .set_response_timeout(Some(self.cfg.timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(500));
                redis::aio::ConnectionManager::new_lazy_with_config(self.client.clone(), cfg)
                    .map_err(|e| Error::store("cannot set up the Redis connection", e))
            })
            .await
            .cloned()
    }

    pub(crate) fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.cfg.prefix)
    }
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis")
            .field("url", &redacted(&self.shared.cfg.url))
            .field("prefix", &self.shared.cfg.prefix)
            .finish_non_exhaustive()
    }
}

/// The URL without its password.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// Settings of a [`Redis`]; see [`Redis::builder`].
#[derive(Clone)]
pub struct RedisBuilder {
    url: String,
    pub(crate) prefix: String,
    pub(crate) idle_ttl: Duration,
    pub(crate) heartbeat: Duration,
    pub(crate) presence_ttl: Duration,
    pub(crate) outbox: usize,
    pub(crate) timeout: Duration,
    pub(crate) resubscribe_wait: Duration,
}

impl fmt::Debug for RedisBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBuilder")
            .field("url", &redacted(&self.url))
            .field("prefix", &self.prefix)
            .field("idle_ttl", &self.idle_ttl)
            .field("heartbeat", &self.heartbeat)
            .field("presence_ttl", &self.presence_ttl)
            .field("outbox", &self.outbox)
            .field("timeout", &self.timeout)
            .field("resubscribe_wait", &self.resubscribe_wait)
            .finish()
    }
}

impl RedisBuilder {
    /// Prefix of every key and channel (default `lvt:`): apps sharing one Redis use
    /// different prefixes.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// A (group, page) record not loaded nor saved for this long is deleted by Redis (key
    /// TTL; default [`DEFAULT_IDLE_TTL`], 30 days).
    pub fn idle_ttl(mut self, ttl: Duration) -> Self {
        self.idle_ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// How often a node refreshes its presence and re-reads the other nodes' (default 1 s).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every.max(Duration::from_millis(10));
        self
    }

    /// How long a node's presence lives in Redis without a refresh (default 5 s; at least two
    /// heartbeats). Entries of a node that died vanish from every list within
    /// `presence_ttl + heartbeat`.
    pub fn presence_ttl(mut self, ttl: Duration) -> Self {
        self.presence_ttl = ttl;
        self
    }

    /// Publishes for the other nodes that may wait while Redis is unreachable (default
    /// 10,000); past that a publish fails (and is logged).
    pub fn outbox(mut self, capacity: usize) -> Self {
        self.outbox = capacity.max(1);
        self
    }

    /// Connect and answer timeout of each Redis command (default 2 s): how long an action
    /// saving persisted fields waits before it fails while Redis is unreachable.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// After an outage, how long the publishes that waited are held for the other nodes to
    /// subscribe again before they are sent anyway (default 5 s).
    pub fn resubscribe_wait(mut self, wait: Duration) -> Self {
        self.resubscribe_wait = wait;
        self
    }

    /// The [`Redis`]. Connects lazily (a node starts while Redis is down); errors only for a
    /// URL that cannot be parsed.
    pub fn build(mut self) -> Result<Redis> {
        self.presence_ttl = self.presence_ttl.max(self.heartbeat * 2);
        let client = redis::Client::open(self.url.as_str()).map_err(|e| {
            livetemplate_core::__private::config_error(format!(
                "{REDIS_URL_ENV}: `{}` is not a Redis URL: {e}",
                redacted(&self.url)
            ))
        })?;
        Ok(Redis {
            shared: Arc::new(Shared {
                client,
                conn: tokio::sync::OnceCell::new(),
                cfg: self,
            }),
        })
    }
}

impl Redis {
    /// Settings for the Redis at `url` (`redis://[:password@]host:port/db`).
    pub fn builder(url: impl Into<String>) -> RedisBuilder {
        RedisBuilder {
            url: url.into(),
            prefix: "lvt:".into(),
            idle_ttl: DEFAULT_IDLE_TTL,
            heartbeat: Duration::from_secs(1),
            presence_ttl: Duration::from_secs(5),
            outbox: 10_000,
            timeout: Duration::from_secs(2),
            resubscribe_wait: Duration::from_secs(5),
        }
    }

    /// The Redis named by [`REDIS_URL_ENV`] (`LVT_REDIS_URL`) with default settings; `None`
    /// when the variable is unset or empty.
    pub fn from_env() -> Result<Option<Redis>> {
        match std::env::var(REDIS_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => Redis::builder(url.trim()).build().map(Some),
            _ => Ok(None),
        }
    }

    /// The persist store on this Redis.
    pub fn store(&self) -> RedisStore {
        RedisStore::new(self.shared.clone())
    }

    /// A new node's pubsub transport on this Redis (each app, each hub, takes its own: it
    /// carries a node id of its own).
    pub fn pubsub(&self) -> RedisPubSub {
        RedisPubSub::new(self.shared.clone())
    }

    /// The presence bound: entries of a node that died are gone from every other node's
    /// list within this time (`presence_ttl + heartbeat`).
    pub fn presence_bound(&self) -> Duration {
        self.shared.cfg.presence_ttl + self.shared.cfg.heartbeat
    }

    /// `PING` the server: `Ok` when it answers within the timeout.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.shared.conn().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(|e| Error::store("Redis does not answer PING", e))
    }
}

/// `App::builder().redis(&redis)`: the app's persist store and pubsub on Redis.
pub trait RedisExt {
    /// Use `redis` for the persist store and for pubsub, presence and `trigger_action`
    /// across nodes.
    fn redis(self, redis: &Redis) -> Self;
}

impl RedisExt for AppBuilder {
    fn redis(self, redis: &Redis) -> Self {
        let store: Arc<dyn PersistStore> = Arc::new(redis.store());
        self.shared_store(store).pubsub(redis.pubsub())
    }
}
