//! SledStore behaviour: round trips, per-field keys, idle expiry, raw bytes, group commit.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use livetemplate_core::{GroupId, PersistStore};
use livetemplate_sled::SledStore;

/// A fresh directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lvt-sled-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sorted(mut fields: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    fields.sort();
    fields
}

fn field(name: &str, value: &[u8]) -> (String, Vec<u8>) {
    (name.to_string(), value.to_vec())
}

#[tokio::test]
async fn sled_passes_the_store_conformance_suite() {
    let dir = TempDir::new("conformance");
    let store = SledStore::open(&dir.0).unwrap();
    livetemplate_core::testing::store_conformance(&store).await;
}

#[tokio::test]
async fn save_then_load_round_trips_across_reopen() {
    let dir = TempDir::new("roundtrip");
    let g = GroupId::random();
    {
        let store = SledStore::open(&dir.0).unwrap();
        assert!(store.load(&g, "/counter").await.unwrap().is_empty());
        store
            .save(&g, "/counter", &[("count", vec![1, 2, 3]), ("notes", b"hi".to_vec())])
            .await
            .unwrap();
        assert_eq!(
            sorted(store.load(&g, "/counter").await.unwrap()),
            vec![field("count", &[1, 2, 3]), field("notes", b"hi")]
        );
    }
    let store = SledStore::open(&dir.0).unwrap();
    assert_eq!(
        sorted(store.load(&g, "/counter").await.unwrap()),
        vec![field("count", &[1, 2, 3]), field("notes", b"hi")]
    );
    // Other pages and groups see nothing, including pages whose path is a prefix.
    assert!(store.load(&g, "/count").await.unwrap().is_empty());
    assert!(store.load(&GroupId::random(), "/counter").await.unwrap().is_empty());
}

#[tokio::test]
async fn fields_are_stored_independently() {
    let dir = TempDir::new("fields");
    let store = SledStore::open(&dir.0).unwrap();
    let g = GroupId::random();
    store.save(&g, "/p", &[("a", vec![1]), ("b", vec![2])]).await.unwrap();
    // Saving only `b` (a deploy that dropped `a` from the state) leaves `a` as it was.
    store.save(&g, "/p", &[("b", vec![20]), ("c", vec![3])]).await.unwrap();
    assert_eq!(
        sorted(store.load(&g, "/p").await.unwrap()),
        vec![field("a", &[1]), field("b", &[20]), field("c", &[3])]
    );
    // A different page of the same group is separate.
    store.save(&g, "/q", &[("a", vec![9])]).await.unwrap();
    assert_eq!(store.load(&g, "/p").await.unwrap()[0], field("a", &[1]));
    assert_eq!(store.load(&g, "/q").await.unwrap(), vec![field("a", &[9])]);
}

#[test]
fn expiry_deletes_only_idle_groups() {
    // Opened outside a runtime: the store's hourly sweep (whose first run starts at once)
    // cannot delete the idle group before this test's own sweeps count it.
    let dir = TempDir::new("expiry");
    let store = SledStore::builder(&dir.0)
        .idle_expiry(Duration::from_secs(3600))
        .open()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        assert_eq!(store.idle_expiry(), Duration::from_secs(3600));
        let idle = GroupId::random();
        let busy = GroupId::random();
        for g in [&idle, &busy] {
            store.save(g, "/a", &[("x", vec![1])]).await.unwrap();
            store.save(g, "/b", &[("y", vec![2])]).await.unwrap();
        }
        // Pretend `idle` was last used two hours ago.
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        store.__set_last_access(&idle, now - 7200).unwrap();

        assert_eq!(store.expire_idle(Duration::from_secs(3 * 3600)).unwrap(), 0);
        assert_eq!(store.expire_idle(store.idle_expiry()).unwrap(), 1);
        assert!(store.load(&idle, "/a").await.unwrap().is_empty());
        assert!(store.load(&idle, "/b").await.unwrap().is_empty());
        assert_eq!(store.load(&busy, "/a").await.unwrap(), vec![field("x", &[1])]);
        assert_eq!(store.load(&busy, "/b").await.unwrap(), vec![field("y", &[2])]);
        // Nothing left under the idle group's prefix, and a second sweep finds nothing.
        let mut p = idle.as_str().as_bytes().to_vec();
        p.push(0);
        assert_eq!(store.__count_raw(&p), 0);
        assert_eq!(store.expire_idle(store.idle_expiry()).unwrap(), 0);
        // The expired group can come back.
        store.save(&idle, "/a", &[("x", vec![5])]).await.unwrap();
        assert_eq!(store.load(&idle, "/a").await.unwrap(), vec![field("x", &[5])]);
        assert_eq!(store.expire_idle(store.idle_expiry()).unwrap(), 0);
    });
}

#[tokio::test]
async fn groups_from_before_access_times_get_one_on_open() {
    let dir = TempDir::new("backfill");
    let g = GroupId::random();
    {
        let store = SledStore::open(&dir.0).unwrap();
        store.save(&g, "/a", &[("x", vec![1])]).await.unwrap();
        store.__forget_access_times().unwrap();
    }
    let store = SledStore::open(&dir.0).unwrap();
    assert!(store.__has_last_access(&g).unwrap());
    assert_eq!(store.expire_idle(Duration::from_secs(60)).unwrap(), 0);
    assert_eq!(store.load(&g, "/a").await.unwrap(), vec![field("x", &[1])]);
}

#[test]
fn opens_and_sweeps_without_a_runtime() {
    let dir = TempDir::new("noruntime");
    let store = SledStore::open(&dir.0).unwrap();
    assert_eq!(store.expire_idle(store.idle_expiry()).unwrap(), 0);
}

#[tokio::test]
async fn garbage_bytes_load_back_verbatim() {
    let dir = TempDir::new("garbage");
    let store = SledStore::open(&dir.0).unwrap();
    let g = GroupId::random();
    let mut key = g.as_str().as_bytes().to_vec();
    key.extend_from_slice(b"\0/p\0count");
    store.__insert_raw(&key, &[0xff, 0x00, 0x13, 0x37]).unwrap();
    assert_eq!(
        store.load(&g, "/p").await.unwrap(),
        vec![field("count", &[0xff, 0x00, 0x13, 0x37])]
    );
}

#[tokio::test]
async fn concurrent_saves_share_flushes() {
    let dir = TempDir::new("groupcommit");
    let store = SledStore::open(&dir.0).unwrap();
    let groups: Vec<GroupId> = (0..64).map(|_| GroupId::random()).collect();
    let before = store.flush_count();
    // All 64 saves are applied before the first flush finishes: one flush covers the first,
    // a second covers the rest.
    let fields = [("n", vec![7])];
    let saves = groups.iter().map(|g| store.save(g, "/p", &fields));
    for r in futures_util::future::join_all(saves).await {
        r.unwrap();
    }
    let flushes = store.flush_count() - before;
    assert!((1..=3).contains(&flushes), "64 concurrent saves ran {flushes} flushes");
    for g in &groups {
        assert_eq!(store.load(g, "/p").await.unwrap(), vec![field("n", &[7])]);
    }
    // A lone save still flushes once.
    let before = store.flush_count();
    store.save(&groups[0], "/p", &[("n", vec![8])]).await.unwrap();
    assert_eq!(store.flush_count() - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_saves_on_many_threads_share_flushes() {
    let dir = TempDir::new("groupcommit-mt");
    let store = SledStore::open(&dir.0).unwrap();
    let before = store.flush_count();
    let writers: u8 = 32;
    let rounds: u8 = 10;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..writers {
        let store = store.clone();
        tasks.spawn(async move {
            let g = GroupId::random();
            for i in 0..rounds {
                store.save(&g, "/p", &[("n", vec![i])]).await.unwrap();
                assert_eq!(store.load(&g, "/p").await.unwrap(), vec![field("n", &[i])]);
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let flushes = store.flush_count() - before;
    let saves = u64::from(writers) * u64::from(rounds);
    println!("{saves} saves by {writers} writers: {flushes} flushes");
    assert!(flushes < saves / 2, "{saves} saves ran {flushes} flushes");
}

#[tokio::test]
async fn flush_makes_everything_durable() {
    let dir = TempDir::new("flush");
    let store = SledStore::open(&dir.0).unwrap();
    let before = store.flush_count();
    store.flush().await.unwrap();
    assert_eq!(store.flush_count() - before, 1);
}

/// The server's own records (the generated key that signs group cookies) never expire, however
/// long they sit unread: losing them would end every session.
///
/// The store is opened outside a runtime, so its hourly sweep (whose first run starts at once)
/// cannot delete the idle group before this test's own sweep counts it.
#[test]
fn the_server_group_never_expires() {
    let dir = TempDir::new("server-group");
    let store = SledStore::open(&dir.0).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let server = GroupId::server();
    let idle = GroupId::random();
    rt.block_on(store.save(&server, "lvt:key", &[("k", vec![9])])).unwrap();
    rt.block_on(store.save(&idle, "/a", &[("x", vec![1])])).unwrap();
    for g in [&server, &idle] {
        store.__set_last_access(g, 0).unwrap();
    }
    assert_eq!(store.expire_idle(Duration::from_secs(60)).unwrap(), 1);
    assert!(rt.block_on(store.load(&idle, "/a")).unwrap().is_empty());
    assert_eq!(
        rt.block_on(store.load(&server, "lvt:key")).unwrap(),
        vec![field("k", &[9])]
    );
}
