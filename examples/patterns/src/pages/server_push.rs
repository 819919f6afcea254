//! `/server-push`: the seed's Server Push page. Start spawns a task that runs the `tick`
//! action on this browser's connections once a second through `Session::trigger_action`, and
//! stops when nobody receives the ticks any more, which is how it learns that the tabs closed.
//!
//! `trigger_action` reaches every tab of the browser's session group on the page, so the run
//! belongs to the group, not to the tab that clicked Start: the controller keeps the runs by
//! group, each tick carries the elapsed seconds, and a tab opened or reloaded mid-run shows
//! the run from its first render.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use livetemplate::prelude::*;
use livetemplate::{AppBuilder, GroupId};
use serde::Serialize;

/// Time between two ticks.
const TICK: Duration = Duration::from_secs(1);
/// Ticks of one run.
const TICK_COUNT: i64 = 10;
/// Ticks in a row that may reach no tab before the task gives up. One is forgiven: a reload
/// closes the tab's connection a moment before the new page opens its own.
const MISSES_TO_STOP: u32 = 2;

/// The running timers by session group, with the seconds each has counted. One per group at
/// most: Start in any tab of a group that has one shows it instead of starting another.
#[derive(Clone, Debug, Default)]
struct Runs(Arc<Mutex<HashMap<GroupId, i64>>>);

impl Runs {
    fn lock(&self) -> MutexGuard<'_, HashMap<GroupId, i64>> {
        // A panic while holding the lock cannot leave a map entry half-written; keep serving.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seconds counted by `group`'s timer, if it has one running.
    fn elapsed(&self, group: &GroupId) -> Option<i64> {
        self.lock().get(group).copied()
    }

    /// Timers running in the whole process: shown on the page so a leaked task is visible
    /// (and testable).
    fn count(&self) -> usize {
        self.lock().len()
    }

    /// Register a timer for `group`; `None` when the group already has one.
    fn start(&self, group: &GroupId) -> Option<Run> {
        let mut runs = self.lock();
        if runs.contains_key(group) {
            return None;
        }
        runs.insert(group.clone(), 0);
        Some(Run {
            runs: self.clone(),
            group: group.clone(),
        })
    }
}

/// One group's timer, registered in [`Runs`] for as long as its task holds it, even if the
/// task panics.
struct Run {
    runs: Runs,
    group: GroupId,
}

impl Run {
    /// Record the seconds counted, for tabs that open from now on.
    fn set_elapsed(&self, elapsed: i64) {
        if let Some(e) = self.runs.lock().get_mut(&self.group) {
            *e = elapsed;
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.runs.lock().remove(&self.group);
    }
}

/// Data of the `tick` and `timerDone` actions: every tab shows the task's count, whenever it
/// opened.
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
    /// The group's timer is ticking: read from the controller's runs on mount and set by
    /// every tick, so all tabs agree. Not persisted: a persisted `true` with no task left to
    /// clear it (after a server restart) would leave the page stuck in "running".
    pub running: bool,
    /// Seconds counted so far, as the task last pushed them.
    pub elapsed: i64,
    /// Seconds of one run, from `TICK_COUNT` so the template never disagrees with it.
    pub total: i64,
    /// Timer tasks running in the whole process, as of this render.
    pub tasks: usize,
}

impl ServerPushState {
    /// Show `elapsed` seconds of a run in progress.
    fn show_running(&mut self, elapsed: i64) {
        self.running = true;
        self.elapsed = elapsed;
        self.total = TICK_COUNT;
    }
}

/// Server Push actions; owns the running timers.
#[derive(Debug, Default)]
pub struct ServerPushController {
    runs: Runs,
}

#[actions]
impl ServerPushController {
    async fn mount(&self, state: &mut ServerPushState, ctx: &mut Context) -> Result<()> {
        // A live connection is registered before its mount, so the ticks after this read
        // reach it: it never misses one, nor shows a count older than the one it read.
        if let Some(elapsed) = self.runs.elapsed(ctx.group()) {
            state.show_running(elapsed);
        }
        state.tasks = self.runs.count();
        Ok(())
    }

    async fn start_timer(&self, state: &mut ServerPushState, ctx: &mut Context) -> Result<()> {
        // Another tab of this browser started it (this tab's view may predate that): show it.
        if let Some(elapsed) = self.runs.elapsed(ctx.group()) {
            state.show_running(elapsed);
            state.tasks = self.runs.count();
            return Ok(());
        }
        // A plain form POST (JavaScript off) has no connection to push ticks to: the task
        // would stop at its first ticks and leave the page claiming to run.
        if !ctx.is_live() {
            state.tasks = self.runs.count();
            return Ok(());
        }
        // Claimed under the lock: two tabs clicking Start at once still start one timer. The
        // loser's tab switches to the run with the winner's first `tick`, queued after this.
        let Some(run) = self.runs.start(ctx.group()) else {
            state.tasks = self.runs.count();
            return Ok(());
        };
        state.show_running(0);
        state.tasks = self.runs.count();
        let session = ctx.session();
        tokio::spawn(async move {
            // The group's other open tabs switch to the running view now, not a second later
            // (this one runs it too, once `start_timer` returned, and shows 0 already).
            let _ = session.trigger_action("tick", Tick { elapsed: 0 }).await;
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
            let mut missed = 0;
            for elapsed in 1..=TICK_COUNT {
                ticker.tick().await;
                // Recorded first, so a tab opening between the two shows this count.
                run.set_elapsed(elapsed);
                // Err means this browser has no live connection on the page: the documented
                // way for the task to end, no cancellation channel needed. It gives up at the
                // second tick in a row that nobody received.
                if session.trigger_action("tick", Tick { elapsed }).await.is_ok() {
                    missed = 0;
                } else {
                    missed += 1;
                    if missed == MISSES_TO_STOP {
                        return;
                    }
                }
            }
            // Unregistered before `timerDone`: a tab opening from now on shows the Start view,
            // and one that read the run before is already connected and gets `timerDone`. The
            // last render then counts the tasks without this one.
            drop(run);
            // Nothing to recover if the tabs closed in the last second.
            let _ = session.trigger_action("timerDone", Tick { elapsed: TICK_COUNT }).await;
        });
        Ok(())
    }

    #[lvt(server)]
    async fn tick(&self, state: &mut ServerPushState, ctx: &mut Context) -> Result<()> {
        state.show_running(ctx.get_int("elapsed"));
        state.tasks = self.runs.count();
        Ok(())
    }

    #[lvt(server)]
    async fn timer_done(&self, state: &mut ServerPushState, ctx: &mut Context) -> Result<()> {
        state.running = false;
        state.elapsed = ctx.get_int("elapsed");
        state.tasks = self.runs.count();
        Ok(())
    }
}

/// Add `/server-push`.
pub fn register(b: AppBuilder) -> AppBuilder {
    b.page(
        "/server-push",
        ServerPushController::default(),
        ServerPushState {
            title: "Server Push".into(),
            category: "Real-Time & Multi-User".into(),
            ..Default::default()
        },
    )
}
