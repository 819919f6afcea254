//! livetemplate-redis against a real redis-server: the store (conformance, TTL, failure while
//! Redis is down), pubsub between two nodes (once each, in order, `trigger_action`),
//! presence across nodes (union, a dead node's entries dropped within the bound), and an
//! outage: local delivery goes on, saves fail clearly, publishes wait and arrive afterwards.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use livetemplate_core::hub::{Hub, Push};
use livetemplate_core::{GroupId, PersistStore};
use livetemplate_redis::{Redis, RedisPubSub};
use serde_json::{Value, json};
use support::{RedisServer, prefix, shared_url};
use tokio::sync::{Notify, mpsc};

fn redis(url: &str, name: &str) -> Redis {
    Redis::builder(url)
        .prefix(prefix(name))
        .heartbeat(Duration::from_millis(100))
        .presence_ttl(Duration::from_millis(400))
        .timeout(Duration::from_millis(500))
        .resubscribe_wait(Duration::from_secs(3))
        .build()
        .unwrap()
}

/// A node: a hub on its own Redis transport.
fn node(redis: &Redis) -> Hub {
    Hub::new(Arc::new(redis.pubsub()))
}

/// A connection of `group` on `page`, with the queue its pushes arrive on.
fn conn(hub: &Hub, page: &str, group: &GroupId) -> (u64, mpsc::Receiver<Box<Push>>) {
    let (tx, rx) = mpsc::channel(20_000);
    (
        hub.register(page.into(), group.clone(), tx, Arc::new(Notify::new())),
        rx,
    )
}

async fn next(rx: &mut mpsc::Receiver<Box<Push>>) -> (String, Value) {
    match tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .map(|p| p.map(|p| *p))
    {
        Ok(Some(Push::Action { name, data })) => (name, data),
        other => panic!("expected an action push, got {other:?}"),
    }
}

async fn nothing_more(rx: &mut mpsc::Receiver<Box<Push>>) {
    if let Ok(p) = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await {
        panic!("unexpected push {p:?}");
    }
}

/// Waits until `cond` holds, for `within` at most.
async fn until(within: Duration, what: &str, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < within,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

/// Both nodes subscribed to Redis.
async fn subscribed(nodes: &[&Hub]) {
    // The transport is inside the hub; a publish round trip proves the subscription: wait for
    // one through a probe topic.
    let group = GroupId::random();
    for (i, to) in nodes.iter().enumerate() {
        let (id, mut rx) = conn(to, "/probe", &group);
        to.subscribe(id, "probe");
        let from = nodes[(i + 1) % nodes.len()];
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            from.publish("probe", "ping", Value::Null, None).await.unwrap();
            if tokio::time::timeout(Duration::from_millis(100), rx.recv())
                .await
                .is_ok()
            {
                break;
            }
            assert!(Instant::now() < end, "nodes never heard each other through Redis");
        }
        to.unregister(id);
    }
}

#[tokio::test]
async fn the_store_passes_the_conformance_suite() {
    let mut keep = None;
    let Some(url) = shared_url(&mut keep) else { return };
    let store = redis(&url, "conformance").store();
    livetemplate_core::testing::store_conformance(&store).await;
}

#[tokio::test]
async fn idle_records_expire_and_use_keeps_them() {
    let mut keep = None;
    let Some(url) = shared_url(&mut keep) else { return };
    let r = Redis::builder(&url)
        .prefix(prefix("ttl"))
        .idle_ttl(Duration::from_millis(600))
        .build()
        .unwrap();
    let store = r.store();
    let (used, idle) = (GroupId::random(), GroupId::random());
    store.save(&used, "/c", &[("count", vec![1])]).await.unwrap();
    store.save(&idle, "/c", &[("count", vec![2])]).await.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(store.load(&used, "/c").await.unwrap(), vec![("count".into(), vec![1])]);
    }
    assert!(
        store.load(&idle, "/c").await.unwrap().is_empty(),
        "idle record outlived its TTL"
    );
}

#[tokio::test]
async fn the_servers_own_records_never_expire() {
    let mut keep = None;
    let Some(url) = shared_url(&mut keep) else { return };
    let r = Redis::builder(&url)
        .prefix(prefix("server-group"))
        .idle_ttl(Duration::from_millis(200))
        .build()
        .unwrap();
    let store = r.store();
    store
        .save(&GroupId::server(), "lvt:key", &[("key", vec![7; 32])])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        store.load(&GroupId::server(), "lvt:key").await.unwrap(),
        vec![("key".into(), vec![7; 32])]
    );
}

#[tokio::test]
async fn publishes_reach_every_node_once_and_in_order() {
    let mut keep = None;
    let Some(url) = shared_url(&mut keep) else { return };
    let r = redis(&url, "pubsub");
    let ta = Arc::new(r.pubsub());
    let (a, b) = (Hub::new(ta.clone()), node(&r));
    subscribed(&[&a, &b]).await;
    let g = GroupId::random();
    let (pa, _pa_rx) = conn(&a, "/chat", &g);
    let (other_a, mut other_a_rx) = conn(&a, "/chat", &GroupId::random());
    let (on_b, mut b_rx) = conn(&b, "/chat", &GroupId::random());
    for id in [pa, other_a] {
        a.subscribe(id, "room");
    }
    b.subscribe(on_b, "room");
    for i in 0..500 {
        a.publish("room", "msg", json!({"i": i}), Some(pa)).await.unwrap();
    }
    for i in 0..500 {
        assert_eq!(next(&mut b_rx).await, ("msg".to_string(), json!({"i": i})));
        assert_eq!(next(&mut other_a_rx).await, ("msg".to_string(), json!({"i": i})));
    }
    // The publisher's own node got each once (locally), not again from Redis.
    nothing_more(&mut other_a_rx).await;
    nothing_more(&mut b_rx).await;
    // One subscription all along (heartbeat pings every 100 ms did not break it).
    let status = ta.status();
    assert_eq!(
        (status.subscribed, status.subscriptions, status.pending),
        (true, 1, 0),
        "{status:?}"
    );
    assert!(status.sent >= 500);
}

#[tokio::test]
async fn trigger_action_reaches_the_group_on_other_nodes() {
    let mut keep = None;
    let Some(url) = shared_url(&mut keep) else { return };
    let r = redis(&url, "trigger");
    let (a, b) = (node(&r), node(&r));
    subscribed(&[&a, &b]).await;
    let g = GroupId::random();
    let (_, mut on_a) = conn(&a, "/timer", &g);
    let (_, mut on_b) = conn(&b, "/timer", &g);
    let (_, mut stranger) = conn(&b, "/timer", &GroupId::random());
    a.trigger("/timer", &g, "tick", json!(1)).await.unwrap();
    assert_eq!(next(&mut on_a).await, ("tick".to_string(), json!(1)));
    assert_eq!(next(&mut on_b).await, ("tick".to_string(), json!(1)));
    nothing_more(&mut on_a).await;
    nothing_more(&mut stranger).await;
}

#[tokio::test]
async fn presence_is_the_union_and_a_dead_node_leaves_within_the_bound() {
    let mut keep = None;
    let Some(url) = shared_url(&mut keep) else { return };
    let r = redis(&url, "presence");
    let b = node(&r);
    let (watcher, mut b_rx) = conn(&b, "/presence", &GroupId::random());
    b.subscribe(watcher, "lobby");
    b.track(watcher, "lobby", json!({"name": "bea"}));
    assert_eq!(next(&mut b_rx).await.0, "presence");

    // Node A lives on a runtime of its own, so it can die without a goodbye.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let a = {
        let r = r.clone();
        rt.spawn(async move {
            let a = node(&r);
            let (id, _rx) = conn(&a, "/presence", &GroupId::random());
            a.track(id, "lobby", json!({"name": "ann"}));
            (a, _rx)
        })
        .await
        .unwrap()
    };
    let names = |hub: &Hub| -> Vec<String> {
        let mut v: Vec<String> = hub
            .presence("lobby")
            .iter()
            .map(|m| m["name"].as_str().unwrap_or("").to_string())
            .collect();
        v.sort();
        v
    };
    until(Duration::from_secs(5), "B to list ann", || names(&b) == ["ann", "bea"]).await;
    until(Duration::from_secs(5), "A to list bea", || {
        names(&a.0) == ["ann", "bea"]
    })
    .await;
    // The join reached B's subscriber as a presence action.
    let (action, data) = next(&mut b_rx).await;
    assert_eq!(action, "presence");
    assert_eq!(data["joins"], json!([{"name": "ann"}]));

    // kill -9 of node A: its tasks stop, no goodbye.
    std::mem::forget(a);
    rt.shutdown_background();
    let bound = r.presence_bound();
    let took = until(bound + Duration::from_secs(1), "B to drop ann", || names(&b) == ["bea"]).await;
    assert!(
        took <= bound + Duration::from_millis(500),
        "took {took:?}, bound {bound:?}"
    );
    let (action, data) = next(&mut b_rx).await;
    assert_eq!(
        (action.as_str(), &data["leaves"]),
        ("presence", &json!([{"name": "ann"}]))
    );
}

#[tokio::test]
async fn a_node_that_stops_cleanly_leaves_at_once() {
    let mut keep = None;
    let Some(url) = shared_url(&mut keep) else { return };
    let r = Redis::builder(&url).prefix(prefix("goodbye")).build().unwrap(); // 6 s bound
    let b = node(&r);
    let a = node(&r);
    let (id, _rx) = conn(&a, "/p", &GroupId::random());
    a.track(id, "lobby", json!({"name": "ann"}));
    until(Duration::from_secs(5), "B to list ann", || {
        b.presence("lobby").len() == 1
    })
    .await;
    drop(a);
    let took = until(Duration::from_secs(5), "B to drop ann", || {
        b.presence("lobby").is_empty()
    })
    .await;
    assert!(took < Duration::from_secs(2), "goodbye took {took:?}");
}

#[tokio::test]
async fn redis_down_local_work_goes_on_saves_fail_clearly_and_publishes_arrive_later() {
    let Some(mut server) = RedisServer::start() else { return };
    let r = redis(&server.url(), "outage");
    let store = r.store();
    let (a, b) = (node(&r), node(&r));
    subscribed(&[&a, &b]).await;
    let g = GroupId::random();
    let (pa, _) = conn(&a, "/chat", &g);
    let (local, mut local_rx) = conn(&a, "/chat", &GroupId::random());
    let (remote, mut remote_rx) = conn(&b, "/chat", &GroupId::random());
    a.subscribe(local, "room");
    b.subscribe(remote, "room");
    store.save(&g, "/c", &[("n", vec![1])]).await.unwrap();

    server.stop();
    // Local delivery goes on; the publishes for B wait.
    for i in 0..20 {
        a.publish("room", "msg", json!(i), Some(pa)).await.unwrap();
        assert_eq!(next(&mut local_rx).await, ("msg".to_string(), json!(i)));
    }
    let err = store.save(&g, "/c", &[("n", vec![2])]).await.unwrap_err();
    assert!(
        err.to_string().contains("not saved: the session store is unreachable"),
        "{err}"
    );
    assert!(r.ping().await.is_err());

    tokio::time::sleep(Duration::from_millis(500)).await;
    server.restart();
    // Nothing acknowledged is lost: every publish arrives on B, in order, once.
    for i in 0..20 {
        assert_eq!(next(&mut remote_rx).await, ("msg".to_string(), json!(i)));
    }
    nothing_more(&mut remote_rx).await;
    nothing_more(&mut local_rx).await;
    // And the link works again both ways; saves succeed.
    b.publish("room", "after", json!("b"), Some(remote)).await.unwrap();
    assert_eq!(next(&mut local_rx).await, ("after".to_string(), json!("b")));
    store.save(&g, "/c", &[("n", vec![3])]).await.unwrap();
    assert_eq!(store.load(&g, "/c").await.unwrap(), vec![("n".into(), vec![3])]);
}

#[tokio::test]
async fn a_full_outbox_refuses_a_publish_instead_of_dropping_it_silently() {
    // A port where nothing listens: Redis is down from the start.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = Redis::builder(format!("redis://127.0.0.1:{port}/0"))
        .outbox(3)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let t: RedisPubSub = r.pubsub();
    let t = Arc::new(t);
    let hub = Hub::new(t.clone());
    for i in 0..3 {
        hub.publish("room", "msg", json!(i), None).await.unwrap();
    }
    let err = hub.publish("room", "msg", json!(3), None).await.unwrap_err();
    assert!(err.to_string().contains("reached this node only"), "{err}");
    assert_eq!(
        (t.status().pending, t.status().refused, t.status().subscribed),
        (3, 1, false)
    );
}

// ---- Pages on Redis while it is unreachable. ----

/// A counter page with a persisted count.
pub mod pages {
    use livetemplate::prelude::*;

    /// The page's state.
    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(source = "<p>{{ n }}</p>", ext = "html")]
    pub struct Counter {
        /// The count, saved in the store.
        #[lvt(persist)]
        pub n: i64,
    }

    /// The page's actions.
    #[derive(Debug)]
    pub struct Ctrl;

    #[actions]
    impl Ctrl {
        async fn increment(&self, s: &mut Counter, _ctx: &mut Context) -> Result<()> {
            s.n += 1;
            Ok(())
        }
    }
}

/// The QA's sequence: increment (1), stop Redis, increment (refused, the page shows 1), start
/// Redis, increment: the page and Redis show 2, not 3.
#[tokio::test]
async fn a_save_that_failed_during_an_outage_is_not_applied_when_redis_is_back() {
    use livetemplate::testing::TestPage;
    use livetemplate_core::page::Page;

    let Some(mut server) = RedisServer::start_durable() else {
        return;
    };
    let r = redis(&server.url(), "failed-save");
    let store: Arc<dyn PersistStore> = Arc::new(r.store());
    let group = GroupId::random();
    let open = || {
        let route = Arc::new(Page::new("/reconnection", pages::Ctrl, pages::Counter::default()));
        TestPage::mount_route(route, store.clone(), group.clone())
    };
    let mut tab = open().await.unwrap();
    assert!(tab.act("increment", Value::Null).await.error().is_none());
    assert_eq!(tab.html(), "<p>1</p>");

    server.stop();
    let refused = tab.act("increment", Value::Null).await;
    assert_eq!(
        refused.error().as_deref(),
        Some("not saved: the session store is unreachable; try again in a moment")
    );
    assert_eq!(tab.html(), "<p>1</p>");

    server.restart();
    let answered = tab.act("increment", Value::Null).await;
    assert!(answered.error().is_none(), "{:?}", answered.error());
    assert_eq!(tab.html(), "<p>2</p>");
    // Redis holds what the page shows: a new tab of the group reads 2.
    let other = open().await.unwrap();
    assert_eq!(other.html(), "<p>2</p>");
}

/// `GET path` on `addr` with `cookie`: the status, the `lvt_group` value of `Set-Cookie` (if
/// any) and the `Retry-After` header (if any).
async fn get(addr: std::net::SocketAddr, path: &str, cookie: Option<&str>) -> (u16, Option<String>, Option<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let cookie = cookie.map(|c| format!("Cookie: lvt_group={c}\r\n")).unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    let head = text.split("\r\n\r\n").next().unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let set = header("set-cookie").and_then(|v| v.split(';').next()?.strip_prefix("lvt_group=").map(str::to_string));
    (status, set, header("retry-after"))
}

/// A node on `r` serving one counter page, with `key` as its configured secret key.
async fn serve(r: &Redis, key: Option<&str>) -> livetemplate::Server {
    use livetemplate_redis::RedisExt;
    let mut app = livetemplate::App::builder()
        .page("/counter", pages::Ctrl, pages::Counter::default())
        .redis(r);
    if let Some(key) = key {
        app = app.secret_key(key);
    }
    livetemplate::Server::bind("127.0.0.1:0", app.build().unwrap())
        .await
        .unwrap()
}

fn group_of(cookie: &str) -> &str {
    cookie.split('.').next().unwrap()
}

/// A node started while Redis is unreachable: with `LVT_SECRET_KEY` (here the builder's key)
/// pages serve, cookies signed with the key generated earlier are kept and read once Redis is
/// back; without a key, 503 with `Retry-After` until Redis answers.
#[tokio::test]
async fn a_node_started_while_redis_is_down_serves_pages_with_a_configured_key() {
    const KEY: &str = "a configured key of thirty-two bytes or more";
    let Some(mut server) = RedisServer::start_durable() else {
        return;
    };
    let name = prefix("start-down");
    let url = server.url();
    let handle = || {
        Redis::builder(&url)
            .prefix(name.clone())
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap()
    };
    // A node without a key: it makes the signing key and keeps it in Redis.
    let first = serve(&handle(), None).await;
    let (status, generated, _) = get(first.local_addr(), "/counter", None).await;
    assert_eq!(status, 200);
    let generated = generated.unwrap();
    first.shutdown().await.unwrap();

    server.stop();
    let keyed = serve(&handle(), Some(KEY)).await;
    let (status, fresh, _) = get(keyed.local_addr(), "/counter", None).await;
    assert_eq!(status, 200, "a new visitor is served");
    let fresh = fresh.expect("a new visitor gets a cookie signed with the configured key");
    let (status, set, _) = get(keyed.local_addr(), "/counter", Some(&fresh)).await;
    assert_eq!((status, set), (200, None), "the configured key reads its own cookie");
    let (status, set, _) = get(keyed.local_addr(), "/counter", Some(&generated)).await;
    assert_eq!(status, 200);
    assert_eq!(set, None, "a cookie signed with the key kept in Redis is left as it is");

    let keyless = serve(&handle(), None).await;
    let (status, set, retry) = get(keyless.local_addr(), "/counter", None).await;
    assert_eq!((status, set, retry.as_deref()), (503, None, Some("5")));

    server.restart();
    // The kept key is looked up again (every 5 s while Redis was down): its cookie gets its
    // own group back, re-signed with the configured key.
    let start = Instant::now();
    loop {
        let (status, set, _) = get(keyed.local_addr(), "/counter", Some(&generated)).await;
        assert_eq!(status, 200);
        if let Some(set) = set
            && group_of(&set) == group_of(&generated)
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the kept key was not looked up again"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (status, set, _) = get(keyless.local_addr(), "/counter", Some(&generated)).await;
    assert_eq!(
        (status, set),
        (200, None),
        "the keyless node reads the kept key once Redis answers"
    );
    keyed.shutdown().await.unwrap();
    keyless.shutdown().await.unwrap();
}

/// A wrong password: the store's errors say authentication failed, and a node with a key
/// serves pages as if Redis were down.
#[tokio::test]
async fn a_wrong_password_is_named_and_the_node_runs_as_if_redis_were_down() {
    let Some(server) = RedisServer::start_with(&["--requirepass", "the-right-password"]) else {
        return;
    };
    let wrong = Redis::builder(format!("redis://:not-the-password@127.0.0.1:{}/0", server.port))
        .prefix(prefix("auth"))
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let err = wrong.store().load(&GroupId::random(), "/counter").await.unwrap_err();
    assert!(err.to_string().contains("authentication failed"), "{err}");
    let node = serve(&wrong, Some("a configured key of thirty-two bytes or more")).await;
    let (status, set, _) = get(node.local_addr(), "/counter", None).await;
    assert_eq!(status, 200);
    assert!(set.is_some());
    node.shutdown().await.unwrap();

    let right = Redis::builder(format!("redis://:the-right-password@127.0.0.1:{}/0", server.port))
        .prefix(prefix("auth"))
        .build()
        .unwrap();
    right.ping().await.unwrap();
}
