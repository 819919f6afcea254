//! An action copies none of the page's state; a failed action answers its error, saves
//! nothing and leaves the client's page as it was, and the state keeps what the action did
//! before failing.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::sync::atomic::{AtomicUsize, Ordering};

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use serde_json::Value;

/// Copies of any [`Copies`] made so far.
static COPIES: AtomicUsize = AtomicUsize::new(0);

/// A field that counts how often the state holding it is cloned.
#[derive(Debug, Default)]
pub struct Copies;

impl Clone for Copies {
    fn clone(&self) -> Self {
        COPIES.fetch_add(1, Ordering::SeqCst);
        Copies
    }
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ n }}</p>", ext = "html")]
pub struct Counter {
    pub n: i64,
    pub copies: Copies,
}

pub struct Ctrl;

#[actions]
impl Ctrl {
    async fn inc(&self, s: &mut Counter, _ctx: &mut Context) -> Result<()> {
        s.n += 1;
        Ok(())
    }
    async fn half_then_fail(&self, s: &mut Counter, _ctx: &mut Context) -> Result<()> {
        s.n += 100;
        Err(Error::msg("no"))
    }
}

#[tokio::test]
async fn no_copy_per_action_and_a_failure_keeps_the_client_page() {
    let mut page = TestPage::mount(Ctrl, Counter::default()).await.unwrap();
    let before = COPIES.load(Ordering::SeqCst);
    page.act("inc", Value::Null).await;
    assert_eq!(
        COPIES.load(Ordering::SeqCst) - before,
        0,
        "copies of the state for one action"
    );
    let before = COPIES.load(Ordering::SeqCst);
    let f = page.act("half_then_fail", Value::Null).await;
    assert_eq!(f.error().as_deref(), Some("no"));
    assert_eq!(
        COPIES.load(Ordering::SeqCst) - before,
        0,
        "copies of the state for a failed action"
    );
    // The failed action's frame carries only the error: the page is unchanged.
    assert_eq!(f.json().get("d"), None);
    assert_eq!(page.html(), "<p>1</p>");
    // What the action did before failing is in the state: the next frame shows it.
    page.act("inc", Value::Null).await;
    assert_eq!(page.html(), "<p>102</p>");
}
