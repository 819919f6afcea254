//! Server push and pubsub between connections, over the real connection loop.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use livetemplate_core::app::{Outbound, run_connection};
use livetemplate_core::{GroupId, Request};
use serde_json::{Value, json};
use tokio::sync::mpsc;

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<p>n={{ n }}</p><ul>{% for p in people %}<li>{{ p }}</li>{% endfor %}</ul>"#,
    ext = "html"
)]
pub struct Room {
    pub n: i64,
    pub people: Vec<String>,
}

pub struct RoomCtrl {
    runs: Arc<AtomicUsize>,
}

#[actions]
impl RoomCtrl {
    async fn mount(&self, _s: &mut Room, ctx: &mut Context) -> Result<()> {
        ctx.subscribe("room");
        Ok(())
    }
    async fn send(&self, _s: &mut Room, ctx: &mut Context) -> Result<()> {
        ctx.publish("room", "bump", json!({"by": 1}))?;
        if ctx.get_bool("fail") {
            return Err(Error::msg("send failed"));
        }
        Ok(())
    }
    async fn bump(&self, s: &mut Room, ctx: &mut Context) -> Result<()> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        s.n += ctx.get_int("by");
        Ok(())
    }
    async fn leave(&self, _s: &mut Room, ctx: &mut Context) -> Result<()> {
        ctx.unsubscribe("room");
        Ok(())
    }
    async fn tick(&self, s: &mut Room, ctx: &mut Context) -> Result<()> {
        s.n = ctx.get_int("n");
        Ok(())
    }
    async fn join(&self, s: &mut Room, ctx: &mut Context) -> Result<()> {
        ctx.subscribe("lobby");
        ctx.track("lobby", json!({"name": ctx.get_string("name")}))?;
        s.people = names(&ctx.presence("lobby"));
        Ok(())
    }
    async fn watch(&self, s: &mut Room, ctx: &mut Context) -> Result<()> {
        ctx.subscribe("lobby");
        s.people = names(&ctx.presence("lobby"));
        Ok(())
    }
    async fn presence(&self, s: &mut Room, ctx: &mut Context) -> Result<()> {
        s.people = names(&ctx.presence("lobby"));
        Ok(())
    }
}

fn names(metas: &[Value]) -> Vec<String> {
    metas
        .iter()
        .filter_map(|m| m["name"].as_str().map(str::to_string))
        .collect()
}

fn app(runs: Arc<AtomicUsize>, queue: usize) -> Arc<App> {
    Arc::new(
        App::builder()
            .page("/room", RoomCtrl { runs }, Room::default())
            .config(|c| {
                c.outbound_queue = queue;
                c.push_queue = queue;
                c.slow_client_timeout = Duration::from_secs(1);
            })
            .build()
            .unwrap(),
    )
}

async fn open(app: &Arc<App>) -> TestPage {
    TestPage::connect(app.clone(), "/room", GroupId::random())
        .await
        .unwrap()
}

const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn publish_reaches_other_subscribers_after_ok_and_not_the_publisher() {
    let runs = Arc::new(AtomicUsize::new(0));
    let app = app(runs.clone(), 64);
    let (mut a, mut b, mut c) = (open(&app).await, open(&app).await, open(&app).await);
    let reply = a.act("send", Value::Null).await;
    assert!(reply.error().is_none());
    for peer in [&mut b, &mut c] {
        let push = peer.next_push(Duration::from_secs(5)).await.expect("pushed diff");
        assert!(push.json().get("r").is_none(), "a push carries no ref: {}", push.text());
        assert!(peer.html().contains("n=1"), "{}", peer.html());
    }
    assert!(a.html().contains("n=0"), "the publisher does not run its own publish");
    assert!(a.next_push(QUIET).await.is_none());
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn publish_is_dropped_when_the_action_fails() {
    let runs = Arc::new(AtomicUsize::new(0));
    let app = app(runs.clone(), 64);
    let (mut a, mut b) = (open(&app).await, open(&app).await);
    let reply = a.act("send", json!({"fail": "true"})).await;
    assert_eq!(reply.error().as_deref(), Some("send failed"));
    assert!(b.next_push(QUIET).await.is_none());
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unsubscribe_stops_delivery() {
    let runs = Arc::new(AtomicUsize::new(0));
    let app = app(runs, 64);
    let (mut a, mut b, mut c) = (open(&app).await, open(&app).await, open(&app).await);
    b.act("leave", Value::Null).await;
    a.act("send", Value::Null).await;
    assert!(c.next_push(Duration::from_secs(5)).await.is_some());
    assert!(b.next_push(QUIET).await.is_none());
    assert!(b.html().contains("n=0"));
}

#[tokio::test]
async fn app_can_publish_from_outside_an_action() {
    let runs = Arc::new(AtomicUsize::new(0));
    let app = app(runs, 64);
    let mut a = open(&app).await;
    app.hub().publish("room", "bump", json!({"by": 5}), None).await.unwrap();
    a.next_push(Duration::from_secs(5)).await.expect("push");
    assert!(a.html().contains("n=5"));
}

#[tokio::test]
async fn trigger_action_needs_a_live_connection_of_the_group() {
    let runs = Arc::new(AtomicUsize::new(0));
    let app = app(runs, 64);
    let group = GroupId::random();
    let session = app.session("/room", &group);
    let err = session.trigger_action("tick", json!({"n": 1})).await.unwrap_err();
    assert!(err.is_no_connection(), "{err}");

    let mut tab1 = TestPage::connect(app.clone(), "/room", group.clone()).await.unwrap();
    let mut tab2 = TestPage::connect(app.clone(), "/room", group.clone()).await.unwrap();
    let mut other = open(&app).await;
    session.trigger_action("tick", json!({"n": 7})).await.unwrap();
    for tab in [&mut tab1, &mut tab2] {
        tab.next_push(Duration::from_secs(5)).await.expect("push");
        assert!(tab.html().contains("n=7"));
    }
    assert!(other.next_push(QUIET).await.is_none(), "other groups are not triggered");

    // A reconnect of the same group keeps receiving.
    tab1.reconnect().await.unwrap();
    tab2.close().await;
    session.trigger_action("tick", json!({"n": 8})).await.unwrap();
    tab1.next_push(Duration::from_secs(5))
        .await
        .expect("push after reconnect");
    assert!(tab1.html().contains("n=8"));

    tab1.close().await;
    assert!(
        session
            .trigger_action("tick", json!({"n": 9}))
            .await
            .unwrap_err()
            .is_no_connection()
    );
}

#[tokio::test]
async fn presence_lists_joins_and_leaves_on_close() {
    let runs = Arc::new(AtomicUsize::new(0));
    let app = app(runs, 64);
    let mut watcher = open(&app).await;
    watcher.act("watch", Value::Null).await;
    let mut ann = open(&app).await;
    ann.act("join", json!({"name": "ann"})).await;
    watcher.next_push(Duration::from_secs(5)).await.expect("presence push");
    assert!(watcher.html().contains("<li>ann</li>"), "{}", watcher.html());
    ann.close().await;
    watcher.next_push(Duration::from_secs(5)).await.expect("leave push");
    assert!(!watcher.html().contains("<li>ann</li>"), "{}", watcher.html());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_closed_and_the_others_keep_up() {
    let runs = Arc::new(AtomicUsize::new(0));
    let app = app(runs, 8);
    // A connection whose client never reads: its outbound queue fills.
    let (in_tx, in_rx) = mpsc::channel::<String>(8);
    let (out_tx, mut out_rx) = mpsc::channel::<Outbound>(8);
    let req = Request {
        path: "/room".into(),
        query: String::new(),
        group: GroupId::random(),
    };
    let slow = tokio::spawn(run_connection(app.clone(), req, in_rx, out_tx));
    // Wait until the slow connection has sent its first frame (it is subscribed then).
    let _first = out_rx.recv().await;
    let mut fast = open(&app).await;
    let mut worst = Duration::ZERO;
    for i in 1..=40 {
        let sent = Instant::now();
        app.hub().publish("room", "bump", json!({"by": 1}), None).await.unwrap();
        fast.next_push(Duration::from_secs(5))
            .await
            .expect("fast connection keeps receiving");
        worst = worst.max(sent.elapsed());
        assert!(fast.html().contains(&format!("n={i}")));
    }
    let closing = tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .expect("slow closed")
        .unwrap();
    assert_eq!(closing.code, 1008, "{closing:?}");
    drop(in_tx);
    // Generous bound: the point is that the slow reader never blocks the others.
    assert!(worst < Duration::from_secs(2), "worst push latency {worst:?}");
}
