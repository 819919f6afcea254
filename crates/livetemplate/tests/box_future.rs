//! The future the user-implemented traits return is nameable where users find those traits:
//! `livetemplate::BoxFuture` for a hand-written `Controller`, `store::BoxFuture` and
//! `pubsub::BoxFuture` (the same item) for stores and brokers.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;
use livetemplate::pubsub::{Deliver, Envelope, PubSubTransport};
use livetemplate::testing::TestPage;
use livetemplate::{BoxFuture, Controller};

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ n }}</p>", ext = "html")]
pub struct Count {
    pub n: i64,
}

/// A controller written without `#[actions]`.
pub struct ByHand;

impl Controller for ByHand {
    type State = Count;

    fn action_names(&self) -> &'static [&'static str] {
        &["add"]
    }

    fn call<'a>(&'a self, name: &'a str, state: &'a mut Count, _ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match name {
                "add" => {
                    state.n += 1;
                    Ok(())
                }
                other => Err(Error::msg(format!("no action {other}"))),
            }
        })
    }
}

/// A broker that drops everything, its `publish` typed with `pubsub::BoxFuture`.
#[derive(Debug, Default)]
struct Nowhere;

impl PubSubTransport for Nowhere {
    fn start(&self, _deliver: Deliver) {}

    fn publish(&self, _env: Envelope) -> livetemplate::pubsub::BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn a_hand_written_controller_runs() {
    let mut page = TestPage::mount(ByHand, Count::default()).await.unwrap();
    page.act("add", serde_json::json!({})).await;
    assert_eq!(page.html(), "<p>1</p>");
}

#[tokio::test]
async fn a_broker_typed_with_the_reexport_is_a_transport() {
    let app = App::builder()
        .pubsub(Nowhere)
        .page("/c", ByHand, Count::default())
        .build();
    assert!(app.is_ok());
}
