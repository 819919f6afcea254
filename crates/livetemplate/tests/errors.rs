//! Failing actions: an `Err` or a panic leaves the state as it was, persists nothing, sends
//! the error, and the connection keeps working.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use serde_json::Value;

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ n }}</p>", ext = "html")]
pub struct Counter {
    #[lvt(persist)]
    pub n: i64,
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
    async fn half_then_panic(&self, s: &mut Counter, _ctx: &mut Context) -> Result<()> {
        s.n += 100;
        let v: Vec<i64> = Vec::new();
        s.n += v[3];
        Ok(())
    }
}

#[tokio::test]
async fn err_and_panic_roll_back_and_the_connection_survives() {
    let mut page = TestPage::mount(Ctrl, Counter::default()).await.unwrap();
    page.act("inc", Value::Null).await;
    let f = page.act("halfThenFail", Value::Null).await;
    assert_eq!(f.error().as_deref(), Some("no"));
    let f = page.act("half_then_panic", Value::Null).await;
    // A panic is internal: the user sees only a reference to the server log.
    assert!(f.error().unwrap().starts_with("internal error (ref "), "{}", f.text());
    assert_eq!(page.html(), "<p>1</p>");
    // Nothing from the failed actions was persisted.
    page.reconnect().await.unwrap();
    assert_eq!(page.html(), "<p>1</p>");
    page.act("inc", Value::Null).await;
    assert_eq!(page.html(), "<p>2</p>");
}

/// An app's own rate limit applies through `TestPage::connect` (here a flood rule that
/// closes at the second throttled message); the frame of an action the server answered by
/// closing says how it closed.
#[tokio::test]
async fn a_closed_connection_is_reported_by_act() {
    let app = livetemplate::App::builder()
        .page("/c", Ctrl, Counter::default())
        .config(|c| {
            c.rate_per_sec = 20.0;
            c.rate_burst = 3.0;
            c.flood_close_after = std::time::Duration::ZERO;
        })
        .build()
        .unwrap();
    let mut page = TestPage::connect(std::sync::Arc::new(app), "/c", livetemplate::GroupId::random())
        .await
        .unwrap();
    let mut closed = None;
    for _ in 0..10 {
        let frame = page.act("inc", Value::Null).await;
        if frame.closed().is_some() {
            closed = Some(frame);
            break;
        }
    }
    let frame = closed.expect("the flood limit closed the connection");
    assert_eq!(frame.closed().unwrap().code, 1008);
    assert!(
        frame.error().unwrap().starts_with("connection closed: 1008"),
        "{:?}",
        frame.error()
    );
    // Acting again on the closed page says so too, without waiting.
    let again = page.act("inc", Value::Null).await;
    assert!(again.closed().is_some());
}

/// `TestPage::mount` lifts the rate limit: hundreds of actions in a row all get answers.
#[tokio::test]
async fn mount_has_no_rate_limit() {
    let mut page = TestPage::mount(Ctrl, Counter::default()).await.unwrap();
    for _ in 0..300 {
        let frame = page.act("inc", Value::Null).await;
        assert!(frame.error().is_none(), "{:?}", frame.error());
    }
    assert_eq!(page.html(), "<p>300</p>");
}

/// A params frame must carry the URL as a string.
#[tokio::test]
async fn a_malformed_params_frame_gets_an_error_and_the_page_goes_on() {
    let mut page = TestPage::mount(Ctrl, Counter::default()).await.unwrap();
    let f = page.send_raw(r#"{"p":5,"r":9}"#).await;
    assert_eq!(
        f.error().as_deref(),
        Some("malformed frame: `p` must be the page's URL (a string)")
    );
    // A page without handle_params answers a good one with an empty reply.
    let f = page.patch("?x=1").await;
    assert_eq!(f.text(), r#"{"r":1}"#);
    page.act("inc", Value::Null).await;
    assert_eq!(page.html(), "<p>1</p>");
}
