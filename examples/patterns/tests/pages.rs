//! The pattern pages, driven in process through the real frame path.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use example_patterns::pages::{broadcasting, chat, counter, reconnection, thermostat};
use livetemplate::testing::TestPage;
use livetemplate_core::page::Page;
use livetemplate_core::{GroupId, MemoryStore, PageRoute, PersistStore};
use serde_json::{Value, json};

#[tokio::test]
async fn counter_counts_with_small_frames() {
    let init = counter::CounterState {
        title: "Counter".into(),
        ..Default::default()
    };
    let mut page = TestPage::mount(counter::CounterController, init).await.unwrap();
    for _ in 0..3 {
        let f = page.act("increment", Value::Null).await;
        assert!(f.len() <= 40, "{} bytes: {}", f.len(), f.text());
    }
    assert!(
        page.html().contains(r#"<strong id="count">3</strong>"#),
        "{}",
        page.html()
    );
    page.act("decrement", Value::Null).await;
    assert!(page.html().contains(r#"<strong id="count">2</strong>"#));
}

#[tokio::test]
async fn thermostat_steps_by_a_tenth() {
    let init = thermostat::ThermostatState {
        celsius: 19.5,
        ..Default::default()
    };
    let mut page = TestPage::mount(thermostat::ThermostatController, init).await.unwrap();
    assert!(page.html().contains(">19.5<"));
    page.act("tempUp", Value::Null).await;
    page.act("temp-up", Value::Null).await;
    assert!(page.html().contains(">19.7<"), "{}", page.html());
    page.act("tempDown", Value::Null).await;
    page.act("tempDown", Value::Null).await;
    assert!(page.html().contains(">19.5<"));
    let err = page.act("tempSideways", Value::Null).await.error().unwrap();
    assert!(err.contains("tempSideways") && err.contains("temp_up"), "{err}");
}

#[tokio::test]
async fn reconnection_restores_persisted_fields() {
    let store: Arc<dyn PersistStore> = Arc::new(MemoryStore::new());
    let route: Arc<dyn PageRoute> = Arc::new(Page::new(
        "/reconnection",
        reconnection::ReconnectionController,
        reconnection::ReconnectionState::default(),
    ));
    let group = GroupId::random();
    let mut page = TestPage::mount_route(route.clone(), store.clone(), group.clone())
        .await
        .unwrap();
    for _ in 0..3 {
        page.act("increment", Value::Null).await;
    }
    page.act("saveNotes", json!({"notes": "  two\nlines  "})).await;
    page.reconnect().await.unwrap();
    assert!(page.html().contains(r#"<strong id="counter">3</strong>"#));
    assert!(page.html().contains(">\n  two\nlines  </textarea>"), "{}", page.html());
    // Another group starts fresh.
    let other = TestPage::mount_route(route, store, GroupId::random()).await.unwrap();
    assert!(other.html().contains(r#"<strong id="counter">0</strong>"#));
}

/// Send on `/chat` and `/broadcasting` (one rule for both): the text is trimmed, a blank one
/// is ignored, and one over `chat::MAX_TEXT` characters is refused with its length.
#[tokio::test]
async fn chat_pages_trim_ignore_blank_and_refuse_long_messages() {
    let too_long = "é".repeat(chat::MAX_TEXT + 1);
    let chat = chat::ChatState {
        username: "ann".into(),
        ..Default::default()
    };
    let mut page = TestPage::mount(chat::ChatController, chat).await.unwrap();
    page.act("send", json!({"text": "  hello  "})).await;
    assert!(
        page.html().contains(r#"<span class="text">hello</span>"#),
        "{}",
        page.html()
    );
    let before = page.html();
    assert!(page.act("send", json!({"text": "   "})).await.error().is_none());
    assert_eq!(page.html(), before);
    let err = page.act("send", json!({ "text": too_long })).await.error().unwrap();
    assert!(err.contains("at most 2000 characters (this one has 2001)"), "{err}");
    assert_eq!(page.html(), before);

    let broadcasting = broadcasting::BroadcastingState {
        username: "bob".into(),
        ..Default::default()
    };
    let ctrl = broadcasting::BroadcastingController::default();
    let mut page = TestPage::mount(ctrl, broadcasting).await.unwrap();
    page.act("send", json!({"text": "  hi  "})).await;
    assert!(page.html().contains("<strong>bob:</strong> hi</p>"), "{}", page.html());
    let before = page.html();
    assert!(page.act("send", json!({"text": ""})).await.error().is_none());
    assert_eq!(page.html(), before);
    let err = page.act("send", json!({ "text": too_long })).await.error().unwrap();
    assert!(err.contains("at most 2000 characters (this one has 2001)"), "{err}");
    assert_eq!(page.html(), before);
}
