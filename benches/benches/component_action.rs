//! Scenario: a component's action on a page that also holds a 1000-row table, against the
//! same action on a page with nothing else (issue 12: at most 2× the empty page's time). The
//! whole server path through the connection loop: the client frame (with `"t"`) parsed, the
//! instance's action run, the instance alone rendered and diffed, the reply frame.
//!
//! Run with: `cargo bench -p livetemplate-benches --bench component_action`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use livetemplate::prelude::*;
use livetemplate_benches::{ClickRow, RoundTrip, TABLE_ROWS, click_rows, criterion_config};

/// A counter component.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = "<p>{{ label }}: <b>{{ count }}</b> <button name=\"inc\">+</button></p>",
    ext = "html"
)]
pub struct Tally {
    label: String,
    count: u64,
}

/// The counter's controller.
#[derive(Debug)]
pub struct TallyComponent;

#[actions(component)]
impl TallyComponent {
    // The inputs type is `String`: `update` takes `&Inputs`.
    #[allow(clippy::ptr_arg)]
    async fn update(&self, state: &mut Tally, inputs: &String, _ctx: &mut Context) -> Result<()> {
        state.label = inputs.clone();
        Ok(())
    }

    async fn inc(&self, state: &mut Tally, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        Ok(())
    }
}

/// A page with one counter and `rows` table rows.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = "<h1>{{ title }}</h1>{{ live_component::<TallyComponent>(\"tally\", title.clone()) }}<table><tbody>{% for r in rows %}<tr id=\"row-{{ r.id }}\" data-key=\"{{ r.id }}\"><td>{{ r.id }}</td><td>{{ r.label }}</td><td>{{ r.value }}</td></tr>{% endfor %}</tbody></table>",
    ext = "html"
)]
pub struct Board {
    title: String,
    rows: Vec<ClickRow>,
}

/// The page's controller (no action of its own).
#[derive(Debug)]
pub struct BoardCtrl;

#[actions]
impl BoardCtrl {
    async fn mount(&self, _state: &mut Board, _ctx: &mut Context) -> Result<()> {
        Ok(())
    }
}

/// A connection to a board of `rows` rows, its first frame checked to carry the instance.
fn open(rows: usize) -> RoundTrip {
    let board = Board {
        title: "Board".into(),
        rows: click_rows(rows),
    };
    let conn = RoundTrip::open("/board", BoardCtrl, board);
    assert!(conn.first_frame.contains("\"c\":{"), "{}", conn.first_frame);
    conn
}

/// Click the counter's `+`; the reply.
fn inc(conn: &mut RoundTrip) -> String {
    conn.send(r#""a":"inc","t":"tally""#)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("component_action");
    for (name, rows) in [("empty_page", 0), ("page_with_1000_rows", TABLE_ROWS)] {
        let mut conn = open(rows);
        let reply = inc(&mut conn);
        assert!(
            !reply.contains("\"d\""),
            "a component action sends no page diff: {reply}"
        );
        group.bench_function(name, |b| b.iter(|| black_box(inc(&mut conn))));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = bench
}
criterion_main!(benches);
