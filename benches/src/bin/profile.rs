//! Runs one scenario's action (or askama's plain render) in a loop, for a profiler.
//!
//! Run with: `valgrind --tool=callgrind target/release/profile table_cell_changed step 200`
//! (build it with `cargo build --release -p livetemplate-benches --bin profile`; set
//! `CARGO_PROFILE_RELEASE_DEBUG=line-tables-only` for file and line names).

use std::hint::black_box;

use livetemplate_benches::{Scenario, counter_increment, table_cell_changed, table_reversed, table_row_inserted};
use livetemplate_core::LiveState;

fn run<S: LiveState>(s: &Scenario<S>, what: &str, n: usize) {
    let mut live = s.connect();
    for i in 0..n {
        match what {
            "step" => black_box(live.step()),
            _ => black_box(s.plain_render_of(i % 2 == 0)),
        };
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: profile <counter_increment|table_cell_changed|table_row_inserted|table_reversed> <step|plain> [N]";
    let (Some(scenario), Some(what)) = (args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let n = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100);
    match scenario.as_str() {
        "counter_increment" => run(&counter_increment(), what, n),
        "table_cell_changed" => run(&table_cell_changed(), what, n),
        "table_row_inserted" => run(&table_row_inserted(), what, n),
        "table_reversed" => run(&table_reversed(), what, n),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
