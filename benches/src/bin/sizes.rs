//! Prints the size of the frame each bench scenario sends, next to its target.
//!
//! Run with: `cargo run --release -p livetemplate-benches --bin sizes`

use livetemplate_benches::{
    Scenario, counter_increment, inserted_row, row_html, table_cell_changed, table_click_id_first,
    table_click_key_first, table_reversed, table_row_inserted,
};
use livetemplate_core::LiveState;

fn report<S: LiveState>(s: &Scenario<S>, target: Option<usize>) {
    let mut live = s.connect();
    let frame = live.step();
    let verdict = match target {
        Some(t) if frame.len() <= t => format!("target <= {t}: met"),
        Some(t) => format!("target <= {t}: MISSED"),
        None => "no target".to_string(),
    };
    let tree = s.after.render_tree().expect("the bench page renders");
    println!(
        "{:<20} first frame {:>6} B, action frame {:>5} B ({verdict}), askama HTML {:>6} B, tree held {:>6} B",
        s.name,
        live.first_frame.len(),
        frame.len(),
        s.plain_render().len(),
        tree.heap_bytes(),
    );
    if std::env::args().any(|a| a == "--frames") {
        let shown: String = frame.chars().take(200).collect();
        let more = if shown.len() < frame.len() { "…" } else { "" };
        println!("  {shown}{more}");
    }
}

fn main() {
    let row_len = row_html(&inserted_row()).len();
    println!("inserted row HTML: {row_len} B");
    report(&counter_increment(), Some(40));
    report(&table_cell_changed(), Some(80));
    report(&table_row_inserted(), Some(row_len + 40));
    report(&table_reversed(), None);
    report(&table_click_id_first(), Some(60));
    report(&table_click_key_first(), Some(60));
    // The first frame of the 1000-row click table, against pyview's 39.0 KB.
    let first = table_click_id_first().connect().first_frame.len();
    let verdict = if first <= FIRST_FRAME_TARGET { "met" } else { "MISSED" };
    println!("click table first frame: {first} B (target <= {FIRST_FRAME_TARGET} B: {verdict})");
}

/// The 1000-row click table's first frame at most 39 KB (pyview's, in the comparison).
const FIRST_FRAME_TARGET: usize = 39_000;
