//! Persisted fields in the store: how a value is written so that it outlives the code that
//! wrote it, how it is read back after its type changed, and what happens to a value that
//! cannot be read (quarantine, an ERROR log line and the app's [`PersistHook`]).
//!
//! Keys under a page of a group:
//! - `<field>`: the value: a header (format byte, shape hash, field version) and bincode.
//! - `<field>@shape`: the serde shape (JSON) the value was written with: field and variant
//!   names, so a value written by an older type is rebuilt by name.
//! - `<field>@quarantine` (then `<field>@quarantine.2`, `.3`, …): a value that could not be
//!   read, kept byte for byte with its shape under `<key>@shape`. Saves never write these
//!   keys; [`restore_quarantined`] copies one back.

mod codec;
mod shape;
mod value;
mod walk;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::group::GroupId;
use crate::state::LiveState;
use crate::store::PersistStore;

/// Suffix of the key that holds the shape of the value under the key before it.
pub const SHAPE_SUFFIX: &str = "@shape";

/// Suffix of the key that holds a quarantined value of the field before it.
pub const QUARANTINE_SUFFIX: &str = "@quarantine";

/// The key of the shape recorded for the value under `key`: `items` gives `items@shape`.
pub fn shape_key(key: &str) -> String {
    format!("{key}{SHAPE_SUFFIX}")
}

/// The key of the `n`th quarantined value of `field` (from 1): `items@quarantine`,
/// `items@quarantine.2`, …
///
/// ```
/// use livetemplate_core::persist::quarantine_key;
/// assert_eq!(quarantine_key("items", 1), "items@quarantine");
/// assert_eq!(quarantine_key("items", 2), "items@quarantine.2");
/// ```
pub fn quarantine_key(field: &str, n: u32) -> String {
    if n <= 1 {
        format!("{field}{QUARANTINE_SUFFIX}")
    } else {
        format!("{field}{QUARANTINE_SUFFIX}.{n}")
    }
}

/// A persisted field that could not be read back: its type changed in a way no rule maps
/// (a `String` became a `u64`), a migration failed, or the bytes are corrupt.
///
/// The stored bytes were kept under [`PersistError::quarantine_key`] and the field started
/// from its initial value. Given to the app's hook ([`AppBuilder::on_persist_error`]) once
/// per stored value.
///
/// [`AppBuilder::on_persist_error`]: crate::AppBuilder::on_persist_error
#[derive(Debug, Clone)]
pub struct PersistError {
    page: String,
    group: GroupId,
    field: String,
    reason: String,
    quarantine_key: Option<String>,
    stored_shape: Option<String>,
    stored_version: Option<u32>,
}

impl PersistError {
    /// The page path, e.g. `/todos`.
    pub fn page(&self) -> &str {
        &self.page
    }
    /// The session group whose value it is.
    pub fn group(&self) -> &GroupId {
        &self.group
    }
    /// The persisted field's name.
    pub fn field(&self) -> &str {
        &self.field
    }
    /// Why the value could not be read.
    pub fn reason(&self) -> &str {
        &self.reason
    }
    /// The key (in the same group and page) now holding the stored bytes, e.g.
    /// `items@quarantine`; `None` if the store refused that write too (the field is then not
    /// saved by this view, so the bytes stay under the field's own key).
    pub fn quarantine_key(&self) -> Option<&str> {
        self.quarantine_key.as_deref()
    }
    /// The shape the value was written with (JSON), or for a value written before shapes were
    /// recorded its Rust type name; `None` when the store holds neither.
    pub fn stored_shape(&self) -> Option<&str> {
        self.stored_shape.as_deref()
    }
    /// The field version the value was written as, when its header is readable.
    pub fn stored_version(&self) -> Option<u32> {
        self.stored_version
    }
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "persisted field `{}` of {} could not be read ({}); ",
            self.field, self.page, self.reason
        )?;
        match &self.quarantine_key {
            Some(k) => write!(f, "kept under `{k}`, the field starts from its default"),
            None => write!(f, "the store refused to quarantine it, so the field is not saved"),
        }
    }
}

impl std::error::Error for PersistError {}

type HookFn = dyn Fn(&PersistError) + Send + Sync;

/// The app's handler of [`PersistError`]s (none by default: the ERROR log line only).
#[derive(Clone, Default)]
pub struct PersistHook(Option<Arc<HookFn>>);

impl PersistHook {
    /// A hook calling `f`.
    pub fn new(f: impl Fn(&PersistError) + Send + Sync + 'static) -> Self {
        PersistHook(Some(Arc::new(f)))
    }

    fn call(&self, event: &PersistError) {
        if let Some(f) = &self.0 {
            f(event);
        }
    }
}

impl fmt::Debug for PersistHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "PersistHook(set)"
        } else {
            "PersistHook(none)"
        })
    }
}

/// Encode a persisted field (version 1 of it).
#[doc(hidden)]
pub fn encode_field<T: Serialize + DeserializeOwned + 'static>(value: &T) -> Result<Vec<u8>> {
    codec::encode(value, 1)
}

/// Encode a persisted field as version `version` of it.
#[doc(hidden)]
pub fn encode_field_version<T: Serialize + DeserializeOwned + 'static>(value: &T, version: u32) -> Result<Vec<u8>> {
    codec::encode(value, version)
}

/// Decode a persisted field (version 1) into `slot`; on error `slot` is unchanged.
#[doc(hidden)]
pub fn decode_field<T: Serialize + DeserializeOwned + 'static>(slot: &mut T, bytes: &[u8]) -> Result<()> {
    codec::decode(slot, bytes, 1, None)
}

/// Decode version `version` of a persisted field into `slot`, with no migration from older
/// versions.
#[doc(hidden)]
pub fn decode_field_version<T: Serialize + DeserializeOwned + 'static>(
    slot: &mut T,
    bytes: &[u8],
    version: u32,
) -> Result<()> {
    codec::decode(slot, bytes, version, None)
}

/// Decode version `version` of a persisted field into `slot`; a value of an older version
/// goes through `migrate(old value as JSON, its version)`.
#[doc(hidden)]
pub fn decode_field_migrating<T, F, E>(slot: &mut T, bytes: &[u8], version: u32, migrate: F) -> Result<()>
where
    T: Serialize + DeserializeOwned + 'static,
    F: Fn(serde_json::Value, u32) -> std::result::Result<T, E>,
    E: fmt::Display,
{
    let migrate = move |old: serde_json::Value, from: u32| migrate(old, from).map_err(|e| e.to_string());
    codec::decode(slot, bytes, version, Some(&migrate))
}

/// A stored value as JSON, read through its shape (`shape`: the bytes under `<key>@shape`):
/// for looking at a quarantined value before writing the migration that restores it.
///
/// Errors when the value has no shape (written before shapes were recorded, or by a type
/// that could not be traced) or the bytes do not match it.
pub fn to_json(value: &[u8], shape: &[u8]) -> Result<serde_json::Value> {
    let head = codec::header(value)
        .map_err(Error::decode)?
        .ok_or_else(|| Error::decode("the value was written before shapes were recorded"))?;
    let hash = shape::learn(shape).ok_or_else(|| Error::decode("not a shape record"))?;
    if hash != head.hash {
        return Err(Error::decode("the shape is not the one this value was written with"));
    }
    let v = codec::generic(head.hash, &value[head.body..]).map_err(Error::decode)?;
    serde_json::to_value(&v).map_err(|e| Error::decode(format!("the value has no JSON form: {e}")))
}

/// Copy the value quarantined under `key` (e.g. `items@quarantine`) back to `field`, with its
/// shape, for example once a deploy added the migration that reads it. The next load of the
/// page reads it like any stored value (and quarantines it again if it still cannot).
///
/// Errors when nothing is stored under `key` or the store fails.
pub async fn restore_quarantined(
    store: &dyn PersistStore,
    group: &GroupId,
    page: &str,
    field: &str,
    key: &str,
) -> Result<()> {
    let stored = store.load(group, page).await?;
    let find = |k: &str| stored.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let value = find(key).ok_or_else(|| Error::decode(format!("nothing is stored under `{key}` on {page}")))?;
    let mut writes = vec![(field.to_string(), value)];
    if let Some(shape) = find(&shape_key(key)) {
        writes.push((shape_key(field), shape));
    }
    let writes: Vec<(&str, Vec<u8>)> = writes.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    store.save(group, page, &writes).await
}

/// The shape records to save with changed values `changed` (`<field>@shape` for each value
/// that has a shape).
pub(crate) fn shape_records(changed: &[(&str, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    changed
        .iter()
        .filter_map(|(name, bytes)| {
            let head = codec::header(bytes).ok()??;
            if head.hash == 0 {
                return None;
            }
            match shape::by_hash(head.hash) {
                Some(t) => Some((shape_key(name), t.json.to_vec())),
                None => {
                    tracing::warn!(field = %name, "the shape of a persisted value was forgotten before it was saved; the value is readable only by the same type");
                    None
                }
            }
        })
        .collect()
}

/// Stored values already reported in this process (hash of group, page, field and bytes), so
/// a value that cannot be read is logged and reported once, not on every page view.
fn reported() -> &'static Mutex<HashSet<u64>> {
    static REPORTED: OnceLock<Mutex<HashSet<u64>>> = OnceLock::new();
    REPORTED.get_or_init(Default::default)
}

const REPORTED_MAX: usize = 100_000;

fn first_report(group: &GroupId, page: &str, field: &str, bytes: &[u8]) -> bool {
    let mut key = Vec::with_capacity(group.as_str().len() + page.len() + field.len() + 3 + 8);
    for part in [group.as_str(), page, field] {
        key.extend_from_slice(part.as_bytes());
        key.push(0);
    }
    key.extend_from_slice(&shape::fnv1a(bytes).to_le_bytes());
    let mut set = reported().lock().unwrap_or_else(|p| p.into_inner());
    if set.len() >= REPORTED_MAX {
        set.clear();
    }
    set.insert(shape::fnv1a(&key))
}

/// Load the persisted fields of `page` for `group` into `state`.
///
/// A stored value that cannot be read is quarantined (see the module docs), logged at ERROR
/// and reported to `hook`, once; its field keeps its initial value. Returns the fields this
/// load could neither read nor quarantine (the store failed): saving them would destroy the
/// stored bytes, so the caller must not.
pub(crate) async fn load<S: LiveState>(
    state: &mut S,
    store: &dyn PersistStore,
    hook: &PersistHook,
    group: &GroupId,
    page: &str,
) -> Vec<&'static str> {
    let fields = S::persisted_fields();
    if fields.is_empty() {
        return Vec::new();
    }
    let stored = match store.load(group, page).await {
        Ok(f) => f,
        Err(err) => {
            tracing::error!(page, error = %err, "could not load persisted state; starting from defaults, and not saving over it");
            return fields.to_vec();
        }
    };
    let map: HashMap<&str, &[u8]> = stored.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
    for name in map.keys() {
        if !name.contains('@') && !fields.contains(name) {
            tracing::debug!(page, field = %name, "stored field is no longer persisted; ignored");
        }
    }
    let mut held = Vec::new();
    for &field in fields {
        let Some(&bytes) = map.get(field) else {
            continue;
        };
        let shape = map.get(shape_key(field).as_str()).copied();
        if let Some(json) = shape {
            shape::learn(json);
        }
        if let Err(err) = state.decode_field(field, bytes) {
            let kept = Stored { field, bytes, shape };
            let reason = bounded(&err.to_string());
            if !quarantine(store, hook, group, page, &kept, &map, &reason).await {
                held.push(field);
            }
        }
    }
    held
}

/// Longest reason logged or reported, in characters.
const REASON_MAX: usize = 200;

/// `reason` cut to [`REASON_MAX`] characters with control characters escaped: serde's messages
/// quote the stored data, which came from clients, and a log line must not carry much of it
/// or start new lines.
fn bounded(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len().min(REASON_MAX + 4));
    for (i, c) in reason.chars().enumerate() {
        if i == REASON_MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A stored value and its shape record.
struct Stored<'a> {
    field: &'a str,
    bytes: &'a [u8],
    shape: Option<&'a [u8]>,
}

/// Keep `v`'s bytes under the field's first free quarantine key (unless already kept), then
/// log and report. False when the store refused the write.
async fn quarantine(
    store: &dyn PersistStore,
    hook: &PersistHook,
    group: &GroupId,
    page: &str,
    v: &Stored<'_>,
    map: &HashMap<&str, &[u8]>,
    reason: &str,
) -> bool {
    let mut n = 1;
    let key = loop {
        let key = quarantine_key(v.field, n);
        match map.get(key.as_str()) {
            Some(kept) if *kept == v.bytes => {
                // Kept (and reported) by an earlier load.
                tracing::debug!(
                    page,
                    field = v.field,
                    key,
                    "persisted field still unreadable; it stays quarantined"
                );
                return true;
            }
            Some(_) => n += 1,
            None => break key,
        }
    };
    let key_shape = shape_key(&key);
    let mut writes: Vec<(&str, Vec<u8>)> = vec![(key.as_str(), v.bytes.to_vec())];
    if let Some(shape) = v.shape {
        writes.push((key_shape.as_str(), shape.to_vec()));
    }
    let saved = store.save(group, page, &writes).await;
    let header = codec::header(v.bytes);
    let stored_shape = match header {
        Ok(Some(_)) => v.shape.map(|s| String::from_utf8_lossy(s).into_owned()),
        Ok(None) => v
            .bytes
            .iter()
            .position(|b| *b == 0)
            .map(|nul| String::from_utf8_lossy(&v.bytes[..nul]).into_owned()),
        Err(_) => None,
    };
    let event = PersistError {
        page: page.to_string(),
        group: group.clone(),
        field: v.field.to_string(),
        reason: reason.to_string(),
        quarantine_key: saved.is_ok().then(|| key.clone()),
        stored_shape,
        stored_version: match header {
            Ok(Some(h)) => Some(h.version),
            Ok(None) => Some(1),
            Err(_) => None,
        },
    };
    if first_report(group, page, v.field, v.bytes) {
        match &saved {
            Ok(()) => tracing::error!(
                page,
                field = v.field,
                quarantine_key = %key,
                reason,
                "persisted field could not be read; its stored value was kept under the quarantine key and the field starts from its default"
            ),
            Err(err) => tracing::error!(
                page,
                field = v.field,
                reason,
                error = %err,
                "persisted field could not be read, and quarantining it failed; the field starts from its default and is not saved, so its stored value stays"
            ),
        }
        hook.call(&event);
    }
    saved.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_bounded_single_lines() {
        assert_eq!(
            bounded("invalid type: string \"a\nb\""),
            "invalid type: string \"a\\nb\""
        );
        let long = "x".repeat(1000);
        assert_eq!(bounded(&long).chars().count(), REASON_MAX + 1);
    }
}
