//! `/server-push`: the seed's Server Push page. Start spawns a task that runs the `tick`
//! action on this browser's connections once a second through `Session::trigger_action`, and
//! stops at the first error, which is how it learns that the tab was closed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use livetemplate::AppBuilder;
use livetemplate::prelude::*;
use serde::Serialize;

/// Time between two ticks.
const TICK: Duration = Duration::from_secs(1);
/// Ticks of one run.
const TICK_COUNT: i64 = 10;

/// Timer tasks alive in this process, shown on the page so a leak is visible (and testable).
static TIMER_TASKS: AtomicUsize = AtomicUsize::new(0);

/// Counts one timer task for as long as it lives, even if it panics.
struct TimerTask;

impl TimerTask {
    fn start() -> Self {
        TIMER_TASKS.fetch_add(1, Ordering::SeqCst);
        TimerTask
    }
}

impl Drop for TimerTask {
    fn drop(&mut self) {
        TIMER_TASKS.fetch_sub(1, Ordering::SeqCst);
    }
}

fn timer_tasks() -> usize {
    TIMER_TASKS.load(Ordering::SeqCst)
}

/// Data of the `tick` action.
#[derive(Serialize)]
struct Tick {
    elapsed: i64,
}

/// Server Push state.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "realtime/server_push.html")]
pub struct ServerPushState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// A timer is ticking. Deliberately not persisted: after a reload mid-run the page shows
    /// the Start view and jumps to "Last completed" when the task finishes. A persisted `true`
    /// with no task left to clear it would leave the page stuck in "running" forever.
    pub running: bool,
    /// Seconds counted so far.
    pub elapsed: i64,
    /// Seconds of one run, from `TICK_COUNT` so the template never disagrees with it.
    pub total: i64,
    /// Timer tasks running in the whole process, as of this render.
    pub tasks: usize,
}

/// Server Push actions.
#[derive(Debug)]
pub struct ServerPushController;

#[actions]
impl ServerPushController {
    async fn mount(&self, state: &mut ServerPushState, _ctx: &mut Context) -> Result<()> {
        state.tasks = timer_tasks();
        Ok(())
    }

    async fn start_timer(&self, state: &mut ServerPushState, ctx: &mut Context) -> Result<()> {
        state.tasks = timer_tasks();
        // A plain form POST (JavaScript off) has no connection to push ticks to: the task
        // would stop at its first tick and leave the page claiming to run.
        if state.running || !ctx.is_live() {
            return Ok(());
        }
        state.running = true;
        state.elapsed = 0;
        state.total = TICK_COUNT;
        let session = ctx.session();
        let task = TimerTask::start();
        state.tasks = timer_tasks();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
            for elapsed in 1..=TICK_COUNT {
                ticker.tick().await;
                // Err means this browser has no live connection on the page any more: the
                // documented way for the task to end, no cancellation channel needed.
                if session.trigger_action("tick", Tick { elapsed }).is_err() {
                    return;
                }
            }
            // The task's work is done; uncount it before the last render so that shows it.
            drop(task);
            // Nothing to recover if the tab closed in the last second.
            let _ = session.trigger_action("timerDone", ());
        });
        Ok(())
    }

    async fn tick(&self, state: &mut ServerPushState, ctx: &mut Context) -> Result<()> {
        state.elapsed = ctx.get_int("elapsed");
        state.tasks = timer_tasks();
        Ok(())
    }

    async fn timer_done(&self, state: &mut ServerPushState, _ctx: &mut Context) -> Result<()> {
        state.running = false;
        state.tasks = timer_tasks();
        Ok(())
    }
}

/// Add `/server-push`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page(
        "/server-push",
        ServerPushController,
        ServerPushState {
            title: "Server Push".into(),
            category: "Real-Time & Multi-User".into(),
            ..Default::default()
        },
    )
}
