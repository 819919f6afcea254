//! Scenario: the 1000-row keyed table reversed. Times the framework's work for the action (render the new tree, diff it
//! into a frame) against askama's plain render of the same new state.
//!
//! Run with: `cargo bench -p livetemplate-benches --bench table_reversed`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use livetemplate_benches::table_reversed;

fn bench(c: &mut Criterion) {
    let scenario = table_reversed();
    let mut live = scenario.connect();
    let mut group = c.benchmark_group(scenario.name);
    group.bench_function("render_tree+diff_frame", |b| b.iter(|| black_box(live.step())));
    group.bench_function("askama_render_html", |b| b.iter(|| black_box(scenario.plain_render())));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
