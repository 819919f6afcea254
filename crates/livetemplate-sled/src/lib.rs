//! A [`PersistStore`] on sled 0.34, the embedded default store of livetemplate.
//!
//! Keys are `group \0 page \0 field`; each persisted field is its own key, so a deploy that
//! adds or removes a field leaves the others readable.
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

use std::fmt;
use std::path::Path;

use livetemplate_core::store::Fields;
use livetemplate_core::{BoxFuture, Error, GroupId, PersistStore, Result};

/// Persisted fields in a sled database.
#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
}

impl fmt::Debug for SledStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
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
    /// Open (or create) the database in directory `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let db = sled::Config::new()
            .path(path)
            .open()
            .map_err(|e| Error::store(format!("cannot open the sled store at `{}`", path.display()), e))?;
        Ok(SledStore { db })
    }

    /// The underlying database.
    pub fn db(&self) -> &sled::Db {
        &self.db
    }
}

impl PersistStore for SledStore {
    fn load<'a>(&'a self, group: &'a GroupId, page: &'a str) -> BoxFuture<'a, Result<Fields>> {
        Box::pin(async move {
            let p = prefix(group, page);
            let mut out = Vec::new();
            for kv in self.db.scan_prefix(&p) {
                let (k, v) = kv.map_err(|e| Error::store("sled read failed", e))?;
                let name = String::from_utf8_lossy(&k[p.len()..]).into_owned();
                out.push((name, v.to_vec()));
            }
            Ok(out)
        })
    }

    fn save<'a>(
        &'a self,
        group: &'a GroupId,
        page: &'a str,
        fields: &'a [(&'static str, Vec<u8>)],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let p = prefix(group, page);
            let mut batch = sled::Batch::default();
            for (name, value) in fields {
                let mut k = p.clone();
                k.extend_from_slice(name.as_bytes());
                batch.insert(k, value.as_slice());
            }
            self.db.apply_batch(batch).map_err(|e| Error::store("sled write failed", e))?;
            // Durable before the caller replies; concurrent callers share sled's flush.
            self.db
                .flush_async()
                .await
                .map_err(|e| Error::store("sled flush failed", e))?;
            Ok(())
        })
    }

    fn flush(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.db
                .flush_async()
                .await
                .map_err(|e| Error::store("sled flush failed", e))?;
            Ok(())
        })
    }
}
