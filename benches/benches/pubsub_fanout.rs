//! Scenario: one publish fanned out to 10, 100 and 1000 subscribed connections. Each
//! connection runs the published action on its own state and encodes its diff; the time is
//! from the publish until every connection's frame is in its outbound queue.
//!
//! Run with: `cargo bench -p livetemplate-benches --bench pubsub_fanout`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use livetemplate::prelude::*;
use livetemplate_benches::feed::{Feed, FeedCtrl, subscriber};
use livetemplate_core::app::Outbound;
use serde_json::json;
use tokio::sync::mpsc;

struct Fleet {
    app: Arc<App>,
    outs: Vec<mpsc::Receiver<Outbound>>,
    _ins: Vec<mpsc::Sender<String>>,
}

async fn fleet(n: usize) -> Fleet {
    let app = Arc::new(
        App::builder()
            .page("/feed", FeedCtrl, Feed::default())
            .config(|c| c.outbound_queue = 1024)
            .build()
            .expect("app"),
    );
    let mut outs = Vec::with_capacity(n);
    let mut ins = Vec::with_capacity(n);
    for _ in 0..n {
        let (out, input) = subscriber(&app).await;
        outs.push(out);
        ins.push(input);
    }
    Fleet { app, outs, _ins: ins }
}

impl Fleet {
    /// One publish; waits until every connection has produced its diff.
    async fn publish_once(&mut self) -> usize {
        self.app
            .hub()
            .publish("feed", "message", json!({"text": "hello"}), None)
            .await
            .expect("publish");
        let mut bytes = 0;
        for out in &mut self.outs {
            if let Some(Outbound::Text(t)) = out.recv().await {
                bytes += t.len();
            }
        }
        bytes
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("pubsub_fanout");
    for n in [10usize, 100, 1000] {
        let mut fleet = rt.block_on(fleet(n));
        let bytes = rt.block_on(fleet.publish_once());
        eprintln!("fan-out to {n}: {} bytes per delivered diff", bytes / n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("publish_to_all_diffs", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(rt.block_on(fleet.publish_once()));
                }
                start.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
