//! [`RedisStore`]: persisted fields in one Redis hash per (group, page), with an idle TTL.

use std::fmt;
use std::sync::Arc;

use livetemplate_core::store::Fields;
use livetemplate_core::{BoxFuture, Error, GroupId, PersistStore, Result};

use crate::Shared;

/// The message of a save that did not reach Redis: the action fails with it (the user reads
/// it), and the details go to the log.
const NOT_SAVED: &str = "not saved: the session store is unreachable; try again in a moment";

/// Persisted fields in Redis: one hash per (group, page) at
/// `{prefix}persist:{group length}:{group}{page}`, one hash field per persisted field, so a
/// deploy that adds or removes a field leaves the others readable. Every load and save
/// pushes the key's expiry to the idle TTL ([`RedisBuilder::idle_ttl`](crate::RedisBuilder::idle_ttl));
/// the server's own records (the reserved group, where the group-signing key lives) never
/// expire.
///
/// A save writes every field of the call in one `HSET` (atomic) and returns once Redis has
/// answered it: the action's reply goes out only after Redis acknowledged the write. That
/// survives a kill of the node; surviving a crash of Redis itself needs Redis persistence
/// (`appendonly yes` with `appendfsync always` loses nothing acknowledged; `everysec`, the
/// usual setting, may lose the last second). Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct RedisStore {
    shared: Arc<Shared>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.shared.cfg.prefix)
            .field("idle_ttl", &self.shared.cfg.idle_ttl)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        RedisStore { shared }
    }

    fn key(&self, group: &GroupId, page: &str) -> String {
        let g = group.as_str();
        self.shared.key(&format!("persist:{}:{g}{page}", g.len()))
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.shared.cfg.idle_ttl.as_millis()).unwrap_or(u64::MAX)
    }

    /// The expiry command of a record: the idle TTL, except for the server's own records
    /// (the group-signing key, under the reserved group), which never expire.
    fn expiry(&self, group: &GroupId, key: &str) -> redis::Cmd {
        if group == &GroupId::server() {
            let mut cmd = redis::cmd("PERSIST");
            cmd.arg(key);
            cmd
        } else {
            let mut cmd = redis::cmd("PEXPIRE");
            cmd.arg(key).arg(self.ttl_ms());
            cmd
        }
    }
}

impl PersistStore for RedisStore {
    fn load<'a>(&'a self, group: &'a GroupId, page: &'a str) -> BoxFuture<'a, Result<Fields>> {
        Box::pin(async move {
            let key = self.key(group, page);
            let mut conn = self.shared.conn().await?;
            let (fields, _): (Vec<(String, Vec<u8>)>, i64) = redis::pipe()
                .cmd("HGETALL")
                .arg(&key)
                .add_command(self.expiry(group, &key))
                .query_async(&mut conn)
                .await
                .map_err(|e| crate::command_error(&format!("loading {page} failed"), e))?;
            Ok(fields)
        })
    }

    fn save<'a>(
        &'a self,
        group: &'a GroupId,
        page: &'a str,
        fields: &'a [(&'a str, Vec<u8>)],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if fields.is_empty() {
                return Ok(());
            }
            let key = self.key(group, page);
            let mut hset = redis::cmd("HSET");
            hset.arg(&key);
            for (name, value) in fields {
                hset.arg(*name).arg(value.as_slice());
            }
            let result = async {
                let mut conn = self.shared.conn().await?;
                // MULTI/EXEC: the fields and the expiry in one step, all or nothing.
                redis::pipe()
                    .atomic()
                    .add_command(hset)
                    .ignore()
                    .add_command(self.expiry(group, &key))
                    .ignore()
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(|e| crate::command_error("Redis write failed", e))
            }
            .await;
            result.map_err(|err| {
                tracing::warn!(page, error = %err, "persisted write did not reach Redis; the action fails");
                Error::msg(NOT_SAVED)
            })
        })
    }
}
