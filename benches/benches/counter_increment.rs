//! Scenario: the counter page, 41 → 42. Times the framework's work for the action (render the new tree, diff
//! it into a frame) against askama's plain render of the same new state.
//!
//! Run with: `cargo bench -p livetemplate-benches --bench counter_increment`

use criterion::{Criterion, criterion_group, criterion_main};
use livetemplate_benches::{bench_scenario, counter_increment, criterion_config};

fn bench(c: &mut Criterion) {
    bench_scenario(c, counter_increment());
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = bench
}
criterion_main!(benches);
