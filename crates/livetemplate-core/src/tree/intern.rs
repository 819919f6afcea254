//! Interning of statics: equal statics are one allocation for the life of the process, so
//! the diff compares them by address.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, OnceLock};

use super::model::{Statics, StaticsData};

fn interner() -> &'static Mutex<HashMap<u64, Vec<Statics>>> {
    static INTERNER: OnceLock<Mutex<HashMap<u64, Vec<Statics>>>> = OnceLock::new();
    INTERNER.get_or_init(|| Mutex::new(HashMap::new()))
}

fn same_statics(s: &StaticsData, text: &str, ends: &[u32]) -> bool {
    &*s.text == text && &*s.ends == ends
}

/// Statics interned recently on this thread, checked before the process-wide table.
const RECENT: usize = 16;

thread_local! {
    static RECENT_STATICS: std::cell::RefCell<Vec<Statics>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[inline]
pub(super) fn intern(text: &str, ends: &[u32]) -> Statics {
    let recent = RECENT_STATICS.try_with(|r| {
        r.try_borrow()
            .ok()
            .and_then(|r| r.iter().rev().find(|s| same_statics(s, text, ends)).copied())
    });
    if let Ok(Some(s)) = recent {
        return s;
    }
    let s = intern_global(text, ends);
    let _ = RECENT_STATICS.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            if r.len() == RECENT {
                r.remove(0);
            }
            r.push(s);
        }
    });
    s
}

fn intern_global(text: &str, ends: &[u32]) -> Statics {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    ends.hash(&mut hasher);
    let h = hasher.finish();
    let mut map = match interner().lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    let bucket = map.entry(h).or_default();
    if let Some(s) = bucket.iter().find(|s| same_statics(s, text, ends)) {
        return s;
    }
    let s: Statics = Box::leak(Box::new(StaticsData::new(text, ends)));
    bucket.push(s);
    s
}
