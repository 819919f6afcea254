//! The pages the browser benchmark (`js/bench/`) drives: `/rows?n=N`, a keyed table of `N`
//! rows whose `+` buttons bump one row's value, `/counter` (the count in `<strong id="count">`)
//! and `/counter-plain` (the count in a `<p>` with no id). Binds loopback only.
//!
//! Run with: `cargo run --release -p livetemplate-benches --bin bench_pages -- --addr 127.0.0.1:8090`
//! (`--addr` defaults to `127.0.0.1:8090`). `js/bench/README.md` tells how to measure.

use livetemplate::prelude::*;

/// Largest table `/rows` serves.
const MAX_ROWS: usize = 100_000;

/// One row: its id and its value.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// The row's id, its `id="row-N"` and `data-key`.
    pub id: u64,
    /// The value the `+` button bumps.
    pub value: u64,
}

/// The keyed table.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = "<table><tbody>{% for r in rows %}<tr id=\"row-{{ r.id }}\" data-key=\"{{ r.id }}\"><td>{{ r.id }}</td><td>row-{{ r.id }}</td><td>{{ r.value }}</td><td><button lvt-click=\"bump\" lvt-value-id=\"{{ r.id }}\">+</button></td></tr>{% endfor %}</tbody></table>",
    ext = "html"
)]
pub struct Rows {
    /// The rows, ids `1..=n`.
    pub rows: Vec<Row>,
}

/// `/rows` actions.
#[derive(Debug)]
pub struct RowsController;

#[actions]
impl RowsController {
    /// `?n=` rows (default 1000, at most 100,000), values 0.
    async fn handle_params(&self, state: &mut Rows, ctx: &mut Context) -> Result<()> {
        let n = ctx
            .param("n")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(1000)
            .min(MAX_ROWS);
        if state.rows.len() != n {
            state.rows = (1..=n as u64).map(|id| Row { id, value: 0 }).collect();
        }
        Ok(())
    }

    /// Adds one to the value of row `id`.
    async fn bump(&self, state: &mut Rows, ctx: &mut Context) -> Result<()> {
        let id: u64 = ctx
            .get_string("id")
            .parse()
            .map_err(|_| Error::msg("id must be a row number"))?;
        let row = state
            .rows
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::msg("no such row"))?;
        row.value += 1;
        Ok(())
    }
}

/// The counter.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = "<div class=\"counter\"><h1>Counter</h1><p>Count: <strong id=\"count\">{{ count }}</strong></p><button id=\"inc\" lvt-click=\"increment\">+</button></div>",
    ext = "html"
)]
pub struct Counter {
    /// The count.
    pub count: i64,
}

/// `/counter` actions.
#[derive(Debug)]
pub struct CounterController;

#[actions]
impl CounterController {
    /// Adds one.
    async fn increment(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        Ok(())
    }
}

/// The counter with no `id` around its value: the client morphs the whole region for it.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = "<div class=\"counter\"><h1>Counter</h1><p>Count: {{ count }}</p><button id=\"inc\" lvt-click=\"increment\">+</button></div>",
    ext = "html"
)]
pub struct PlainCounter {
    /// The count.
    pub count: i64,
}

/// `/counter-plain` actions.
#[derive(Debug)]
pub struct PlainCounterController;

#[actions]
impl PlainCounterController {
    /// Adds one.
    async fn increment(&self, state: &mut PlainCounter, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8090".to_string();
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--addr", Some(v)) => addr = v,
            _ => {
                eprintln!("usage: bench_pages [--addr 127.0.0.1:8090]");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let app = App::builder()
        .title("livetemplate bench pages")
        .page("/rows", RowsController, Rows::default())
        .page("/counter", CounterController, Counter::default())
        .page("/counter-plain", PlainCounterController, PlainCounter::default())
        .config(|c| c.max_outbound_frame_bytes = 64 << 20)
        .build();
    let app = match app {
        Ok(app) => app,
        Err(err) => {
            eprintln!("cannot start: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("bench pages on http://{addr}/rows?n=1000 and http://{addr}/counter");
    if let Err(err) = livetemplate::serve(&addr, app).await {
        eprintln!("server error: {err}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
