//! Persisted state across deploys: a page whose state type changes (a field retyped, added or
//! removed) restores every field it still can and starts the rest from their defaults (their
//! stored values quarantined); corrupt bytes in the store never crash a page. Changes inside
//! a field's type are covered by `persist_evolution.rs`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use livetemplate::GroupId;
use livetemplate::prelude::*;
use livetemplate::store::{MemoryStore, PersistStore};
use livetemplate::testing::TestPage;
use livetemplate_core::page::{Page, PageRoute, load_persisted};
use serde_json::Value;

const PATH: &str = "/schema";

// v1: the first deploy.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>count={{ count }} notes={{ notes }}</p>", ext = "html")]
struct V1 {
    #[lvt(persist)]
    count: i64,
    #[lvt(persist)]
    notes: String,
}

#[derive(Debug)]
struct V1Controller;

#[actions]
impl V1Controller {
    async fn bump(&self, state: &mut V1, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        state.notes = format!("bumped {}", state.count);
        Ok(())
    }
}

// v2: `count` became a String, `notes` unchanged, `tags` added.
#[derive(LiveState, Clone, Debug)]
#[lvt(
    source = "<p>count={{ count }} notes={{ notes }} tags={% for t in tags %}[{{ t }}]{% endfor %}</p>",
    ext = "html"
)]
struct V2 {
    #[lvt(persist)]
    count: String,
    #[lvt(persist)]
    notes: String,
    #[lvt(persist)]
    tags: Vec<String>,
}

fn v2_initial() -> V2 {
    V2 {
        count: "none yet".into(),
        notes: "v2 default".into(),
        tags: vec!["starter".into()],
    }
}

#[derive(Debug)]
struct V2Controller;

#[actions]
impl V2Controller {
    async fn tag(&self, state: &mut V2, _ctx: &mut Context) -> Result<()> {
        state.tags.push(format!("t{}", state.tags.len()));
        state.count = "many".into();
        Ok(())
    }
}

// v3: `count` removed.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = "<p>notes={{ notes }} tags={% for t in tags %}[{{ t }}]{% endfor %}</p>",
    ext = "html"
)]
struct V3 {
    #[lvt(persist)]
    notes: String,
    #[lvt(persist)]
    tags: Vec<String>,
}

#[derive(Debug)]
struct V3Controller;

#[actions]
impl V3Controller {
    async fn noop(&self, _state: &mut V3, _ctx: &mut Context) -> Result<()> {
        Ok(())
    }
}

fn v1() -> Arc<dyn PageRoute> {
    Arc::new(Page::new(PATH, V1Controller, V1::default()))
}
fn v2() -> Arc<dyn PageRoute> {
    Arc::new(Page::new(PATH, V2Controller, v2_initial()))
}
fn v3() -> Arc<dyn PageRoute> {
    Arc::new(Page::new(PATH, V3Controller, V3::default()))
}

#[tokio::test]
async fn a_retyped_field_starts_from_its_default_and_the_others_are_restored() {
    let store: Arc<dyn PersistStore> = Arc::new(MemoryStore::new());
    let group = GroupId::random();

    let mut page = TestPage::mount_route(v1(), store.clone(), group.clone()).await.unwrap();
    for _ in 0..3 {
        assert!(page.act("bump", Value::Null).await.error().is_none());
    }
    assert_eq!(page.html(), "<p>count=3 notes=bumped 3</p>");

    // Deploy v2: `notes` comes back, `count` (now a String) and the new `tags` are defaults.
    let mut page = TestPage::mount_route(v2(), store.clone(), group.clone()).await.unwrap();
    assert_eq!(page.html(), "<p>count=none yet notes=bumped 3 tags=[starter]</p>");
    assert!(page.act("tag", Value::Null).await.error().is_none());
    assert_eq!(page.html(), "<p>count=many notes=bumped 3 tags=[starter][t1]</p>");
    page.reconnect().await.unwrap();
    assert_eq!(page.html(), "<p>count=many notes=bumped 3 tags=[starter][t1]</p>");

    // Deploy v3 (`count` removed): the others are restored, the stale `count` is ignored.
    let mut page = TestPage::mount_route(v3(), store.clone(), group.clone()).await.unwrap();
    assert_eq!(page.html(), "<p>notes=bumped 3 tags=[starter][t1]</p>");
    assert!(page.act("noop", Value::Null).await.error().is_none());

    // Roll back to v1: `count` is stored as a String now, so it starts from 0; `notes` stays.
    let mut page = TestPage::mount_route(v1(), store.clone(), group.clone()).await.unwrap();
    assert_eq!(page.html(), "<p>count=0 notes=bumped 3</p>");
    assert!(page.act("bump", Value::Null).await.error().is_none());
    assert_eq!(page.html(), "<p>count=1 notes=bumped 1</p>");

    // Another group saw none of it.
    let other = TestPage::mount_route(v1(), store.clone(), GroupId::random())
        .await
        .unwrap();
    assert_eq!(other.html(), "<p>count=0 notes=</p>");
}

/// Byte strings a store might hold for a field after a crash, a bug or a hand edit.
fn garbage() -> Vec<Vec<u8>> {
    let mut right_prefix_truncated = b"i64\0".to_vec();
    right_prefix_truncated.push(0xfc); // a bincode varint tag with its bytes missing
    let mut trailing = livetemplate_core::state::encode_field(&5i64).unwrap();
    trailing.extend_from_slice(b"junk");
    let mut bad_utf8 = b"alloc::string::String\0".to_vec();
    bad_utf8.extend_from_slice(&[2, 0xff, 0xfe]);
    // A length prefix claiming a string of i64::MAX bytes.
    let mut huge_len = b"alloc::string::String\0".to_vec();
    huge_len.extend_from_slice(&[0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    vec![
        huge_len,
        Vec::new(),
        vec![0],
        vec![0xff; 64],
        b"i64".to_vec(),
        right_prefix_truncated,
        trailing,
        bad_utf8,
    ]
}

#[tokio::test]
async fn garbage_in_the_store_gives_defaults() {
    for (i, bytes) in garbage().into_iter().enumerate() {
        let store: Arc<dyn PersistStore> = Arc::new(MemoryStore::new());
        let group = GroupId::random();
        store
            .save(&group, PATH, &[("count", bytes.clone()), ("notes", bytes.clone())])
            .await
            .unwrap();
        let mut page = TestPage::mount_route(v1(), store.clone(), group.clone())
            .await
            .unwrap_or_else(|e| panic!("garbage #{i}: mount failed: {e}"));
        assert_eq!(page.html(), "<p>count=0 notes=</p>", "garbage #{i}");
        // The page works and its next save replaces the garbage, which stays quarantined.
        assert!(page.act("bump", Value::Null).await.error().is_none());
        page.reconnect().await.unwrap();
        assert_eq!(page.html(), "<p>count=1 notes=bumped 1</p>", "garbage #{i}");
        let stored = store.load(&group, PATH).await.unwrap();
        for field in ["count@quarantine", "notes@quarantine"] {
            let kept = stored.iter().find(|(k, _)| k == field).map(|(_, v)| v);
            assert_eq!(kept, Some(&bytes), "garbage #{i}: {field}");
        }
    }
}

#[tokio::test]
async fn garbage_written_into_sled_gives_defaults() {
    let dir = std::env::temp_dir().join(format!("lvt-persist-schema-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = livetemplate::store::SledStore::open(&dir).unwrap();
    let group = GroupId::random();
    let good = livetemplate_core::state::encode_field(&String::from("kept")).unwrap();
    store.save(&group, PATH, &[("notes", good)]).await.unwrap();
    // Raw bytes under the field's key, bypassing the store's API.
    let mut key = group.as_str().as_bytes().to_vec();
    key.extend_from_slice(b"\0/schema\0count");
    store.__insert_raw(&key, &[0xde, 0xad, 0xbe, 0xef]).unwrap();

    let mut state = V1 {
        count: 42,
        notes: String::new(),
    };
    load_persisted(&mut state, &store, &group, PATH).await;
    assert_eq!(state.count, 42, "a corrupt field keeps its initial value");
    assert_eq!(state.notes, "kept", "the other field is restored");

    let store: Arc<dyn PersistStore> = Arc::new(store);
    let page = TestPage::mount_route(v1(), store, group).await.unwrap();
    assert_eq!(page.html(), "<p>count=0 notes=kept</p>");
    let _ = std::fs::remove_dir_all(&dir);
}
