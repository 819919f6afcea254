//! An action copies the page's state once (the copy a failure goes back to), not twice.

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
async fn one_copy_per_action_and_a_failure_still_rolls_back() {
    let mut page = TestPage::mount(Ctrl, Counter::default()).await.unwrap();
    let before = COPIES.load(Ordering::SeqCst);
    page.act("inc", Value::Null).await;
    assert_eq!(
        COPIES.load(Ordering::SeqCst) - before,
        1,
        "copies of the state for one action"
    );
    let before = COPIES.load(Ordering::SeqCst);
    let f = page.act("half_then_fail", Value::Null).await;
    assert_eq!(f.error().as_deref(), Some("no"));
    assert_eq!(
        COPIES.load(Ordering::SeqCst) - before,
        1,
        "copies of the state for a failed action"
    );
    assert_eq!(page.html(), "<p>1</p>");
}
