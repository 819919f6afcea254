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
/// `save` must return only once the write is durable. A new store implements the three
/// methods and runs [`store_conformance`](crate::testing::store_conformance) in its tests;
/// its own failures become errors through [`Error::store`](crate::Error::store), with the
/// store's error as the source. A complete store, in memory:
///
/// ```
/// # mod livetemplate {
/// #     pub use livetemplate_core::{App, Error, GroupId, Result};
/// #     pub mod store { pub use livetemplate_core::{BoxFuture, Fields, PersistStore}; }
/// #     pub use livetemplate_core::testing;
/// # }
/// use std::collections::BTreeMap;
/// use std::sync::Mutex;
///
/// use livetemplate::store::{BoxFuture, Fields, PersistStore};
/// use livetemplate::{GroupId, Result};
///
/// /// Fields by (group, page), then by field name.
/// #[derive(Debug, Default)]
/// struct MapStore(Mutex<BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>>);
///
/// impl PersistStore for MapStore {
///     fn load<'a>(&'a self, group: &'a GroupId, page: &'a str) -> BoxFuture<'a, Result<Fields>> {
///         Box::pin(async move {
///             let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
///             let key = (group.as_str().to_string(), page.to_string());
///             Ok(map.get(&key).into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect())
///         })
///     }
///
///     fn save<'a>(&'a self, group: &'a GroupId, page: &'a str, fields: &'a [(&'a str, Vec<u8>)]) -> BoxFuture<'a, Result<()>> {
///         Box::pin(async move {
///             let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
///             // A save names some fields: the others stay.
///             let page = map.entry((group.as_str().to_string(), page.to_string())).or_default();
///             for (name, bytes) in fields {
///                 page.insert(name.to_string(), bytes.clone());
///             }
///             Ok(())
///         })
///     }
///     // `flush` defaults to nothing to do: every save here is as durable as it gets.
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> livetemplate::Result<()> {
/// // In the store's tests:
/// livetemplate::testing::store_conformance(&MapStore::default()).await;
/// // In the app:
/// let app = livetemplate::App::builder().store(MapStore::default()).build()?;
/// # drop(app);
/// # Ok(()) }
/// ```
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

/// A store in memory: for tests and apps that need no persistence across restarts. It is the
/// store of an app built without [`AppBuilder::store`](crate::AppBuilder::store).
///
/// ```
/// # mod livetemplate {
/// #     pub use livetemplate_core::{App, GroupId, Result};
/// #     pub mod store { pub use livetemplate_core::{MemoryStore, PersistStore}; }
/// # }
/// use std::sync::Arc;
///
/// use livetemplate::store::{MemoryStore, PersistStore};
/// use livetemplate::{App, GroupId};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> livetemplate::Result<()> {
/// let store = Arc::new(MemoryStore::new());
/// // Shared with the app, so a test can look at what the pages saved.
/// let app = App::builder().shared_store(store.clone()).build()?;
/// # drop(app);
/// let group = GroupId::random();
/// store.save(&group, "/todos", &[("items", vec![1, 2, 3])]).await?;
/// assert_eq!(store.load(&group, "/todos").await?, [("items".to_string(), vec![1, 2, 3])]);
/// assert!(store.load(&group, "/other").await?.is_empty());
/// # Ok(()) }
/// ```
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
