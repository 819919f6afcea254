//! Scenario: persisted writes. Times `SledStore::save` of one small field, each writer in its
//! own group, with 1, 8 and 64 writers saving at once; the time reported is per batch of
//! concurrent writes, and criterion's throughput line gives writes per second. After each case
//! it prints how many sled flushes a batch cost (group commit shares them).
//!
//! Run with: `cargo bench -p livetemplate-benches --bench store_writes`

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use livetemplate::GroupId;
use livetemplate::store::{PersistStore, SledStore};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = std::env::temp_dir().join(format!("lvt-bench-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = rt
        .block_on(async { SledStore::open(&dir) })
        .expect("open the sled store");

    let mut group = c.benchmark_group("store_writes");
    for writers in [1usize, 8, 64] {
        let groups: Vec<GroupId> = (0..writers).map(|_| GroupId::random()).collect();
        let (mut batches, mut flushes) = (0u64, 0u64);
        group.throughput(Throughput::Elements(writers as u64));
        group.bench_function(format!("{writers}_writers"), |b| {
            b.iter_custom(|iters| {
                let before = store.flush_count();
                let started = Instant::now();
                rt.block_on(async {
                    let mut tasks = tokio::task::JoinSet::new();
                    for g in &groups {
                        let (store, g) = (store.clone(), g.clone());
                        tasks.spawn(async move {
                            for i in 0..iters {
                                let value = i.to_le_bytes().to_vec();
                                store.save(&g, "/bench", &[("count", value)]).await.expect("save");
                            }
                        });
                    }
                    while let Some(done) = tasks.join_next().await {
                        done.expect("a writer panicked");
                    }
                });
                batches += iters;
                flushes += store.flush_count() - before;
                started.elapsed()
            })
        });
        println!(
            "store_writes/{writers}_writers: {:.2} flushes per batch of {writers} writes ({:.3} per write)",
            flushes as f64 / batches.max(1) as f64,
            flushes as f64 / (batches.max(1) * writers as u64) as f64,
        );
    }
    group.finish();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
