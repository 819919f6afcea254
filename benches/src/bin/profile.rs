//! Runs one scenario's action (or askama's plain render) in a loop, for a profiler.
//!
//! Run with: `valgrind --tool=callgrind target/release/profile table_cell_changed step 200`
//! (build it with `cargo build --release -p livetemplate-benches --bin profile`; set
//! `CARGO_PROFILE_RELEASE_DEBUG=line-tables-only` for file and line names).
//!
//! `profile table_click_id_first click 200` runs the click table's server round trip
//! (`RoundTrip::click`: the client frame through the connection loop to the reply) instead.

use std::hint::black_box;

use livetemplate_benches::{
    MIDDLE, RoundTrip, Scenario, TABLE_ROWS, counter_increment, table_cell_changed, table_click_id_first,
    table_click_key_first, table_reversed, table_row_inserted,
};
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
    let usage = "usage: profile <counter_increment|table_cell_changed|table_row_inserted|table_reversed|\
                 table_click_id_first|table_click_key_first> <step|plain> [N]\n       \
                 profile table_click_id_first click [N]";
    let (Some(scenario), Some(what)) = (args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let n = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100);
    if what == "click" && scenario == "table_click_id_first" {
        let mut rt = RoundTrip::connect(TABLE_ROWS);
        for _ in 0..n {
            black_box(rt.click(MIDDLE as u32 + 1));
        }
        return;
    }
    match scenario.as_str() {
        "table_click_id_first" => run(&table_click_id_first(), what, n),
        "table_click_key_first" => run(&table_click_key_first(), what, n),
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
