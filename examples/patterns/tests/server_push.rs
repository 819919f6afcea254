//! `/server-push` in process: one timer per session group, shared by its tabs, surviving a
//! reload's gap and ending when the group's tabs are gone. Runs on the real clock (about 6 s).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use example_patterns::pages::server_push;
use livetemplate::testing::TestPage;
use livetemplate::{App, GroupId};
use serde_json::Value;

const PATH: &str = "/server-push";

/// What a tab shows: the running count (`None` in the Start view) and the task count.
fn shown(page: &TestPage) -> (Option<i64>, usize) {
    let html = page.html();
    let number = |after: &str, until: char| -> Option<i64> {
        let rest = &html[html.find(after)? + after.len()..];
        rest[..rest.find(until)?].trim().parse().ok()
    };
    let running = number(r#"<strong id="elapsed">"#, '<');
    let tasks = number("Timer tasks running on the server:", '<').unwrap();
    (running, usize::try_from(tasks).unwrap())
}

/// Applies pushed frames until the tab shows a running count of at least `at_least`.
async fn wait_running(page: &mut TestPage, at_least: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let (Some(n), _) = shown(page)
            && n >= at_least
        {
            return n;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            page.next_push(left).await.is_some(),
            "no count of {at_least} within 5 s: {}",
            page.html()
        );
    }
}

/// Task count as a tab of another browser sees it on its first render.
async fn tasks(app: &Arc<App>) -> usize {
    let mut page = TestPage::connect(app.clone(), PATH, GroupId::random()).await.unwrap();
    let (_, tasks) = shown(&page);
    page.close().await;
    tasks
}

#[tokio::test]
async fn tabs_of_a_group_share_one_timer_that_ends_with_them() {
    let app = Arc::new(server_push::register(App::builder()).build().unwrap());
    let group = GroupId::random();

    let mut one = TestPage::connect(app.clone(), PATH, group.clone()).await.unwrap();
    assert_eq!(shown(&one), (None, 0));
    one.act("startTimer", Value::Null).await;
    assert_eq!(shown(&one), (Some(0), 1));

    // A second tab opens on the run, and its Start starts nothing.
    let mut two = TestPage::connect(app.clone(), PATH, group.clone()).await.unwrap();
    assert_eq!(shown(&two).0.map(|n| n <= 1), Some(true), "{}", two.html());
    two.act("startTimer", Value::Null).await;
    assert_eq!(shown(&two).1, 1, "{}", two.html());
    let n = wait_running(&mut one, 1).await;
    assert_eq!(wait_running(&mut two, n).await, n, "both tabs show the task's count");
    assert_eq!(tasks(&app).await, 1);

    // Right after a tick every tab closes, and one comes back after the next tick (a reload
    // in the wrong moment): that tick reached nobody, yet the run goes on, at its count.
    let n = wait_running(&mut one, n + 1).await;
    one.close().await;
    two.close().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut back = TestPage::connect(app.clone(), PATH, group.clone()).await.unwrap();
    let resumed = shown(&back).0.unwrap();
    assert!(resumed > n, "came back at {resumed} after {n}");
    wait_running(&mut back, resumed + 1).await;

    // Gone for good: the task ends within two ticks.
    back.close().await;
    let closed = Instant::now();
    while tasks(&app).await > 0 {
        assert!(
            closed.elapsed() < Duration::from_millis(2500),
            "the task outlived its tabs"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fresh = TestPage::connect(app.clone(), PATH, group).await.unwrap();
    assert_eq!(shown(&fresh), (None, 0), "{}", fresh.html());
}
