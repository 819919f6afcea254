//! Live connections and the messages between them: the registry of connections per
//! (page, group), topic subscriptions, presence, and the [`PubSubTransport`] that carries
//! publishes to every node.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use crate::BoxFuture;
use crate::error::{Error, Result};
use crate::group::GroupId;
use crate::log_limit::LogLimit;

/// Warnings about connections closed for not keeping up with pushes.
static SLOW_PUSH_LOG: LogLimit = LogLimit::new("connection too slow for pushes", 10);

/// Something for a connection's task to do besides answering its client.
#[derive(Debug, Clone)]
pub enum Push {
    /// Run action `name` with `data` on this connection's state and push the diff.
    Action {
        /// Action name.
        name: String,
        /// Action data.
        data: Value,
    },
    /// Another connection of this group saved persisted fields of this page: load them into
    /// this connection's state and push the diff, so every tab shows the shared values.
    Reload,
}

/// A published action on its way to every subscriber of `topic`: what a
/// [`PubSubTransport`] carries between nodes. It is serde-serializable, so a broker transport
/// sends it as JSON (or any serde format).
///
/// ```
/// # mod livetemplate {
/// #     pub use livetemplate_core::{App, GroupId, Result};
/// #     pub mod pubsub { pub use livetemplate_core::hub::{Deliver, Envelope, Hub, LocalTransport, PubSubTransport}; pub use livetemplate_core::BoxFuture; }
/// # }
/// use livetemplate::pubsub::Envelope;
///
/// let env = Envelope {
///     topic: "chat".into(),
///     action: "message".into(),
///     data: serde_json::json!({"text": "hi"}),
///     node: 7,
///     from: None,
///     group: None,
/// };
/// let wire = serde_json::to_string(&env).unwrap();
/// let back: Envelope = serde_json::from_str(&wire).unwrap();
/// assert_eq!((back.topic.as_str(), back.action.as_str(), back.node), ("chat", "message", 7));
/// ```
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Envelope {
    /// Topic.
    pub topic: String,
    /// Action the subscribers run.
    pub action: String,
    /// The action's data.
    pub data: Value,
    /// Node the publish came from.
    pub node: u64,
    /// Connection on that node that published it (not run again), if any.
    pub from: Option<u64>,
    /// Set for a [`Session::trigger_action`] carried to other nodes: the session group whose
    /// connections on page `topic` run the action (instead of the topic's subscribers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// One connection's presence on a topic, as nodes tell each other about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PresenceEntry {
    /// The presence topic.
    pub topic: String,
    /// The connection's id on its node.
    pub conn: u64,
    /// What was tracked (`ctx.track(topic, meta)`).
    pub meta: Value,
}

/// Hands envelopes to this node's subscribers: given to [`PubSubTransport::start`]; the
/// transport calls it with every envelope that reaches this node (its own publishes too).
pub type Deliver = Arc<dyn Fn(Envelope) + Send + Sync>;

/// Carries publishes between nodes. The default, [`LocalTransport`], delivers in process.
///
/// A transport for several nodes sends each [`Envelope`] to every node through its broker
/// (Redis, NATS, Postgres `NOTIFY`…), and each node hands what it receives to the
/// [`Deliver`] it was started with. A complete transport that loops envelopes through their
/// JSON form, as a broker would:
///
/// ```
/// # mod livetemplate {
/// #     pub use livetemplate_core::{App, GroupId, Result};
/// #     pub mod pubsub { pub use livetemplate_core::hub::{Deliver, Envelope, Hub, LocalTransport, PubSubTransport}; pub use livetemplate_core::BoxFuture; }
/// # }
/// use std::sync::{Arc, OnceLock};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// use livetemplate::pubsub::{BoxFuture, Deliver, Envelope, PubSubTransport};
/// use livetemplate::{App, Result};
///
/// #[derive(Default)]
/// struct Loopback {
///     deliver: OnceLock<Deliver>,
///     sent: Arc<AtomicUsize>,
/// }
///
/// impl std::fmt::Debug for Loopback {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.debug_struct("Loopback").field("sent", &self.sent).finish()
///     }
/// }
///
/// impl PubSubTransport for Loopback {
///     fn start(&self, deliver: Deliver) {
///         let _ = self.deliver.set(deliver);
///     }
///
///     fn publish(&self, env: Envelope) -> BoxFuture<'_, Result<()>> {
///         Box::pin(async move {
///             // A broker client sends these bytes to every node, this one included…
///             let wire = serde_json::to_vec(&env).expect("an envelope is JSON");
///             self.sent.fetch_add(1, Ordering::Relaxed);
///             // …and each node delivers what it receives.
///             let received: Envelope = serde_json::from_slice(&wire).expect("sent as JSON");
///             if let Some(deliver) = self.deliver.get() {
///                 deliver(received);
///             }
///             Ok(())
///         })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> livetemplate::Result<()> {
/// let transport = Loopback::default();
/// let sent = transport.sent.clone();
/// let app = App::builder().pubsub(transport).build()?;
/// app.hub().publish("news", "refresh", serde_json::json!({}), None).await?;
/// assert_eq!(sent.load(Ordering::Relaxed), 1);
/// # Ok(()) }
/// ```
pub trait PubSubTransport: Send + Sync + fmt::Debug + 'static {
    /// Called once, before any publish, with the function that delivers an envelope to this
    /// node's connections.
    fn start(&self, deliver: Deliver);
    /// Send `env` to every node, this one included.
    fn publish(&self, env: Envelope) -> BoxFuture<'_, Result<()>>;
    /// This node's id when the transport spans several nodes (it tags envelopes and presence
    /// entries with it). `None`, the default, means one process: the hub draws an id itself
    /// and keeps `trigger_action` and presence local.
    fn node(&self) -> Option<u64> {
        None
    }
    /// Called once, after [`start`](PubSubTransport::start), with a handle on the hub: a
    /// transport spanning nodes reads this node's presence from it
    /// ([`Hub::local_presence`]) and hands it the other nodes' ([`Hub::set_node_presence`]).
    fn attach(&self, hub: WeakHub) {
        let _ = hub;
    }
    /// This node's presence changed (a track, an untrack or a connection that closed): a
    /// transport spanning nodes tells the others. Must not block.
    fn presence_changed(&self) {}
}

/// A handle on a [`Hub`] that does not keep it alive (for a transport the hub owns).
#[derive(Clone)]
pub struct WeakHub(std::sync::Weak<Inner>);

impl WeakHub {
    /// The hub, while it exists.
    pub fn upgrade(&self) -> Option<Hub> {
        self.0.upgrade().map(|inner| Hub { inner })
    }
}

impl fmt::Debug for WeakHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakHub").finish_non_exhaustive()
    }
}

/// In-process pubsub: a publish reaches the connections of this process only. An app uses it
/// unless [`AppBuilder::pubsub`](crate::AppBuilder::pubsub) gives another transport.
///
/// ```
/// # mod livetemplate {
/// #     pub use livetemplate_core::{App, GroupId, Result};
/// #     pub mod pubsub { pub use livetemplate_core::hub::{Deliver, Envelope, Hub, LocalTransport, PubSubTransport}; pub use livetemplate_core::BoxFuture; }
/// # }
/// use livetemplate::App;
/// use livetemplate::pubsub::LocalTransport;
///
/// // The same as leaving `.pubsub(..)` out.
/// let app = App::builder().pubsub(LocalTransport::default()).build().unwrap();
/// # drop(app);
/// ```
#[derive(Default)]
pub struct LocalTransport {
    deliver: OnceLock<Deliver>,
}

impl fmt::Debug for LocalTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalTransport").finish_non_exhaustive()
    }
}

impl PubSubTransport for LocalTransport {
    fn start(&self, deliver: Deliver) {
        let _ = self.deliver.set(deliver);
    }

    fn publish(&self, env: Envelope) -> BoxFuture<'_, Result<()>> {
        if let Some(d) = self.deliver.get() {
            d(env);
        }
        Box::pin(async { Ok(()) })
    }
}

struct Conn {
    page: Arc<str>,
    group: GroupId,
    tx: mpsc::Sender<Box<Push>>,
    kill: Arc<Notify>,
    topics: HashSet<String>,
    tracked: HashSet<String>,
}

#[derive(Default)]
struct State {
    conns: HashMap<u64, Conn>,
    by_group: HashMap<(Arc<str>, GroupId), Vec<u64>>,
    topics: HashMap<String, HashSet<u64>>,
    presence: HashMap<String, BTreeMap<u64, Value>>,
    /// Presence on other nodes, by node id (as their transport last reported it).
    remote: BTreeMap<u64, Vec<PresenceEntry>>,
}

/// The hub's shared part (see [`WeakHub`]).
struct Inner {
    node: u64,
    next: AtomicU64,
    state: Mutex<State>,
    transport: Arc<dyn PubSubTransport>,
    slow_closed: AtomicU64,
    persist_slots: Mutex<PersistSlots>,
    /// How long [`Hub::trigger`] waits for room in a full push queue.
    push_wait: Duration,
}

/// The persist slots in use, by page and group; entries whose slot is gone are swept as the
/// map grows.
#[derive(Default)]
struct PersistSlots {
    map: HashMap<(Arc<str>, GroupId), std::sync::Weak<PersistSlot>>,
    sweep_at: usize,
}

/// One session group's persisted fields of one page, as one unit: the lock every action,
/// no-JS POST and reload of the page for the group takes around loading, changing and saving
/// them, and the number of saves so far.
///
/// Each connection keeps its own copy of the state. Without this, two tabs acting at the same
/// moment would each change and save their own copy, and one of the changes would be lost.
/// With it, an action first loads the fields again when another connection saved since this
/// one last looked (the count moved), so every change builds on the one before.
#[derive(Debug, Default)]
pub struct PersistSlot {
    saves: tokio::sync::Mutex<u64>,
}

impl PersistSlot {
    /// Wait for the slot; the guard holds the number of saves so far.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, u64> {
        self.saves.lock().await
    }
}

/// The registry of live connections of one app, and its pubsub. Cheap to clone.
///
/// Reached through [`App::hub`](crate::App::hub), it lets code outside any action (a
/// background task, a webhook handler) publish to a topic, run an action on a session
/// group's connections, and read presence.
///
/// ```
/// # mod livetemplate {
/// #     pub use livetemplate_core::{App, GroupId, Result};
/// #     pub mod pubsub { pub use livetemplate_core::hub::{Deliver, Envelope, Hub, LocalTransport, PubSubTransport}; pub use livetemplate_core::BoxFuture; }
/// # }
/// use livetemplate::{App, GroupId};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> livetemplate::Result<()> {
/// let app = App::builder().build()?;
/// let hub = app.hub().clone();
/// // Every connection subscribed to "news" (`ctx.subscribe("news")`) runs `refresh`.
/// hub.publish("news", "refresh", serde_json::json!({"id": 42}), None).await?;
/// // Nobody tracked on "room-1", and no connection at all yet:
/// assert!(hub.presence("room-1").is_empty());
/// assert_eq!(hub.connection_count(), 0);
/// // `trigger` runs an action on one group's live connections of a page; none are live.
/// assert!(hub.trigger("/chat", &GroupId::random(), "ping", serde_json::json!(null)).await.is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("node", &self.inner.node)
            .field("connections", &self.lock().conns.len())
            .finish()
    }
}

/// The action pushed to subscribers of a topic when its presence list changes.
pub const PRESENCE_ACTION: &str = "presence";

/// The action of a group envelope that makes the group's connections on a page reload their
/// persisted fields ([`Push::Reload`]) instead of running an action.
pub const GROUP_RELOAD: &str = "lvt:reload";

impl Hub {
    /// A hub publishing through `transport`; [`Hub::trigger`] waits up to 10 s for room in a
    /// connection's push queue.
    pub fn new(transport: Arc<dyn PubSubTransport>) -> Self {
        Hub::with_push_wait(transport, Duration::from_secs(10))
    }

    /// A hub publishing through `transport` whose [`Hub::trigger`] waits up to `push_wait` for
    /// room in a connection's push queue before closing that connection as too slow.
    pub fn with_push_wait(transport: Arc<dyn PubSubTransport>, push_wait: Duration) -> Self {
        let node = transport.node().unwrap_or_else(|| {
            let mut node = [0u8; 8];
            let _ = getrandom::fill(&mut node);
            u64::from_le_bytes(node)
        });
        let hub = Hub {
            inner: Arc::new(Inner {
                node,
                next: AtomicU64::new(1),
                state: Mutex::new(State::default()),
                transport,
                slow_closed: AtomicU64::new(0),
                persist_slots: Mutex::new(PersistSlots::default()),
                push_wait,
            }),
        };
        let weak = Arc::downgrade(&hub.inner);
        hub.inner.transport.start(Arc::new(move |env| {
            if let Some(inner) = weak.upgrade() {
                Hub { inner }.deliver(env);
            }
        }));
        hub.inner.transport.attach(WeakHub(Arc::downgrade(&hub.inner)));
        hub
    }

    /// This node's id (the transport's, or a random one).
    pub fn node(&self) -> u64 {
        self.inner.node
    }

    /// True when the transport spans several nodes.
    fn multi_node(&self) -> bool {
        self.inner.transport.node().is_some()
    }

    /// A hub with the in-process transport.
    pub fn local() -> Self {
        Hub::new(Arc::new(LocalTransport::default()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The persist slot of `page` for `group`: the same one for every caller while any holds
    /// it (see [`PersistSlot`]).
    #[doc(hidden)]
    pub fn persist_slot(&self, page: &str, group: &GroupId) -> Arc<PersistSlot> {
        let mut slots = self.inner.persist_slots.lock().unwrap_or_else(|p| p.into_inner());
        let key: (Arc<str>, GroupId) = (Arc::from(page), group.clone());
        if let Some(slot) = slots.map.get(&key).and_then(std::sync::Weak::upgrade) {
            return slot;
        }
        if slots.map.len() >= slots.sweep_at {
            slots.map.retain(|_, w| w.strong_count() > 0);
            slots.sweep_at = (slots.map.len() * 2).max(64);
        }
        let slot = Arc::new(PersistSlot::default());
        slots.map.insert(key, Arc::downgrade(&slot));
        slot
    }

    /// Register a connection; returns its id. Pushes arrive boxed on `tx`, so a connection's
    /// queue costs a pointer per slot while it waits (tokio allocates a channel's first block
    /// of 32 slots when the channel is made).
    #[doc(hidden)]
    pub fn register(&self, page: Arc<str>, group: GroupId, tx: mpsc::Sender<Box<Push>>, kill: Arc<Notify>) -> u64 {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let mut st = self.lock();
        st.by_group.entry((page.clone(), group.clone())).or_default().push(id);
        st.conns.insert(
            id,
            Conn {
                page,
                group,
                tx,
                kill,
                topics: HashSet::new(),
                tracked: HashSet::new(),
            },
        );
        id
    }

    /// Remove a connection: its subscriptions end and its presence leaves.
    #[doc(hidden)]
    pub fn unregister(&self, id: u64) {
        let left = {
            let mut st = self.lock();
            let Some(conn) = st.conns.remove(&id) else {
                return;
            };
            let key = (conn.page.clone(), conn.group.clone());
            if let Some(ids) = st.by_group.get_mut(&key) {
                ids.retain(|i| *i != id);
                if ids.is_empty() {
                    st.by_group.remove(&key);
                }
            }
            for t in &conn.topics {
                if let Some(set) = st.topics.get_mut(t) {
                    set.remove(&id);
                    if set.is_empty() {
                        st.topics.remove(t);
                    }
                }
            }
            let mut left = Vec::new();
            for t in &conn.tracked {
                if let Some(list) = st.presence.get_mut(t) {
                    if let Some(meta) = list.remove(&id) {
                        left.push((t.clone(), meta));
                    }
                    if list.is_empty() {
                        st.presence.remove(t);
                    }
                }
            }
            left
        };
        let changed = !left.is_empty();
        for (topic, meta) in left {
            self.presence_changed(&topic, None, Some(meta));
        }
        if changed {
            self.inner.transport.presence_changed();
        }
    }

    /// Subscribe connection `id` to `topic`.
    #[doc(hidden)]
    pub fn subscribe(&self, id: u64, topic: &str) {
        let mut st = self.lock();
        if let Some(conn) = st.conns.get_mut(&id) {
            conn.topics.insert(topic.to_string());
            st.topics.entry(topic.to_string()).or_default().insert(id);
        }
    }

    /// Unsubscribe connection `id` from `topic`.
    #[doc(hidden)]
    pub fn unsubscribe(&self, id: u64, topic: &str) {
        let mut st = self.lock();
        if let Some(conn) = st.conns.get_mut(&id) {
            conn.topics.remove(topic);
        }
        if let Some(set) = st.topics.get_mut(topic) {
            set.remove(&id);
            if set.is_empty() {
                st.topics.remove(topic);
            }
        }
    }

    /// Publish `action` to every subscriber of `topic` on every node, except connection
    /// `from` (the publisher).
    pub async fn publish(&self, topic: &str, action: &str, data: Value, from: Option<u64>) -> Result<()> {
        let env = Envelope {
            topic: topic.to_string(),
            action: action.to_string(),
            data,
            node: self.inner.node,
            from,
            group: None,
        };
        self.inner.transport.publish(env).await
    }

    /// Deliver an envelope to this node's subscribers (called by the transport).
    ///
    /// An envelope with a [`group`](Envelope::group) runs on that group's connections of page
    /// `topic`; one that came from this node is skipped (its [`Hub::trigger`] ran it here
    /// already).
    #[doc(hidden)]
    pub fn deliver(&self, env: Envelope) {
        let targets: Vec<(u64, mpsc::Sender<Box<Push>>)> = match &env.group {
            Some(group) => {
                if env.node == self.inner.node {
                    return;
                }
                let Some(group) = GroupId::from_app(group) else {
                    return;
                };
                self.group_targets(&env.topic, &group, None)
            }
            None => {
                let st = self.lock();
                let Some(ids) = st.topics.get(&env.topic) else {
                    return;
                };
                ids.iter()
                    .filter(|id| !(env.node == self.inner.node && env.from == Some(**id)))
                    .filter_map(|id| st.conns.get(id).map(|c| (*id, c.tx.clone())))
                    .collect()
            }
        };
        let reload = env.group.is_some() && env.action == GROUP_RELOAD;
        for (id, tx) in targets {
            let push = if reload {
                Push::Reload
            } else {
                Push::Action {
                    name: env.action.clone(),
                    data: env.data.clone(),
                }
            };
            self.send_or_close(id, &tx, push);
        }
    }

    /// Queue `push` for connection `id` without waiting (fan-out: one slow subscriber must not
    /// hold up the others). A full queue means the connection has `push_queue` pushes it has
    /// not run yet: it is stuck, and is closed (1008) rather than left to grow.
    fn send_or_close(&self, id: u64, tx: &mpsc::Sender<Box<Push>>, push: Push) -> bool {
        match tx.try_send(Box::new(push)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close_slow(id);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Close connection `id` because it cannot keep up with its pushes.
    fn close_slow(&self, id: u64) {
        if SLOW_PUSH_LOG.allow() {
            tracing::warn!(
                conn = id,
                "connection cannot keep up with server pushes; closing it with 1008"
            );
        }
        self.inner.slow_closed.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = self.lock().conns.get(&id) {
            c.kill.notify_one();
        }
    }

    /// Run `action` on every live connection of `group` on `page`. Errors when there is none.
    ///
    /// A connection whose push queue is full is waited for (the caller slows down to the
    /// pace the connection runs its pushes at), for up to the hub's push wait
    /// ([`Config::slow_client_timeout`](crate::Config::slow_client_timeout), 10 s by
    /// default) shared by all the group's connections; a connection still full then is closed
    /// (1008) as too slow. Awaiting this from an action of one of the group's own
    /// connections while that connection's queue is full waits out the whole time: the
    /// connection runs its pushes only after the action.
    ///
    /// With a transport spanning nodes the action also goes to the group's connections on
    /// the other nodes (without waiting for room there); the error still says whether this
    /// node had a live connection of the group.
    pub async fn trigger(&self, page: &str, group: &GroupId, action: &str, data: Value) -> Result<()> {
        if self.multi_node() {
            let env = Envelope {
                topic: page.to_string(),
                action: action.to_string(),
                data: data.clone(),
                node: self.inner.node,
                from: None,
                group: Some(group.as_str().to_string()),
            };
            if let Err(err) = self.inner.transport.publish(env).await {
                tracing::warn!(page, action, error = %err, "trigger_action could not reach the other nodes");
            }
        }
        let targets = self.group_targets(page, group, None);
        let deadline = tokio::time::Instant::now() + self.inner.push_wait;
        let (mut delivered, mut too_slow) = (0, 0);
        for (id, tx) in targets {
            let push = Push::Action {
                name: action.to_string(),
                data: data.clone(),
            };
            let push = match tx.try_send(Box::new(push)) {
                Ok(()) => {
                    delivered += 1;
                    continue;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => continue,
                Err(mpsc::error::TrySendError::Full(push)) => push,
            };
            match tokio::time::timeout_at(deadline, tx.send(push)).await {
                Ok(Ok(())) => delivered += 1,
                Ok(Err(_closed)) => {}
                Err(_elapsed) => {
                    too_slow += 1;
                    self.close_slow(id);
                }
            }
        }
        if delivered == 0 && too_slow > 0 {
            return Err(Error::no_connection(format!(
                "this session group's connections on {page} took no push for the whole wait; they are being closed as too slow"
            )));
        }
        if delivered == 0 {
            return Err(Error::no_connection(format!(
                "no live connection of this session group on {page}"
            )));
        }
        Ok(())
    }

    /// Tell every live connection of `group` on `page` except `except` to reload its
    /// persisted fields (they were just saved by `except`, or by a no-JS POST).
    ///
    /// With a transport spanning nodes the group's connections on the other nodes reload too
    /// (the message is sent from a task; it arrives within a Redis round trip).
    #[doc(hidden)]
    pub fn reload_others(&self, page: &str, group: &GroupId, except: Option<u64>) {
        if self.multi_node()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let env = Envelope {
                topic: page.to_string(),
                action: GROUP_RELOAD.to_string(),
                data: Value::Null,
                node: self.inner.node,
                from: None,
                group: Some(group.as_str().to_string()),
            };
            let transport = self.inner.transport.clone();
            rt.spawn(async move {
                if let Err(err) = transport.publish(env).await {
                    tracing::warn!(error = %err, "could not tell the other nodes to reload persisted fields");
                }
            });
        }
        let targets = self.group_targets(page, group, except);
        for (id, tx) in targets {
            self.send_or_close(id, &tx, Push::Reload);
        }
    }

    /// The push queues of `group`'s live connections on `page`, but `except`'s.
    fn group_targets(&self, page: &str, group: &GroupId, except: Option<u64>) -> Vec<(u64, mpsc::Sender<Box<Push>>)> {
        let st = self.lock();
        st.by_group
            .get(&(Arc::<str>::from(page), group.clone()))
            .map(|ids| {
                ids.iter()
                    .filter(|id| Some(**id) != except)
                    .filter_map(|id| st.conns.get(id).map(|c| (*id, c.tx.clone())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Number of live connections of `group` on `page`.
    pub fn live_connections(&self, page: &str, group: &GroupId) -> usize {
        let st = self.lock();
        st.by_group
            .get(&(Arc::<str>::from(page), group.clone()))
            .map_or(0, Vec::len)
    }

    /// Number of live connections in total.
    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }

    /// Connections closed because they could not keep up.
    pub fn slow_closed(&self) -> u64 {
        self.inner.slow_closed.load(Ordering::Relaxed)
    }

    /// Track connection `id` as present on `topic` with `meta`.
    #[doc(hidden)]
    pub fn track(&self, id: u64, topic: &str, meta: Value) {
        {
            let mut st = self.lock();
            let Some(conn) = st.conns.get_mut(&id) else {
                return;
            };
            conn.tracked.insert(topic.to_string());
            st.presence
                .entry(topic.to_string())
                .or_default()
                .insert(id, meta.clone());
        }
        self.presence_changed(topic, Some(meta), None);
        self.inner.transport.presence_changed();
    }

    /// Stop tracking connection `id` on `topic`.
    #[doc(hidden)]
    pub fn untrack(&self, id: u64, topic: &str) {
        let left = {
            let mut st = self.lock();
            if let Some(conn) = st.conns.get_mut(&id) {
                conn.tracked.remove(topic);
            }
            st.presence.get_mut(topic).and_then(|l| l.remove(&id))
        };
        if let Some(meta) = left {
            self.presence_changed(topic, None, Some(meta));
            self.inner.transport.presence_changed();
        }
    }

    /// Who is present on `topic`: the metas tracked on this node, oldest first, then those
    /// of the other nodes (by node, each node's oldest first) as their transport reported
    /// them.
    pub fn presence(&self, topic: &str) -> Vec<Value> {
        let st = self.lock();
        let mut list: Vec<Value> = st
            .presence
            .get(topic)
            .map(|l| l.values().cloned().collect())
            .unwrap_or_default();
        for entries in st.remote.values() {
            list.extend(entries.iter().filter(|e| e.topic == topic).map(|e| e.meta.clone()));
        }
        list
    }

    /// Every presence entry of this node's connections, oldest first (what a transport
    /// spanning nodes tells the others).
    pub fn local_presence(&self) -> Vec<PresenceEntry> {
        let st = self.lock();
        let mut out: Vec<PresenceEntry> = st
            .presence
            .iter()
            .flat_map(|(topic, list)| {
                list.iter().map(|(conn, meta)| PresenceEntry {
                    topic: topic.clone(),
                    conn: *conn,
                    meta: meta.clone(),
                })
            })
            .collect();
        out.sort_by_key(|e| e.conn);
        out
    }

    /// Replace what this hub knows of node `node`'s presence with `entries` (empty: the node
    /// is gone), and push the `presence` action to this node's subscribers of every topic
    /// whose list changed. Entries of this node itself are ignored.
    pub fn set_node_presence(&self, node: u64, entries: Vec<PresenceEntry>) {
        if node == self.inner.node {
            return;
        }
        let old = {
            let mut st = self.lock();
            if entries.is_empty() {
                st.remote.remove(&node).unwrap_or_default()
            } else {
                st.remote.insert(node, entries.clone()).unwrap_or_default()
            }
        };
        if old == entries {
            return;
        }
        let key = |e: &PresenceEntry| (e.topic.clone(), e.conn);
        let before: HashMap<_, _> = old.iter().map(|e| (key(e), e)).collect();
        let after: HashMap<_, _> = entries.iter().map(|e| (key(e), e)).collect();
        let mut changes: BTreeMap<String, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
        for e in &entries {
            match before.get(&key(e)) {
                Some(prev) if prev.meta == e.meta => {}
                Some(prev) => {
                    let c = changes.entry(e.topic.clone()).or_default();
                    c.1.push(prev.meta.clone());
                    c.0.push(e.meta.clone());
                }
                None => changes.entry(e.topic.clone()).or_default().0.push(e.meta.clone()),
            }
        }
        for e in &old {
            if !after.contains_key(&key(e)) {
                changes.entry(e.topic.clone()).or_default().1.push(e.meta.clone());
            }
        }
        for (topic, (joins, leaves)) in changes {
            self.presence_pushed(&topic, joins, leaves);
        }
    }

    fn presence_changed(&self, topic: &str, joined: Option<Value>, left: Option<Value>) {
        self.presence_pushed(topic, joined.into_iter().collect(), left.into_iter().collect());
    }

    fn presence_pushed(&self, topic: &str, joins: Vec<Value>, leaves: Vec<Value>) {
        let data = serde_json::json!({
            "topic": topic,
            "joins": joins,
            "leaves": leaves,
        });
        self.deliver(Envelope {
            topic: topic.to_string(),
            action: PRESENCE_ACTION.to_string(),
            data,
            node: self.inner.node,
            from: None,
            group: None,
        });
    }
}

/// A handle on one session group's live connections of one page, for background tasks.
///
/// ```
/// # mod livetemplate { pub use livetemplate_core::{GroupId, Session}; pub mod pubsub { pub use livetemplate_core::hub::Hub; } }
/// use livetemplate::pubsub::Hub;
/// use livetemplate::{GroupId, Session};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let session = Session::new(Hub::local(), "/timer".into(), GroupId::random());
/// // Nobody is connected: the call fails, which is how a background task knows to stop.
/// assert!(session.trigger_action("tick", serde_json::json!({"elapsed": 1})).await.is_err());
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Session {
    hub: Hub,
    page: Arc<str>,
    group: GroupId,
}

impl Session {
    /// A session handle for `group` on `page`.
    pub fn new(hub: Hub, page: Arc<str>, group: GroupId) -> Self {
        Session { hub, page, group }
    }

    /// Run `action` with `data` on every live connection of this group on this page, each
    /// against its own state, and push the diffs. Errors when the group has no live
    /// connection on the page.
    ///
    /// Each connection takes pushes through a bounded queue
    /// ([`Config::push_queue`](crate::Config::push_queue)); when one is full this waits for
    /// room, so a task calling it in a loop runs at the pace of the connection (see
    /// [`Hub::trigger`] for the bound on the wait).
    pub async fn trigger_action(&self, action: &str, data: impl serde::Serialize) -> Result<()> {
        let data = serde_json::to_value(data).map_err(|e| Error::msg(format!("action data: {e}")))?;
        self.hub.trigger(&self.page, &self.group, action, data).await
    }

    /// True while the group has a live connection on the page.
    pub fn is_live(&self) -> bool {
        self.hub.live_connections(&self.page, &self.group) > 0
    }

    /// The session group.
    pub fn group(&self) -> &GroupId {
        &self.group
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_push_queue_closes_that_connection_only() {
        let hub = Hub::local();
        let (slow_tx, _slow_rx) = mpsc::channel(1); // never read
        let slow_kill = Arc::new(Notify::new());
        let slow = hub.register("/p".into(), GroupId::random(), slow_tx, slow_kill.clone());
        let (fast_tx, mut fast_rx) = mpsc::channel(8);
        let fast = hub.register("/p".into(), GroupId::random(), fast_tx, Arc::new(Notify::new()));
        hub.subscribe(slow, "t");
        hub.subscribe(fast, "t");
        for _ in 0..2 {
            hub.publish("t", "bump", Value::Null, None).await.unwrap();
            assert!(matches!(fast_rx.recv().await.as_deref(), Some(Push::Action { .. })));
        }
        assert_eq!(hub.slow_closed(), 1);
        // The kill switch was pulled: the connection's loop sees it at once.
        tokio::time::timeout(std::time::Duration::from_secs(1), slow_kill.notified())
            .await
            .expect("slow connection told to close");
    }

    #[tokio::test]
    async fn other_nodes_presence_joins_the_list_and_pushes_only_what_changed() {
        let hub = Hub::local();
        let (tx, mut rx) = mpsc::channel(8);
        let me = hub.register("/p".into(), GroupId::random(), tx, Arc::new(Notify::new()));
        hub.subscribe(me, "lobby");
        hub.track(me, "lobby", serde_json::json!("me"));
        assert!(matches!(rx.try_recv().as_deref(), Ok(Push::Action { .. })));
        let entry = |conn, meta: &str| PresenceEntry {
            topic: "lobby".into(),
            conn,
            meta: serde_json::json!(meta),
        };
        let data = |rx: &mut mpsc::Receiver<Box<Push>>| match rx.try_recv().map(|push| *push) {
            Ok(Push::Action { name, data }) if name == PRESENCE_ACTION => data,
            other => panic!("expected a presence push, got {other:?}"),
        };

        hub.set_node_presence(7, vec![entry(1, "ann"), entry(2, "bob")]);
        assert_eq!(hub.presence("lobby"), ["me", "ann", "bob"]);
        assert_eq!(data(&mut rx)["joins"], serde_json::json!(["ann", "bob"]));
        // The same list again: nothing to push.
        hub.set_node_presence(7, vec![entry(1, "ann"), entry(2, "bob")]);
        assert!(rx.try_recv().is_err());
        // bob left node 7.
        hub.set_node_presence(7, vec![entry(1, "ann")]);
        let d = data(&mut rx);
        assert_eq!(
            (d["joins"].clone(), d["leaves"].clone()),
            (serde_json::json!([]), serde_json::json!(["bob"]))
        );
        // Node 7 is gone; entries claiming this node are ignored.
        hub.set_node_presence(7, Vec::new());
        assert_eq!(data(&mut rx)["leaves"], serde_json::json!(["ann"]));
        hub.set_node_presence(hub.node(), vec![entry(9, "ghost")]);
        assert_eq!(hub.presence("lobby"), ["me"]);
        assert_eq!(hub.local_presence(), vec![entry(me, "me")]);
    }

    #[tokio::test]
    async fn trigger_waits_for_room_then_gives_up_on_a_stuck_connection() {
        let hub = Hub::with_push_wait(Arc::new(LocalTransport::default()), Duration::from_millis(300));
        let group = GroupId::random();
        let (tx, mut rx) = mpsc::channel(1);
        let kill = Arc::new(Notify::new());
        hub.register("/p".into(), group.clone(), tx, kill.clone());
        hub.trigger("/p", &group, "a", Value::Null).await.unwrap();
        // Full: the next trigger waits until the connection takes a push.
        let reader = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let first = rx.recv().await;
            (first, rx)
        });
        hub.trigger("/p", &group, "b", Value::Null).await.unwrap();
        let (first, mut rx) = reader.await.unwrap();
        assert!(matches!(first.as_deref(), Some(Push::Action { name, .. }) if name == "a"));
        assert!(matches!(rx.try_recv().as_deref(), Ok(Push::Action { name, .. }) if name == "b"));
        assert_eq!(hub.slow_closed(), 0);

        // Nobody reads any more: after the wait the connection is told to close.
        hub.trigger("/p", &group, "c", Value::Null).await.unwrap();
        let started = std::time::Instant::now();
        let err = hub.trigger("/p", &group, "d", Value::Null).await.unwrap_err();
        assert!(err.is_no_connection(), "{err}");
        assert!(started.elapsed() >= Duration::from_millis(250));
        assert_eq!(hub.slow_closed(), 1);
        tokio::time::timeout(Duration::from_secs(1), kill.notified())
            .await
            .expect("stuck connection told to close");
    }
}
