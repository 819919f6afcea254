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

/// Before a component instance's id, in its wrapper element.
pub(crate) const WRAPPER_OPEN: &str = "<div lvt-component=\"";
/// After the id, before the instance's own HTML.
pub(crate) const WRAPPER_ID_END: &str = "\">";
/// After the instance's own HTML.
pub(crate) const WRAPPER_CLOSE: &str = "</div>";

/// The statics of a component's root `root` inside its wrapper element, with the id as
/// a first slot: `[WRAPPER_OPEN, WRAPPER_ID_END + root[0], root[1], …, root[n] + WRAPPER_CLOSE]`.
/// Worked out once per root statics (statics live as long as the process).
pub(super) fn wrapped(root: Statics) -> Statics {
    static WRAPPED: OnceLock<Mutex<HashMap<usize, Statics>>> = OnceLock::new();
    let key = std::ptr::from_ref::<StaticsData>(root) as usize;
    let map = WRAPPED.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = match map.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(s) = map.get(&key) {
        return s;
    }
    let mut text = String::with_capacity(root.text.len() + 32);
    let mut ends = Vec::with_capacity(root.len() + 1);
    text.push_str(WRAPPER_OPEN);
    ends.push(text.len() as u32);
    text.push_str(WRAPPER_ID_END);
    let last = root.len() - 1;
    for (i, part) in root.iter().enumerate() {
        text.push_str(part);
        if i == last {
            text.push_str(WRAPPER_CLOSE);
        }
        ends.push(text.len() as u32);
    }
    let s = intern_global(&text, &ends);
    map.insert(key, s);
    s
}
