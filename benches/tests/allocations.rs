//! A click in a long keyed table allocates nothing per unchanged row: the allocations of one
//! action do not grow with the number of rows, for the render and diff alone and for the
//! server's whole path through the connection loop (no copy of the state per action).
//!
//! Allocations are counted by dhat's heap profiler in testing mode, which counts every thread:
//! one test function, so nothing else runs beside it; the connection loop runs on the test's
//! thread (a current-thread runtime).

#![allow(clippy::unwrap_used)]

use livetemplate_benches::{ClickTable, RoundTrip, Scenario, click_rows};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = dhat::HeapStats::get().total_blocks;
    f();
    dhat::HeapStats::get().total_blocks - before
}

/// A click table of `rows` rows with the middle row's value bumped.
fn click(rows: usize) -> Scenario<ClickTable> {
    let before = ClickTable { rows: click_rows(rows) };
    let mut after = before.clone();
    after.rows[rows / 2].value += 1;
    Scenario {
        name: "click",
        before,
        after,
    }
}

/// Allocations of `steps` render+diff steps of a click table of `rows` rows, after warming up.
fn render_and_diff(rows: usize, steps: usize) -> u64 {
    let scenario = click(rows);
    let mut live = scenario.connect();
    for _ in 0..4 {
        live.step();
    }
    allocations_in(|| {
        for _ in 0..steps {
            live.step();
        }
    })
}

/// Allocations of `clicks` clicks through the connection loop, after warming up.
fn round_trips(rows: usize, clicks: u32) -> u64 {
    let mut rt = RoundTrip::connect(rows);
    let id = rows as u32 / 2;
    for _ in 0..40 {
        rt.click(id);
    }
    allocations_in(|| {
        for _ in 0..clicks {
            rt.click(id);
        }
    })
}

#[test]
fn a_click_allocates_nothing_per_row() {
    let _profiler = dhat::Profiler::builder().testing().build();

    let small = render_and_diff(1000, 20);
    let large = render_and_diff(8000, 20);
    println!("render+diff, 20 clicks: {small} allocations at 1000 rows, {large} at 8000 rows");
    // A few per action (the frame, the ops), none per row: 7000 more rows would show as
    // thousands more.
    assert!(large <= small + 20, "{small} at 1000 rows, {large} at 8000 rows");
    assert!(small <= 20 * 8, "{small} allocations for 20 actions");

    let small = round_trips(1000, 64);
    let large = round_trips(8000, 64);
    println!("connection loop, 64 clicks: {small} allocations at 1000 rows, {large} at 8000 rows");
    assert!(large <= small + 64, "{small} at 1000 rows, {large} at 8000 rows");
}
