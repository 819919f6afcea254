//! Issue 13 figures: cross-node delivery latency through Redis beside the same in one
//! process, and the persisted-write time on Redis beside sled's.
//!
//! - delivery: a publish on node A (`hub().publish`) until the diff frame of a connection on
//!   node B is queued for its socket; 10,000 messages one after another; p50, p99 and mean.
//!   "one process" is the same with publisher and subscriber on one app (in-process pubsub).
//!   The two nodes are two apps in this process, each with its own Redis connections and
//!   node id: everything between them goes through Redis over loopback TCP, as between two
//!   processes.
//! - persisted write: `save` of one small field, 2,000 in a row, on `RedisStore` and on
//!   `SledStore` (durable on return: sled flushes, Redis has answered).
//!
//! Run with: `cargo run --release -p livetemplate-benches --bin redis_nodes` — it uses
//! `LVT_REDIS_URL` when set, else starts its own `redis-server` (installed) on a free port
//! in a temporary directory, and stops it at the end. `--messages N` changes the count.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use livetemplate::prelude::*;
use livetemplate::store::{PersistStore, SledStore};
use livetemplate_benches::feed::{Feed, FeedCtrl, subscriber};
use livetemplate_core::GroupId;
use livetemplate_core::app::Outbound;
use livetemplate_redis::{Redis, RedisExt};
use serde_json::json;
use tokio::sync::mpsc;

fn app(redis: Option<&Redis>) -> Arc<App> {
    let b = App::builder().page("/feed", FeedCtrl, Feed::default());
    let b = match redis {
        Some(r) => b.redis(r),
        None => b,
    };
    Arc::new(b.build().expect("app"))
}

/// Publish on `from`, wait for the diff on `out`; `n` times. Sorted latencies.
async fn deliveries(from: &Arc<App>, out: &mut mpsc::Receiver<Outbound>, n: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        from.hub()
            .publish("feed", "message", json!({"text": format!("m{i}")}), None)
            .await
            .expect("publish");
        loop {
            match tokio::time::timeout(Duration::from_secs(10), out.recv()).await {
                Ok(Some(Outbound::Text(t))) if t.contains(&format!("m{i}")) => break,
                Ok(Some(_)) => {}
                other => panic!("message {i} never arrived: {other:?}"),
            }
        }
        times.push(start.elapsed());
    }
    times.sort();
    times
}

fn stats(label: &str, sorted: &[Duration]) {
    let pct = |p: f64| sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)];
    let mean = sorted.iter().sum::<Duration>() / sorted.len() as u32;
    println!(
        "{label:<40} n={:<6} p50={:>9.1?} p99={:>9.1?} mean={:>9.1?} max={:>9.1?}",
        sorted.len(),
        pct(0.50),
        pct(0.99),
        mean,
        sorted[sorted.len() - 1]
    );
}

async fn writes(store: &dyn PersistStore, n: usize) -> Vec<Duration> {
    let g = GroupId::random();
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let value = (i as u64).to_le_bytes().to_vec();
        let start = Instant::now();
        store.save(&g, "/bench", &[("count", value)]).await.expect("save");
        times.push(start.elapsed());
    }
    times.sort();
    times
}

/// A redis-server of this run, killed on drop.
struct OwnRedis(Child, std::path::PathBuf);

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn own_redis() -> (String, OwnRedis) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = std::env::temp_dir().join(format!("lvt-bench-redis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (apt-get install redis-server, or set LVT_REDIS_URL)");
    let end = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (format!("redis://127.0.0.1:{port}/0"), OwnRedis(child, dir))
}

fn main() {
    let mut messages = 10_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--messages" {
            messages = args.next().and_then(|v| v.parse().ok()).expect("--messages N");
        }
    }
    let (url, _own) = match std::env::var("LVT_REDIS_URL") {
        Ok(u) if !u.is_empty() => (u, None),
        _ => {
            let (u, own) = own_redis();
            (u, Some(own))
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let prefix = format!("lvt-bench:{}:", std::process::id());
        let redis = Redis::builder(url.as_str()).prefix(prefix).build().expect("redis url");
        redis.ping().await.expect("Redis answers");

        // One process: publisher and subscriber on one app.
        let local = app(None);
        let (mut out, _in) = subscriber(&local).await;
        deliveries(&local, &mut out, 200).await; // warm-up
        stats("delivery, one process", &deliveries(&local, &mut out, messages).await);

        // Two nodes on Redis.
        let (a, b) = (app(Some(&redis)), app(Some(&redis)));
        let (mut out_b, _in_b) = subscriber(&b).await;
        // Wait until B's subscription carries A's publishes, then warm up.
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            a.hub()
                .publish("feed", "message", json!({"text": "probe"}), None)
                .await
                .expect("publish");
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), out_b.recv()).await {
                break;
            }
            assert!(Instant::now() < end, "node B never heard node A through Redis");
        }
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(300), out_b.recv()).await {}
        deliveries(&a, &mut out_b, 200).await;
        stats(
            "delivery, node A -> Redis -> node B",
            &deliveries(&a, &mut out_b, messages).await,
        );

        // Persisted writes.
        let n = 2_000;
        let store = redis.store();
        writes(&store, 100).await;
        stats("persisted write, RedisStore", &writes(&store, n).await);
        let dir = std::env::temp_dir().join(format!("lvt-bench-sled-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sled = SledStore::open(&dir).expect("sled");
        writes(&sled, 100).await;
        stats("persisted write, SledStore", &writes(&sled, n).await);
        drop(sled);
        let _ = std::fs::remove_dir_all(&dir);
    });
}
