//! [`RedisPubSub`]: publishes, `trigger_action` and presence between nodes over Redis pub/sub.
//!
//! Channels and keys (under the prefix, `lvt:` by default):
//! - `pubsub`: every envelope, encoded with bincode (topic, action, data as JSON text, origin
//!   node, origin connection, group of a `trigger_action`);
//! - `presence`: the id of a node whose presence just changed (8 bytes, little endian);
//! - `presence:{node}`: a hash of that node's entries (`{conn}:{topic}` → meta as JSON, and
//!   `~` while the node lives), expiring after the presence TTL unless refreshed;
//! - `nodes`: the set of node ids that wrote presence.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use livetemplate_core::hub::{Deliver, Envelope, PresenceEntry, WeakHub};
use livetemplate_core::{BoxFuture, Error, PubSubTransport, Result};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::Shared;

/// An envelope as it travels: `data` as JSON text (bincode cannot carry a `serde_json::Value`
/// itself).
#[derive(Serialize, Deserialize)]
struct Wire {
    topic: String,
    action: String,
    data: String,
    node: u64,
    from: Option<u64>,
    group: Option<String>,
}

fn encode(env: &Envelope) -> Result<Vec<u8>> {
    let wire = Wire {
        topic: env.topic.clone(),
        action: env.action.clone(),
        data: env.data.to_string(),
        node: env.node,
        from: env.from,
        group: env.group.clone(),
    };
    bincode::serde::encode_to_vec(&wire, bincode::config::standard())
        .map_err(|e| Error::msg(format!("cannot encode a publish: {e}")))
}

fn decode(bytes: &[u8]) -> Option<Envelope> {
    let (wire, _): (Wire, usize) = bincode::serde::decode_from_slice(bytes, bincode::config::standard()).ok()?;
    Some(Envelope {
        topic: wire.topic,
        action: wire.action,
        data: serde_json::from_str(&wire.data).ok()?,
        node: wire.node,
        from: wire.from,
        group: wire.group,
    })
}

/// The hash field that says a node's presence hash exists while it lives.
const ALIVE: &str = "~";

/// The state of a node's link to Redis, for health checks and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// The subscription (the node receives the other nodes' publishes) is up.
    pub subscribed: bool,
    /// Publishes waiting in the outbox for Redis.
    pub pending: usize,
    /// Publishes sent to Redis since the start.
    pub sent: u64,
    /// Publishes refused because the outbox was full.
    pub refused: u64,
    /// Times the subscription was (re)established.
    pub subscriptions: u64,
}

/// What the tasks and the transport share.
struct Link {
    shared: Arc<Shared>,
    node: u64,
    deliver: OnceLock<Deliver>,
    hub: OnceLock<WeakHub>,
    outbox: Mutex<VecDeque<Vec<u8>>>,
    outbox_ready: Notify,
    presence_dirty: AtomicBool,
    presence_wake: Notify,
    subscribed: AtomicBool,
    /// Set when a publish failed: the next sends wait for the peers to resubscribe.
    outage: AtomicBool,
    /// Nodes (this one included) alive at the last presence read.
    peers: AtomicUsize,
    /// Other nodes whose presence this node's hub holds.
    known: Mutex<HashSet<u64>>,
    sent: AtomicU64,
    refused: AtomicU64,
    subscriptions: AtomicU64,
}

impl Link {
    fn channel(&self) -> String {
        self.shared.key("pubsub")
    }
    fn presence_channel(&self) -> String {
        self.shared.key("presence")
    }
    fn presence_key(&self, node: u64) -> String {
        self.shared.key(&format!("presence:{node:016x}"))
    }
    fn nodes_key(&self) -> String {
        self.shared.key("nodes")
    }
    fn hub(&self) -> Option<livetemplate_core::Hub> {
        self.hub.get().and_then(WeakHub::upgrade)
    }
}

/// Warn about Redis at most once per `every` for one kind of failure.
struct Warn {
    last: Mutex<Option<Instant>>,
}

impl Warn {
    const fn new() -> Self {
        Warn { last: Mutex::new(None) }
    }
    fn allow(&self, every: Duration) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < every) {
            return false;
        }
        *last = Some(now);
        true
    }
}

static PUBLISH_WARN: Warn = Warn::new();
static PRESENCE_WARN: Warn = Warn::new();
static SUBSCRIBE_WARN: Warn = Warn::new();
static AUTH_ERROR: Warn = Warn::new();

/// A node's [`PubSubTransport`] on Redis pub/sub; see the [crate] docs for what happens
/// while Redis is unreachable and for the presence bound.
///
/// Made by [`Redis::pubsub`](crate::Redis::pubsub), given to `App::builder().pubsub(..)`
/// (or [`RedisExt::redis`](crate::RedisExt::redis)). Its tasks start when the app's hub
/// attaches it (inside a tokio runtime) and stop when the app is dropped; dropping it also
/// removes this node's presence from Redis.
pub struct RedisPubSub {
    link: Arc<Link>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl fmt::Debug for RedisPubSub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPubSub")
            .field("node", &format_args!("{:016x}", self.link.node))
            .field("status", &self.status())
            .finish()
    }
}

impl RedisPubSub {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let capacity = shared.cfg.outbox.min(1024);
        RedisPubSub {
            link: Arc::new(Link {
                shared,
                node: rand::random::<u64>() | 1,
                deliver: OnceLock::new(),
                hub: OnceLock::new(),
                outbox: Mutex::new(VecDeque::with_capacity(capacity)),
                outbox_ready: Notify::new(),
                presence_dirty: AtomicBool::new(true),
                presence_wake: Notify::new(),
                subscribed: AtomicBool::new(false),
                outage: AtomicBool::new(false),
                peers: AtomicUsize::new(1),
                known: Mutex::new(HashSet::new()),
                sent: AtomicU64::new(0),
                refused: AtomicU64::new(0),
                subscriptions: AtomicU64::new(0),
            }),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> u64 {
        self.link.node
    }

    /// The link's state now.
    pub fn status(&self) -> Status {
        Status {
            subscribed: self.link.subscribed.load(Ordering::Relaxed),
            pending: self.link.outbox.lock().unwrap_or_else(|p| p.into_inner()).len(),
            sent: self.link.sent.load(Ordering::Relaxed),
            refused: self.link.refused.load(Ordering::Relaxed),
            subscriptions: self.link.subscriptions.load(Ordering::Relaxed),
        }
    }
}

impl Drop for RedisPubSub {
    fn drop(&mut self) {
        for t in self.tasks.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            t.abort();
        }
        // Goodbye: the other nodes drop this node's entries at once instead of after the TTL.
        // Synchronous and bounded (the runtime may be shutting down): at most the timeout.
        let link = &self.link;
        let timeout = link.shared.cfg.timeout.min(Duration::from_millis(500));
        let Ok(mut conn) = link.shared.client.get_connection_with_timeout(timeout) else {
            return;
        };
        let _ = conn.set_read_timeout(Some(timeout));
        let _ = conn.set_write_timeout(Some(timeout));
        let _: redis::RedisResult<()> = redis::pipe()
            .cmd("DEL")
            .arg(link.presence_key(link.node))
            .ignore()
            .cmd("SREM")
            .arg(link.nodes_key())
            .arg(link.node)
            .ignore()
            .cmd("PUBLISH")
            .arg(link.presence_channel())
            .arg(&link.node.to_le_bytes()[..])
            .ignore()
            .query(&mut conn);
    }
}

impl PubSubTransport for RedisPubSub {
    fn start(&self, deliver: Deliver) {
        let _ = self.link.deliver.set(deliver);
    }

    fn publish(&self, env: Envelope) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            // This node's subscribers at once, whatever Redis does (a group envelope is run
            // here by `Hub::trigger` itself; the hub skips it).
            if let Some(d) = self.link.deliver.get() {
                d(env.clone());
            }
            let bytes = encode(&env)?;
            {
                let mut outbox = self.link.outbox.lock().unwrap_or_else(|p| p.into_inner());
                if outbox.len() >= self.link.shared.cfg.outbox {
                    self.link.refused.fetch_add(1, Ordering::Relaxed);
                    return Err(Error::msg(format!(
                        "Redis is unreachable and {} publishes already wait for it: this publish to `{}` reached this node only",
                        outbox.len(),
                        env.topic
                    )));
                }
                outbox.push_back(bytes);
            }
            self.link.outbox_ready.notify_one();
            Ok(())
        })
    }

    fn node(&self) -> Option<u64> {
        Some(self.link.node)
    }

    fn attach(&self, hub: WeakHub) {
        let _ = self.link.hub.set(hub);
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::error!("livetemplate-redis: the app was built outside a tokio runtime; Redis pubsub does not run");
            return;
        };
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.push(rt.spawn(publisher(self.link.clone())).abort_handle());
        tasks.push(rt.spawn(subscriber(self.link.clone())).abort_handle());
        tasks.push(rt.spawn(presence(self.link.clone())).abort_handle());
    }

    fn presence_changed(&self) {
        self.link.presence_dirty.store(true, Ordering::Release);
        self.link.presence_wake.notify_one();
    }
}

/// Sends the outbox to Redis in order, a batch per round trip; on failure keeps the batch,
/// waits and tries again; after an outage waits for the peers to resubscribe first.
async fn publisher(link: Arc<Link>) {
    let channel = link.channel();
    let mut backoff = Duration::from_millis(50);
    loop {
        // The batch goes straight from the outbox into the pipeline (which copies it); the
        // entries leave the outbox only once Redis took them.
        let (pipe, batch) = {
            let outbox = link.outbox.lock().unwrap_or_else(|p| p.into_inner());
            let mut pipe = redis::pipe();
            for bytes in outbox.iter().take(256) {
                pipe.cmd("PUBLISH").arg(&channel).arg(bytes.as_slice()).ignore();
            }
            (pipe, outbox.len().min(256))
        };
        if batch == 0 {
            link.outbox_ready.notified().await;
            continue;
        }
        if link.outage.load(Ordering::Acquire) {
            wait_for_peers(&link).await;
        }
        let sent = async {
            let mut conn = link.shared.conn().await?;
            pipe.query_async::<()>(&mut conn)
                .await
                .map_err(|e| Error::store("Redis PUBLISH failed", e))
        }
        .await;
        match sent {
            Ok(()) => {
                let mut outbox = link.outbox.lock().unwrap_or_else(|p| p.into_inner());
                let n = batch.min(outbox.len());
                outbox.drain(..n);
                link.sent.fetch_add(batch as u64, Ordering::Relaxed);
                backoff = Duration::from_millis(50);
                if link.outage.swap(false, Ordering::AcqRel) {
                    tracing::info!("Redis is back: the publishes that waited were sent");
                }
            }
            Err(err) => {
                link.outage.store(true, Ordering::Release);
                if PUBLISH_WARN.allow(Duration::from_secs(10)) {
                    let pending = link.outbox.lock().unwrap_or_else(|p| p.into_inner()).len();
                    tracing::warn!(error = %err, pending, "Redis unavailable (the error says why): publishes for the other nodes wait and are retried");
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// After an outage: wait until as many nodes subscribe to the channel as were alive before
/// (so the publishes that waited reach them), or for the resubscribe wait at most.
async fn wait_for_peers(link: &Link) {
    let deadline = Instant::now() + link.shared.cfg.resubscribe_wait;
    let want = link.peers.load(Ordering::Relaxed).max(1);
    while Instant::now() < deadline {
        if link.subscribed.load(Ordering::Acquire) {
            let subscribers = async {
                let mut conn = link.shared.conn().await.ok()?;
                let (_, n): (String, usize) = redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(link.channel())
                    .query_async(&mut conn)
                    .await
                    .ok()?;
                Some(n)
            }
            .await;
            if subscribers.is_some_and(|n| n >= want) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Keeps a subscription to the envelope and presence channels, reconnecting (and
/// resubscribing) whenever it drops; a PING every heartbeat finds a dead link.
async fn subscriber(link: Arc<Link>) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let cfg = &link.shared.cfg;
        let opened = tokio::time::timeout(cfg.timeout, async {
            let mut ps = link.shared.client.get_async_pubsub().await?;
            ps.subscribe(link.channel()).await?;
            ps.subscribe(link.presence_channel()).await?;
            redis::RedisResult::Ok(ps)
        })
        .await;
        let ps = match opened {
            Ok(Ok(ps)) => ps,
            Ok(Err(err)) if crate::refused_credentials(&err) => {
                if AUTH_ERROR.allow(Duration::from_secs(60)) {
                    tracing::error!(error = %err, "{}", crate::AUTH_FAILED);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
            Ok(Err(err)) => {
                if SUBSCRIBE_WARN.allow(Duration::from_secs(10)) {
                    tracing::warn!(error = %err, "cannot subscribe to Redis; retrying");
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
            Err(_) => {
                if SUBSCRIBE_WARN.allow(Duration::from_secs(10)) {
                    tracing::warn!("subscribing to Redis timed out; retrying");
                }
                continue;
            }
        };
        backoff = Duration::from_millis(50);
        let n = link.subscriptions.fetch_add(1, Ordering::Relaxed);
        if n > 0 {
            tracing::info!("resubscribed to Redis");
        }
        link.subscribed.store(true, Ordering::Release);
        // What this node tracked may have been lost with Redis: write it again.
        link.presence_dirty.store(true, Ordering::Release);
        link.presence_wake.notify_one();

        let (mut sink, mut stream) = ps.split();
        let mut ping = tokio::time::interval(cfg.heartbeat);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let envelopes = link.channel();
        loop {
            tokio::select! {
                msg = stream.next() => {
                    let Some(msg) = msg else { break };
                    if msg.get_channel_name() == envelopes {
                        let Some(env) = decode(msg.get_payload_bytes()) else {
                            tracing::warn!("undecodable message on the Redis pubsub channel; ignored");
                            continue;
                        };
                        if env.node == link.node {
                            continue; // delivered here when it was published
                        }
                        if let Some(d) = link.deliver.get() {
                            d(env);
                        }
                    } else if let Ok(bytes) = <[u8; 8]>::try_from(msg.get_payload_bytes()) {
                        let node = u64::from_le_bytes(bytes);
                        if node != link.node {
                            refresh_node(&link, node).await;
                        }
                    }
                }
                _ = ping.tick() => {
                    let alive = tokio::time::timeout(cfg.timeout, sink.ping::<redis::Value>()).await;
                    if !matches!(alive, Ok(Ok(_))) {
                        break;
                    }
                }
            }
        }
        link.subscribed.store(false, Ordering::Release);
        if SUBSCRIBE_WARN.allow(Duration::from_secs(10)) {
            tracing::warn!("lost the Redis subscription; reconnecting");
        }
        if link.hub().is_none() {
            return;
        }
    }
}

/// Read node `node`'s presence hash and hand it to the hub.
async fn refresh_node(link: &Link, node: u64) {
    let Some(hub) = link.hub() else { return };
    let read = async {
        let mut conn = link.shared.conn().await.ok()?;
        redis::cmd("HGETALL")
            .arg(link.presence_key(node))
            .query_async::<Vec<(String, String)>>(&mut conn)
            .await
            .ok()
    }
    .await;
    if let Some(fields) = read {
        let mut known = link.known.lock().unwrap_or_else(|p| p.into_inner());
        if fields.is_empty() {
            known.remove(&node);
        } else {
            known.insert(node);
        }
        hub.set_node_presence(node, parse_entries(fields));
    }
}

fn parse_entries(fields: Vec<(String, String)>) -> Vec<PresenceEntry> {
    let mut entries: Vec<PresenceEntry> = fields
        .into_iter()
        .filter(|(k, _)| k != ALIVE)
        .filter_map(|(k, v)| {
            let (conn, topic) = k.split_once(':')?;
            Some(PresenceEntry {
                topic: topic.to_string(),
                conn: conn.parse().ok()?,
                meta: serde_json::from_str(&v).ok()?,
            })
        })
        .collect();
    entries.sort_by_key(|e| e.conn);
    entries
}

/// Writes this node's presence (on every change and every heartbeat, which refreshes its
/// TTL) and re-reads every other node's each heartbeat.
async fn presence(link: Arc<Link>) {
    let cfg = &link.shared.cfg;
    let mut tick = tokio::time::interval(cfg.heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let heartbeat = tokio::select! {
            _ = tick.tick() => true,
            _ = link.presence_wake.notified() => false,
        };
        let Some(hub) = link.hub() else { return };
        let dirty = link.presence_dirty.swap(false, Ordering::AcqRel);
        if (dirty || heartbeat)
            && let Err(err) = write_own(&link, &hub, dirty).await
        {
            link.presence_dirty.store(true, Ordering::Release);
            if PRESENCE_WARN.allow(Duration::from_secs(10)) {
                tracing::warn!(error = %err, "Redis unavailable (the error says why): this node's presence is written again when it is back");
            }
            continue;
        }
        if heartbeat {
            match read_all(&link).await {
                Ok(nodes) => {
                    link.peers.store(nodes.len() + 1, Ordering::Relaxed);
                    let gone: Vec<u64> = {
                        let mut known = link.known.lock().unwrap_or_else(|p| p.into_inner());
                        let gone = known.iter().filter(|n| !nodes.contains_key(n)).copied().collect();
                        *known = nodes.keys().copied().collect();
                        gone
                    };
                    for node in gone {
                        hub.set_node_presence(node, Vec::new());
                    }
                    for (node, entries) in nodes {
                        hub.set_node_presence(node, entries);
                    }
                }
                Err(err) => {
                    if PRESENCE_WARN.allow(Duration::from_secs(10)) {
                        tracing::warn!(error = %err, "Redis unavailable (the error says why): other nodes' presence kept as last seen");
                    }
                }
            }
        }
    }
}

/// Write this node's presence hash (entries, the alive mark, the TTL) in one MULTI; tell the
/// other nodes when it changed.
async fn write_own(link: &Link, hub: &livetemplate_core::Hub, changed: bool) -> Result<()> {
    let key = link.presence_key(link.node);
    let ttl = u64::try_from(link.shared.cfg.presence_ttl.as_millis()).unwrap_or(u64::MAX);
    let mut conn = link.shared.conn().await?;
    let mut pipe = redis::pipe();
    pipe.atomic();
    if changed {
        let mut hset = redis::cmd("HSET");
        hset.arg(&key).arg(ALIVE).arg("1");
        for e in hub.local_presence() {
            hset.arg(format!("{}:{}", e.conn, e.topic)).arg(e.meta.to_string());
        }
        pipe.cmd("DEL").arg(&key).ignore().add_command(hset).ignore();
    } else {
        // A heartbeat: refresh the TTL; a hash lost with a Redis restart is written again.
        pipe.cmd("HSETNX").arg(&key).arg(ALIVE).arg("1").ignore();
    }
    pipe.cmd("PEXPIRE")
        .arg(&key)
        .arg(ttl)
        .ignore()
        .cmd("SADD")
        .arg(link.nodes_key())
        .arg(link.node)
        .ignore();
    if changed {
        pipe.cmd("PUBLISH")
            .arg(link.presence_channel())
            .arg(&link.node.to_le_bytes()[..])
            .ignore();
    }
    let written: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
    written.map_err(|e| crate::command_error("Redis presence write failed", e))?;
    // A hash recreated by HSETNX after a Redis restart holds no entries: fill it.
    if !changed && !hub.local_presence().is_empty() {
        let len: usize = redis::cmd("HLEN")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .map_err(|e| Error::store("Redis presence read failed", e))?;
        if len <= 1 {
            link.presence_dirty.store(true, Ordering::Release);
            link.presence_wake.notify_one();
        }
    }
    Ok(())
}

/// Every other live node's presence; nodes whose hash expired leave the node set.
async fn read_all(link: &Link) -> Result<HashMap<u64, Vec<PresenceEntry>>> {
    let mut conn = link.shared.conn().await?;
    let err = |e| Error::store("Redis presence read failed", e);
    let members: Vec<u64> = redis::cmd("SMEMBERS")
        .arg(link.nodes_key())
        .query_async(&mut conn)
        .await
        .map_err(err)?;
    let others: Vec<u64> = members.into_iter().filter(|n| *n != link.node).collect();
    if others.is_empty() {
        return Ok(HashMap::new());
    }
    let mut pipe = redis::pipe();
    for n in &others {
        pipe.cmd("HGETALL").arg(link.presence_key(*n));
    }
    let hashes: Vec<Vec<(String, String)>> = pipe.query_async(&mut conn).await.map_err(err)?;
    let mut alive = HashMap::new();
    let mut dead = Vec::new();
    for (node, fields) in others.into_iter().zip(hashes) {
        if fields.is_empty() {
            dead.push(node);
        } else {
            alive.insert(node, parse_entries(fields));
        }
    }
    if !dead.is_empty() {
        let _: redis::RedisResult<()> = redis::cmd("SREM")
            .arg(link.nodes_key())
            .arg(&dead)
            .query_async(&mut conn)
            .await;
    }
    Ok(alive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_compactly() {
        let env = Envelope {
            topic: "chat:lobby".into(),
            action: "new_message".into(),
            data: serde_json::json!({"user": "ann", "text": "hi"}),
            node: 42,
            from: Some(7),
            group: None,
        };
        let bytes = encode(&env).unwrap_or_default();
        let back = decode(&bytes).map(|e| (e.topic, e.action, e.data, e.node, e.from, e.group));
        assert_eq!(
            back,
            Some((
                env.topic.clone(),
                env.action.clone(),
                env.data.clone(),
                42,
                Some(7),
                None
            ))
        );
        // Topic, action, data text and a few bytes of framing: no field names.
        let data_len = env.data.to_string().len();
        assert!(
            bytes.len() <= env.topic.len() + env.action.len() + data_len + 8,
            "{}",
            bytes.len()
        );
    }

    #[test]
    fn presence_fields_parse_back_in_connection_order() {
        let fields = vec![
            (ALIVE.to_string(), "1".to_string()),
            ("12:presence:lobby".to_string(), r#"{"name":"b"}"#.to_string()),
            ("3:presence:lobby".to_string(), r#"{"name":"a"}"#.to_string()),
            ("junk".to_string(), "x".to_string()),
        ];
        let entries = parse_entries(fields);
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].conn, entries[0].topic.as_str()), (3, "presence:lobby"));
        assert_eq!(entries[1].meta, serde_json::json!({"name": "b"}));
    }
}
