//! Scenario: one cell of the 1000-row keyed table. Times the framework's work for the action (render the new tree, diff
//! it into a frame) against askama's plain render of the same new state.
//!
//! Run with: `cargo bench -p livetemplate-benches --bench table_cell_changed`

use criterion::{Criterion, criterion_group, criterion_main};
use livetemplate_benches::{bench_scenario, criterion_config, table_cell_changed};

fn bench(c: &mut Criterion) {
    bench_scenario(c, table_cell_changed());
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = bench
}
criterion_main!(benches);
