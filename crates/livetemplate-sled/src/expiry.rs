//! Idle groups: when each group was last used, and deleting the ones idle too long.
//!
//! The `lvt_access` tree maps a group id to the unix second it was last loaded or saved
//! (big-endian u64). It is written at most once a minute per group per process, so reads do
//! not turn into writes on every page view.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use livetemplate_core::{Error, Result};

/// The name of the sled tree holding last-access times.
pub const ACCESS_TREE: &str = "lvt_access";

/// A group's access time is rewritten at most this often.
const TOUCH_EVERY_SECS: u64 = 60;

/// Beyond this many remembered groups the in-memory throttle starts over (costing at most one
/// extra write per group), so it never grows without bound.
const TOUCHED_MAX: usize = 100_000;

pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Last-access bookkeeping of one store.
#[derive(Debug)]
pub(crate) struct AccessLog {
    tree: sled::Tree,
    /// When this process last wrote each group's access time.
    touched: Mutex<HashMap<Box<[u8]>, u64>>,
}

impl AccessLog {
    pub(crate) fn new(tree: sled::Tree) -> Self {
        AccessLog {
            tree,
            touched: Mutex::new(HashMap::new()),
        }
    }

    /// Record that `group` was used now (throttled to once a minute). The write becomes
    /// durable with the next flush.
    pub(crate) fn touch(&self, group: &[u8]) -> Result<()> {
        let now = now_secs();
        {
            let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            if touched
                .get(group)
                .is_some_and(|&at| now.saturating_sub(at) < TOUCH_EVERY_SECS)
            {
                return Ok(());
            }
            if touched.len() >= TOUCHED_MAX {
                touched.clear();
            }
            touched.insert(group.into(), now);
        }
        self.tree
            .insert(group, &now.to_be_bytes())
            .map_err(|e| Error::store("sled write of a group's access time failed", e))?;
        Ok(())
    }

    /// Give every group in `data` without an access time one of now: data written before
    /// access times were kept then expires like the rest, counted from today.
    pub(crate) fn backfill(&self, data: &sled::Tree) -> Result<()> {
        if !self.tree.is_empty() || data.is_empty() {
            return Ok(());
        }
        let now = now_secs().to_be_bytes();
        let mut last: Option<Vec<u8>> = None;
        for kv in data.iter().keys() {
            let key = kv.map_err(|e| Error::store("sled read failed", e))?;
            let group = key.split(|b| *b == 0).next().unwrap_or_default();
            if last.as_deref() != Some(group) {
                self.tree
                    .insert(group, &now)
                    .map_err(|e| Error::store("sled write of a group's access time failed", e))?;
                last = Some(group.to_vec());
            }
        }
        Ok(())
    }

    /// Delete from `data` every group not used for longer than `max_idle`; returns how many.
    pub(crate) fn expire(&self, data: &sled::Tree, max_idle: Duration) -> Result<usize> {
        let now = now_secs();
        let mut expired = 0;
        for kv in self.tree.iter() {
            let (group, stamp) = kv.map_err(|e| Error::store("sled read failed", e))?;
            // The server's own records (the generated key signing group cookies) never expire:
            // losing them would end every session.
            if group.as_ref() == livetemplate_core::group::SERVER_GROUP.as_bytes() {
                continue;
            }
            let at = <[u8; 8]>::try_from(stamp.as_ref()).map_or(0, u64::from_be_bytes);
            if now.saturating_sub(at) <= max_idle.as_secs() {
                continue;
            }
            // Only if nobody touched the group since we read its time.
            let swapped = self
                .tree
                .compare_and_swap(&group, Some(&stamp), None as Option<&[u8]>)
                .map_err(|e| Error::store("sled write failed", e))?;
            if swapped.is_err() {
                continue;
            }
            let mut prefix = group.to_vec();
            prefix.push(0);
            let mut batch = sled::Batch::default();
            for key in data.scan_prefix(&prefix).keys() {
                batch.remove(key.map_err(|e| Error::store("sled read failed", e))?);
            }
            data.apply_batch(batch)
                .map_err(|e| Error::store("sled delete failed", e))?;
            self.touched
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(group.as_ref());
            expired += 1;
        }
        Ok(expired)
    }
}
