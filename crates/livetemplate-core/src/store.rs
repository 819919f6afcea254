//! Where `#[lvt(persist)]` fields live between connections: the [`PersistStore`] trait and the
//! in-memory store used by tests.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use crate::BoxFuture;
use crate::error::Result;
use crate::group::GroupId;

/// Persisted fields of one page for one group: `(field name, encoded value)`.
pub type Fields = Vec<(String, Vec<u8>)>;

/// Storage for persisted fields, keyed by (group, page).
///
/// `save` must return only once the write is durable.
pub trait PersistStore: Send + Sync + fmt::Debug + 'static {
    /// Load every persisted field of `page` for `group` (empty when none).
    fn load<'a>(&'a self, group: &'a GroupId, page: &'a str) -> BoxFuture<'a, Result<Fields>>;
    /// Store `fields` (each under its own name), durably.
    fn save<'a>(
        &'a self,
        group: &'a GroupId,
        page: &'a str,
        fields: &'a [(&'a str, Vec<u8>)],
    ) -> BoxFuture<'a, Result<()>>;
    /// Make every completed write durable (called on graceful shutdown).
    fn flush(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

type Entries = HashMap<(GroupId, String), HashMap<String, Vec<u8>>>;

/// A store in memory: for tests and apps that need no persistence across restarts.
#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<Entries>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl PersistStore for MemoryStore {
    fn load<'a>(&'a self, group: &'a GroupId, page: &'a str) -> BoxFuture<'a, Result<Fields>> {
        Box::pin(async move {
            let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            Ok(map
                .get(&(group.clone(), page.to_string()))
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default())
        })
    }

    fn save<'a>(
        &'a self,
        group: &'a GroupId,
        page: &'a str,
        fields: &'a [(&'a str, Vec<u8>)],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            let entry = map.entry((group.clone(), page.to_string())).or_default();
            for (k, v) in fields {
                entry.insert((*k).to_string(), v.clone());
            }
            Ok(())
        })
    }
}
