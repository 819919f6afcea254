//! A [`PersistStore`] on sled 0.34, the embedded default store of livetemplate.
//!
//! Keys are `group \0 page \0 field`; each persisted field is its own key, so a deploy that
//! adds or removes a field leaves the others readable. Beside a field the core writes its
//! shape (`field@shape`) and, for values it could not read, quarantine copies
//! (`field@quarantine`); see `livetemplate_core::persist`.
//!
//! Saves are durable on return, and concurrent saves share flushes (group commit). Groups not
//! used for the idle limit (default 30 days) are deleted by [`SledStore::expire_idle`]: when
//! the store is opened inside a tokio runtime it runs that hourly on its own; otherwise the app
//! calls it, e.g. from a timer thread.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> livetemplate_core::Result<()> {
//! use livetemplate_core::{GroupId, PersistStore};
//! let dir = std::env::temp_dir().join(format!("lvt-doc-{}", std::process::id()));
//! let store = livetemplate_sled::SledStore::open(&dir)?;
//! let g = GroupId::random();
//! store.save(&g, "/counter", &[("count", vec![1, 2, 3])]).await?;
//! assert_eq!(store.load(&g, "/counter").await?, vec![("count".to_string(), vec![1, 2, 3])]);
//! # drop(store); let _ = std::fs::remove_dir_all(&dir);
//! # Ok(()) }
//! ```

mod expiry;
mod flusher;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use livetemplate_core::store::Fields;
use livetemplate_core::{BoxFuture, Error, GroupId, PersistStore, Result};

pub use expiry::ACCESS_TREE;
use expiry::AccessLog;
use flusher::Flusher;

/// Groups idle longer than this are deleted unless the builder says otherwise.
pub const DEFAULT_IDLE_EXPIRY: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// How often the background task (inside a tokio runtime) deletes idle groups.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Persisted fields in a sled database.
///
/// Cloning is cheap and shares the database.
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    access: AccessLog,
    flusher: Flusher,
    idle_expiry: Duration,
    expiry_task: Option<tokio::task::AbortHandle>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = &self.expiry_task {
            task.abort();
        }
    }
}

impl fmt::Debug for SledStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SledStore")
            .field("idle_expiry", &self.inner.idle_expiry)
            .finish_non_exhaustive()
    }
}

/// Options for opening a [`SledStore`]; see [`SledStore::builder`].
#[derive(Debug, Clone)]
pub struct SledStoreBuilder {
    path: PathBuf,
    idle_expiry: Duration,
}

impl SledStoreBuilder {
    /// Delete groups not loaded or saved for longer than `max_idle` (default 30 days).
    pub fn idle_expiry(mut self, max_idle: Duration) -> Self {
        self.idle_expiry = max_idle;
        self
    }

    /// Open (or create) the database. A database just closed in this process may still be
    /// locked for a moment while sled's background thread exits; opening waits up to two
    /// seconds for that lock.
    ///
    /// Inside a tokio runtime this also starts a task that runs
    /// [`expire_idle`](SledStore::expire_idle) hourly; it stops when the last clone of the
    /// store is dropped. Outside a runtime no thread is started and the app calls
    /// `expire_idle` itself.
    pub fn open(self) -> Result<SledStore> {
        let path = &self.path;
        let db = open_db(path)?;
        let access_tree = db
            .open_tree(ACCESS_TREE)
            .map_err(|e| Error::store(format!("cannot open the sled store at `{}`", path.display()), e))?;
        let access = AccessLog::new(access_tree);
        access.backfill(&db)?;
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| Inner {
            db,
            access,
            flusher: Flusher::new(),
            idle_expiry: self.idle_expiry,
            expiry_task: spawn_expiry(weak.clone()),
        });
        Ok(SledStore { inner })
    }
}

/// The hourly expiry task, when there is a runtime to run it on.
fn spawn_expiry(store: Weak<Inner>) -> Option<tokio::task::AbortHandle> {
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    let task = runtime.spawn(async move {
        let mut every = tokio::time::interval(EXPIRY_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(inner) = store.upgrade() else { return };
            let store = SledStore { inner };
            // sled calls block: keep them off the async worker threads.
            let swept = tokio::task::spawn_blocking(move || {
                let max_idle = store.inner.idle_expiry;
                store.expire_idle(max_idle)
            })
            .await;
            match swept {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(groups = n, "deleted idle session groups"),
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "could not delete idle session groups")
                }
                Err(err) => tracing::warn!(error = %err, "the idle-group sweep panicked"),
            }
        }
    });
    Some(task.abort_handle())
}

fn prefix(group: &GroupId, page: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(group.as_str().len() + page.len() + 2);
    k.extend_from_slice(group.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(page.as_bytes());
    k.push(0);
    k
}

impl SledStore {
    /// Open (or create) the database in directory `path`, with the default idle limit.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder(path).open()
    }

    /// Options for opening the database in directory `path`.
    ///
    /// ```
    /// # mod livetemplate { pub use livetemplate_core::Result; pub mod store { pub use livetemplate_sled::SledStore; } }
    /// # fn main() -> livetemplate::Result<()> {
    /// use livetemplate::store::SledStore;
    /// use std::time::Duration;
    /// let dir = std::env::temp_dir().join(format!("lvt-doc-builder-{}", std::process::id()));
    /// let store = SledStore::builder(&dir)
    ///     .idle_expiry(Duration::from_secs(7 * 24 * 60 * 60))
    ///     .open()?;
    /// // No tokio runtime here, so nothing sweeps on its own: call it from time to time.
    /// assert_eq!(store.expire_idle(store.idle_expiry())?, 0);
    /// # drop(store); let _ = std::fs::remove_dir_all(&dir);
    /// # Ok(()) }
    /// ```
    pub fn builder(path: impl AsRef<Path>) -> SledStoreBuilder {
        SledStoreBuilder {
            path: path.as_ref().to_path_buf(),
            idle_expiry: DEFAULT_IDLE_EXPIRY,
        }
    }

    /// The idle limit this store was opened with.
    pub fn idle_expiry(&self) -> Duration {
        self.inner.idle_expiry
    }

    /// Delete every group not loaded or saved for longer than `max_idle`; returns how many
    /// groups were deleted. Blocking (sled I/O): from async code call it in `spawn_blocking`.
    pub fn expire_idle(&self, max_idle: Duration) -> Result<usize> {
        self.inner.access.expire(&self.inner.db, max_idle)
    }

    /// How many sled flushes this store has run (to measure group commit).
    #[doc(hidden)]
    pub fn flush_count(&self) -> u64 {
        self.inner.flusher.flush_count()
    }
}

impl PersistStore for SledStore {
    fn load<'a>(&'a self, group: &'a GroupId, page: &'a str) -> BoxFuture<'a, Result<Fields>> {
        Box::pin(async move {
            let p = prefix(group, page);
            let mut out = Vec::new();
            for kv in self.inner.db.scan_prefix(&p) {
                let (k, v) = kv.map_err(|e| Error::store("sled read failed", e))?;
                let name = String::from_utf8_lossy(&k[p.len()..]).into_owned();
                out.push((name, v.to_vec()));
            }
            if let Err(err) = self.inner.access.touch(group.as_str().as_bytes()) {
                // Only the idle clock is affected: the group may expire a little early.
                tracing::warn!(error = %err, "could not record a group's access time");
            }
            Ok(out)
        })
    }

    fn save<'a>(
        &'a self,
        group: &'a GroupId,
        page: &'a str,
        fields: &'a [(&'a str, Vec<u8>)],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let p = prefix(group, page);
            let mut batch = sled::Batch::default();
            for (name, value) in fields {
                let mut k = p.clone();
                k.extend_from_slice(name.as_bytes());
                batch.insert(k, value.as_slice());
            }
            self.inner.access.touch(group.as_str().as_bytes())?;
            self.inner
                .db
                .apply_batch(batch)
                .map_err(|e| Error::store("sled write failed", e))?;
            // Durable before the caller replies; concurrent callers share one flush.
            self.inner.flusher.make_durable(&self.inner.db).await
        })
    }

    fn flush(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move { self.inner.flusher.make_durable(&self.inner.db).await })
    }
}

/// Open the sled database at `path`, waiting briefly for the file lock: after a `Db` is
/// dropped, sled's flusher thread releases the lock asynchronously.
fn open_db(path: &Path) -> Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match sled::Config::new().path(path).open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(io))
                if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("could not acquire lock") =>
            {
                if std::time::Instant::now() >= deadline {
                    return Err(Error::store(
                        format!(
                            "cannot open the sled store at `{}`: another process holds it",
                            path.display()
                        ),
                        sled::Error::Io(io),
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => {
                return Err(Error::store(
                    format!("cannot open the sled store at `{}`", path.display()),
                    e,
                ));
            }
        }
    }
}

/// Reaching under the store's API, for this workspace's tests of corrupt data and expiry.
/// Not public API: the sled database itself is never handed out.
#[doc(hidden)]
impl SledStore {
    /// Write `value` under the raw key `key` of the fields tree (`group \0 page \0 field`).
    pub fn __insert_raw(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.inner
            .db
            .insert(key, value)
            .map(|_| ())
            .map_err(|e| Error::store("sled write failed", e))
    }

    /// How many raw keys of the fields tree start with `prefix`.
    pub fn __count_raw(&self, prefix: &[u8]) -> usize {
        self.inner.db.scan_prefix(prefix).count()
    }

    /// Record that `group` was last used at `secs` (seconds since the epoch).
    pub fn __set_last_access(&self, group: &GroupId, secs: u64) -> Result<()> {
        self.access_tree()?
            .insert(group.as_str(), &secs.to_be_bytes())
            .map(|_| ())
            .map_err(|e| Error::store("sled write failed", e))
    }

    /// Whether `group` has a last-access time.
    pub fn __has_last_access(&self, group: &GroupId) -> Result<bool> {
        self.access_tree()?
            .contains_key(group.as_str())
            .map_err(|e| Error::store("sled read failed", e))
    }

    /// Drop every last-access time, as a database from before they were kept, and flush.
    pub fn __forget_access_times(&self) -> Result<()> {
        self.inner
            .db
            .drop_tree(ACCESS_TREE)
            .map_err(|e| Error::store("sled write failed", e))?;
        self.inner
            .db
            .flush()
            .map(|_| ())
            .map_err(|e| Error::store("sled flush failed", e))
    }

    fn access_tree(&self) -> Result<sled::Tree> {
        self.inner
            .db
            .open_tree(ACCESS_TREE)
            .map_err(|e| Error::store("sled open_tree failed", e))
    }
}
