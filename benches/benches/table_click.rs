//! Scenario: the click of the comparison, one `+` in a 1000-row keyed table whose rows
//! are `<tr id="row-N" data-key="N">…<button lvt-click="bump" lvt-value-id="N">+</button>…</tr>`.
//!
//! - `render_tree+diff_frame/id_first` and `/data_key_first`: the framework's render and diff
//!   for the click with `id` before `data-key` in the row's tag (as the comparison wrote it)
//!   and after it, as in the other scenarios ([`Live::step`]);
//! - `askama_render_html`: askama's render of the same page, the baseline;
//! - `server_round_trip/id_first`: the server's whole path for the click through the
//!   connection loop ([`RoundTrip::click`]): the client frame parsed, the action run on the
//!   state, render, diff, persisting (nothing here) and the reply frame; no socket.
//!
//! Run with: `cargo bench -p livetemplate-benches --bench table_click`
//!
//! [`Live::step`]: livetemplate_benches::Live::step
//! [`RoundTrip::click`]: livetemplate_benches::RoundTrip::click

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use livetemplate_benches::{
    MIDDLE, PlainClickTable, RoundTrip, TABLE_ROWS, criterion_config, table_click_id_first, table_click_key_first,
};

fn bench(c: &mut Criterion) {
    let id_first = table_click_id_first();
    let key_first = table_click_key_first();
    let mut group = c.benchmark_group("table_click");
    let mut live = id_first.connect();
    group.bench_function("render_tree+diff_frame/id_first", |b| b.iter(|| black_box(live.step())));
    let mut live = key_first.connect();
    group.bench_function("render_tree+diff_frame/data_key_first", |b| {
        b.iter(|| black_box(live.step()))
    });
    let mut flip = false;
    group.bench_function("askama_render_html", |b| {
        b.iter(|| {
            flip = !flip;
            black_box(id_first.plain_render_of(flip))
        })
    });
    // Plain askama's template struct of the same page, no live markers: the GET render above
    // (`LiveState::render_html`) against askama's own.
    group.bench_function("askama_plain_struct", |b| {
        b.iter(|| {
            flip = !flip;
            let s = if flip { &id_first.after } else { &id_first.before };
            black_box(PlainClickTable::render_of(s))
        })
    });
    let mut rt = RoundTrip::connect(TABLE_ROWS);
    let id = MIDDLE as u32 + 1;
    group.bench_function("server_round_trip/id_first", |b| b.iter(|| black_box(rt.click(id))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = bench
}
criterion_main!(benches);
