//! A persisted value that cannot be read (a `String` field that became a `u64`) is
//! quarantined: kept byte for byte under `code@quarantine` across later successful actions and
//! restarts, logged at ERROR once and reported to the app's hook once; a later deploy with a
//! migration reads it back after `restore_quarantined`. A real sled store on disk.

#![allow(clippy::unwrap_used)]
// The modules stand for the crates of successive deploys, so their items are `pub`.
#![allow(unreachable_pub)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use livetemplate::prelude::*;
use livetemplate::store::{PersistStore, SledStore};
use livetemplate::testing::TestPage;
use livetemplate::{Controller, GroupId};
use livetemplate_core::persist::{self, PersistError};
use serde_json::{Value, json};

const PATH: &str = "/codes";

/// A store directory removed when the test ends.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("lvt-quarantine-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Dir(p)
    }

    /// Open a page of `controller` on this store, for `group`, as a freshly started server.
    async fn open<C: Controller>(&self, group: &GroupId, controller: C, initial: C::State) -> TestPage {
        let app = App::builder()
            .store(SledStore::open(&self.0).unwrap())
            .page(PATH, controller, initial)
            .build()
            .unwrap();
        TestPage::connect(Arc::new(app), PATH, group.clone()).await.unwrap()
    }

    /// Every key the store holds for `group` on the page, with its bytes.
    async fn raw(&self, group: &GroupId) -> std::collections::HashMap<String, Vec<u8>> {
        let store = SledStore::open(&self.0).unwrap();
        store.load(group, PATH).await.unwrap().into_iter().collect()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Stop a server: close the page's connection and drop its app (and store).
async fn stop(mut page: TestPage) {
    page.close().await;
    drop(page);
}

#[path = "support/codes.rs"]
mod codes;
use codes::{code1, code2};

mod code3 {
    use livetemplate::prelude::*;

    /// The fix deployed later: version 2 reads the old strings by their length.
    pub fn from_text(old: serde_json::Value, _from: u32) -> std::result::Result<u64, String> {
        Ok(old.as_str().ok_or("not text")?.len() as u64)
    }

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(source = "<p>{{ code }}</p>", ext = "html")]
    pub struct Code {
        #[lvt(persist(version = 2, migrate = from_text))]
        pub code: u64,
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn noop(&self, _state: &mut Code, _ctx: &mut Context) -> Result<()> {
            Ok(())
        }
    }
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn errors(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains("ERROR") && l.contains("code"))
            .map(str::to_string)
            .collect()
    }
}

#[tokio::test]
async fn an_unreadable_value_is_quarantined_and_never_overwritten() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    // Global: a thread-local subscriber can miss events whose call sites another thread
    // registered first. This file holds this one test, so the log is its own.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let dir = Dir::new("quarantine");
    let group = GroupId::random();
    let mut page = dir.open(&group, code1::Ctl, code1::Code::default()).await;
    assert!(page.act("set", json!({"code": "abc"})).await.error().is_none());
    stop(page).await;
    let original = dir.raw(&group).await;
    assert!(log.errors().is_empty());

    let events: Arc<Mutex<Vec<PersistError>>> = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = {
        let events = events.clone();
        let calls = calls.clone();
        App::builder()
            .store(SledStore::open(&dir.0).unwrap())
            .page(PATH, code2::Ctl, code2::Code::default())
            .on_persist_error(move |e| {
                calls.fetch_add(1, Ordering::SeqCst);
                events.lock().unwrap().push(e.clone());
            })
            .build()
            .unwrap()
    };
    let app = Arc::new(app);
    // Several views and page loads: the value is reported once.
    let mut page = TestPage::connect(app.clone(), PATH, group.clone()).await.unwrap();
    assert_eq!(page.html(), "<p>0 0</p>");
    assert!(page.act("click", Value::Null).await.error().is_none());
    let mut other = TestPage::connect(app.clone(), PATH, group.clone()).await.unwrap();
    assert_eq!(other.html(), "<p>0 0</p>");
    // A successful action saves the field: the quarantined copy stays.
    assert!(page.act("set", json!({"code": 42})).await.error().is_none());
    assert!(other.act("click", Value::Null).await.error().is_none());
    page.reconnect().await.unwrap();
    assert_eq!(page.html(), "<p>42 0</p>");
    assert!(page.act("set", json!({"code": 43})).await.error().is_none());
    page.close().await;
    other.close().await;
    drop((page, other, app));

    assert_eq!(calls.load(Ordering::SeqCst), 1, "the hook is called once");
    let event = events.lock().unwrap()[0].clone();
    assert_eq!(event.page(), PATH);
    assert_eq!(event.group(), &group);
    assert_eq!(event.field(), "code");
    assert_eq!(event.quarantine_key(), Some("code@quarantine"));
    assert_eq!(event.stored_version(), Some(1));
    assert_eq!(event.stored_shape(), Some("{\"root\":\"Str\",\"types\":{}}"));
    assert!(event.reason().contains("does not fit"), "{}", event.reason());
    let errors = log.errors();
    assert_eq!(errors.len(), 1, "one ERROR line: {errors:#?}");
    assert!(errors[0].contains("code@quarantine"), "{}", errors[0]);

    let raw = dir.raw(&group).await;
    assert_eq!(raw["code@quarantine"], original["code"], "kept byte for byte");
    assert_eq!(raw["code@quarantine@shape"], original["code@shape"]);
    assert_ne!(raw["code"], original["code"], "the field itself holds the new value");
    assert_eq!(
        persist::to_json(&raw["code@quarantine"], &raw["code@quarantine@shape"]).unwrap(),
        json!("abc")
    );

    // Another restart with the same code: still one report in total (the store remembers).
    let page = dir.open(&group, code2::Ctl, code2::Code::default()).await;
    assert_eq!(page.html(), "<p>43 0</p>");
    stop(page).await;
    assert_eq!(log.errors().len(), 1);

    // A later deploy adds a migration, and the operator restores the kept value.
    let store = SledStore::open(&dir.0).unwrap();
    persist::restore_quarantined(&store, &group, PATH, "code", "code@quarantine")
        .await
        .unwrap();
    drop(store);
    let page = dir.open(&group, code3::Ctl, code3::Code::default()).await;
    assert_eq!(page.html(), "<p>3</p>");
    stop(page).await;
}
