//! Group commit: concurrent saves share sled flushes.
//!
//! Every save applies its batch, takes a ticket, then waits until a flush that started after
//! its ticket has finished. One waiter at a time (the leader) runs the flush and covers every
//! ticket taken before it started; the others wait on a watch channel, so N concurrent saves
//! cost about two flushes instead of N.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use livetemplate_core::{Error, Result};
use tokio::sync::watch;

#[derive(Debug, Default)]
struct Generations {
    /// Tickets handed out: the number of writes applied so far.
    applied: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    /// A leader is flushing right now.
    flushing: bool,
}

/// Shares flushes among concurrent writers of one database.
#[derive(Debug)]
pub(crate) struct Flusher {
    gens: Mutex<Generations>,
    durable_tx: watch::Sender<u64>,
    flushes: AtomicU64,
}

/// Clears the `flushing` flag and wakes waiters even when the leader's future is dropped
/// mid-flush, so a cancelled save never leaves the others waiting forever.
struct LeaderGuard<'a> {
    flusher: &'a Flusher,
    covers: Option<u64>,
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        let durable = {
            let mut gens = self.flusher.gens.lock().unwrap_or_else(|p| p.into_inner());
            gens.flushing = false;
            if let Some(covers) = self.covers {
                gens.durable = gens.durable.max(covers);
            }
            gens.durable
        };
        self.flusher.durable_tx.send_replace(durable);
    }
}

impl Flusher {
    pub(crate) fn new() -> Self {
        Flusher {
            gens: Mutex::new(Generations::default()),
            durable_tx: watch::channel(0).0,
            flushes: AtomicU64::new(0),
        }
    }

    /// How many flushes ran so far.
    pub(crate) fn flush_count(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// Call after a write is applied: returns once a flush that covers it has finished.
    pub(crate) async fn make_durable(&self, db: &sled::Db) -> Result<()> {
        let ticket = {
            let mut gens = self.gens.lock().unwrap_or_else(|p| p.into_inner());
            gens.applied += 1;
            gens.applied
        };
        loop {
            let mut waiting = {
                let mut gens = self.gens.lock().unwrap_or_else(|p| p.into_inner());
                if gens.durable >= ticket {
                    return Ok(());
                }
                if !gens.flushing {
                    gens.flushing = true;
                    Err(gens.applied)
                } else {
                    // Subscribed under the lock: the leader's next send is seen.
                    Ok(self.durable_tx.subscribe())
                }
            };
            match &mut waiting {
                Ok(rx) => {
                    // The sender lives in `self`, so `changed` cannot fail while we borrow it.
                    let _ = rx.changed().await;
                }
                Err(covers) => {
                    let mut guard = LeaderGuard {
                        flusher: self,
                        covers: None,
                    };
                    self.flushes.fetch_add(1, Ordering::Relaxed);
                    db.flush_async()
                        .await
                        .map_err(|e| Error::store("sled flush failed; the write may not be durable", e))?;
                    guard.covers = Some(*covers);
                    return Ok(());
                }
            }
        }
    }
}
