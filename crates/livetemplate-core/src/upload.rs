//! File uploads: what a page declares ([`UploadConfig`] through
//! [`Context::allow_upload`](crate::Context::allow_upload)), the entries the template lists
//! ([`Upload`], [`UploadEntry`]), and the per-connection registry ([`Uploads`]) that validates
//! the client's metadata before any byte moves, writes chunks to temporary files as they
//! arrive, checks the real size against the declared one and the limit, and removes every
//! temporary file an action did not consume.
//!
//! The life of an entry:
//!
//! ```text
//!  preflight (name, size, type) ──invalid──▶ entry with errors (no file, never uploaded)
//!        │ valid: a temporary file is created
//!        ▼
//!  receiving ──chunk──▶ receiving … ──last byte──▶ done ──consume_uploads──▶ gone (file moved or removed)
//!        │ more bytes than declared, a write error: entry with errors, file removed
//!        └─ cancel_upload, the connection closing, the POST ending: gone, file removed
//! ```
//!
//! An entry is an id, the client's metadata and how many bytes arrived (`received`): a later
//! resumable upload restarts from `received`, and a direct-to-storage writer replaces the
//! temporary file behind the same entry (see "Uploads" in `docs/architecture.md`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};

/// Error on an entry whose file is larger than [`UploadConfig::max_file_size`].
pub const TOO_LARGE: &str = "too_large";
/// Error on an entry whose name and type match nothing in [`UploadConfig::accept`].
pub const NOT_ACCEPTED: &str = "not_accepted";
/// Error on an entry beyond [`UploadConfig::max_entries`].
pub const TOO_MANY_FILES: &str = "too_many_files";
/// Error on an entry whose bytes did not match the size the client declared (more bytes
/// than it said): the server's own check, a client that lies.
pub const SIZE_MISMATCH: &str = "size_mismatch";
/// Error on an entry the server could not write (disk full, the temporary directory gone).
pub const WRITE_FAILED: &str = "write_failed";

/// The largest chunk a client may send: the WebSocket frame limit (64 KiB by default) less the
/// 8-byte chunk header.
pub const MAX_CHUNK: usize = 64 * 1024 - 8;

/// At most this many files may be named in one selection, whatever `max_entries` says: a
/// client that names thousands gets an error, not thousands of entries.
pub const MAX_SELECTION: usize = 64;

/// What a page accepts for one upload: declared in `mount` with
/// [`Context::allow_upload`](crate::Context::allow_upload).
///
/// ```
/// use livetemplate_core::upload::UploadConfig;
/// let avatar = UploadConfig {
///     accept: vec![".png".into(), ".jpg".into(), "image/webp".into()],
///     max_file_size: 2_000_000,
///     ..UploadConfig::default()
/// };
/// assert_eq!(avatar.max_entries, 1);
/// assert!(avatar.accepts("me.PNG", "image/png"));
/// assert!(avatar.accepts("me", "image/webp"));
/// assert!(!avatar.accepts("notes.txt", "text/plain"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadConfig {
    /// File name extensions (`.png`, matched without case) and media types (`image/png`,
    /// `image/*`); a file is accepted when its name or its type matches one. Empty: any file.
    pub accept: Vec<String>,
    /// How many files the upload holds at once (at least 1; default 1). With 1, a new choice
    /// replaces the current entry.
    pub max_entries: usize,
    /// The largest file, in bytes (default 8 MB).
    pub max_file_size: u64,
    /// Bytes per chunk the client sends (default and at most [`MAX_CHUNK`]).
    pub chunk_size: usize,
    /// Send the bytes as soon as files are chosen (`true`), or when the form is submitted
    /// (`false`, the default; the submit action runs once they all arrived).
    pub auto_upload: bool,
}

impl Default for UploadConfig {
    fn default() -> Self {
        UploadConfig {
            accept: Vec::new(),
            max_entries: 1,
            max_file_size: 8_000_000,
            chunk_size: MAX_CHUNK,
            auto_upload: false,
        }
    }
}

impl UploadConfig {
    /// The largest chunk a client may send ([`MAX_CHUNK`]).
    pub const MAX_CHUNK: usize = MAX_CHUNK;

    /// Whether a file called `name` of media type `content_type` (as the client gave them) is
    /// accepted: its extension is one of the listed extensions, or its type matches a listed
    /// type (`image/*` matches every `image/…`).
    pub fn accepts(&self, name: &str, content_type: &str) -> bool {
        if self.accept.is_empty() {
            return true;
        }
        let name = name.to_ascii_lowercase();
        let ty = content_type.trim().to_ascii_lowercase();
        self.accept.iter().any(|a| {
            let a = a.trim().to_ascii_lowercase();
            if a.starts_with('.') {
                name.len() > a.len() && name.ends_with(&a)
            } else if let Some(top) = a.strip_suffix("/*") {
                ty.split_once('/').is_some_and(|(t, sub)| t == top && !sub.is_empty())
            } else {
                !ty.is_empty() && ty == a
            }
        })
    }

    fn check(&self, name: &str) -> Result<()> {
        if self.max_entries == 0 {
            return Err(Error::msg(format!("upload `{name}`: max_entries must be at least 1")));
        }
        if self.chunk_size == 0 || self.chunk_size > MAX_CHUNK {
            return Err(Error::msg(format!(
                "upload `{name}`: chunk_size must be between 1 and {MAX_CHUNK} bytes"
            )));
        }
        Ok(())
    }
}

/// One file of an upload, as the template lists it: the client's metadata, how far it is,
/// and its errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadEntry {
    /// The entry's id on this connection (`lvt-value-ref` of a cancel button).
    pub id: u32,
    /// The file name the client gave (never a path on the server).
    pub client_name: String,
    /// The size the client declared, in bytes.
    pub client_size: u64,
    /// The media type the client gave (may be empty).
    pub client_type: String,
    /// Bytes received so far.
    pub received: u64,
    /// Percent received, 0 to 100.
    pub progress: u8,
    /// All bytes arrived: the entry can be consumed.
    pub done: bool,
    /// Why the entry is refused (`too_large`, `not_accepted`, `too_many_files`,
    /// `size_mismatch`, `write_failed`); empty when it is valid.
    pub errors: Vec<String>,
}

impl UploadEntry {
    /// The error of a file over `max_file_size` ([`TOO_LARGE`]).
    pub const TOO_LARGE: &'static str = TOO_LARGE;
    /// The error of a file `accept` refuses ([`NOT_ACCEPTED`]).
    pub const NOT_ACCEPTED: &'static str = NOT_ACCEPTED;
    /// The error of a file past `max_entries` ([`TOO_MANY_FILES`]).
    pub const TOO_MANY_FILES: &'static str = TOO_MANY_FILES;
    /// The error of a client that sent more bytes than it declared ([`SIZE_MISMATCH`]).
    pub const SIZE_MISMATCH: &'static str = SIZE_MISMATCH;
    /// The error of a file the server could not write ([`WRITE_FAILED`]).
    pub const WRITE_FAILED: &'static str = WRITE_FAILED;

    /// True when the entry has no error.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The client's size for people: `512 B`, `2.0 KB`, `4.8 MB`.
    pub fn size_text(&self) -> String {
        human_size(self.client_size)
    }
}

/// `bytes` for people, in decimal units: `512 B`, `2.0 KB`, `4.8 MB`.
///
/// ```
/// assert_eq!(livetemplate_core::upload::human_size(5_000_000), "5.0 MB");
/// ```
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b < 1_000 => format!("{b} B"),
        b if b < 1_000_000 => format!("{:.1} KB", b as f64 / 1e3),
        b if b < 1_000_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{:.1} GB", b as f64 / 1e9),
    }
}

/// A file as a client names it before sending it (the preflight).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ClientFile {
    /// The client's key for the file, echoed back with the entry's id.
    #[serde(default)]
    pub k: u32,
    /// File name.
    pub name: String,
    /// Declared size in bytes.
    pub size: u64,
    /// Declared media type.
    #[serde(default, rename = "type")]
    pub content_type: String,
}

/// A file that arrived whole (the no-JS multipart POST), in a temporary file, or refused
/// while it arrived (`error`, no file).
#[derive(Debug)]
pub struct ReceivedFile {
    /// The form field (the upload's name).
    pub field: String,
    /// The client's file name.
    pub name: String,
    /// The client's media type.
    pub content_type: String,
    /// Bytes received.
    pub size: u64,
    /// The temporary file (removed when dropped); `None` when refused.
    pub path: Option<TempPath>,
    /// Why it was refused.
    pub error: Option<&'static str>,
}

struct Slot {
    entry: UploadEntry,
    /// Open while bytes arrive.
    file: Option<tokio::fs::File>,
    /// Removed when the slot is dropped.
    path: Option<TempPath>,
}

struct UploadInner {
    name: String,
    config: UploadConfig,
    slots: Vec<Slot>,
}

impl UploadInner {
    fn live(&self) -> usize {
        self.slots.iter().filter(|s| s.entry.is_valid()).count()
    }
}

/// One declared upload as the page's state holds it: its name, its limits and its entries,
/// shared with the connection that fills it. Put it in a field of the state in `mount`, list
/// `entries()` in the template.
///
/// A default `Upload` is one no page declared: no name, no entries.
///
/// ```
/// use livetemplate_core::{Context, upload::UploadConfig};
/// let mut ctx = Context::for_test(serde_json::Value::Null);
/// let docs = ctx.allow_upload("docs", UploadConfig { max_entries: 3, ..Default::default() }).unwrap();
/// assert_eq!(docs.name(), "docs");
/// assert!(docs.multiple());
/// assert!(docs.entries().is_empty());
/// ```
#[derive(Clone, Default)]
pub struct Upload {
    inner: Option<Arc<Mutex<UploadInner>>>,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("name", &self.name())
            .field("entries", &self.entries().len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Upload {
    fn with<R>(&self, f: impl FnOnce(&UploadInner) -> R) -> Option<R> {
        self.inner.as_ref().map(|i| f(&lock(i)))
    }

    /// The upload's name (the `lvt-upload` and `name` of its file input).
    pub fn name(&self) -> String {
        self.with(|i| i.name.clone()).unwrap_or_default()
    }

    /// The `accept` attribute for the file input: the accepted extensions and types, joined
    /// with commas.
    pub fn accept(&self) -> String {
        self.with(|i| i.config.accept.join(",")).unwrap_or_default()
    }

    /// True when more than one file may be chosen (`multiple` on the input).
    pub fn multiple(&self) -> bool {
        self.max_entries() > 1
    }

    /// How many files the upload holds at once.
    pub fn max_entries(&self) -> usize {
        self.with(|i| i.config.max_entries).unwrap_or(0)
    }

    /// The largest file, in bytes.
    pub fn max_file_size(&self) -> u64 {
        self.with(|i| i.config.max_file_size).unwrap_or(0)
    }

    /// The upload's limits.
    pub fn config(&self) -> UploadConfig {
        self.with(|i| i.config.clone()).unwrap_or_default()
    }

    /// The entries, in the order they were chosen (a copy, for the template).
    pub fn entries(&self) -> Vec<UploadEntry> {
        self.with(|i| i.slots.iter().map(|s| s.entry.clone()).collect())
            .unwrap_or_default()
    }

    /// True when there is at least one valid entry that has not arrived yet.
    pub fn in_progress(&self) -> bool {
        self.with(|i| i.slots.iter().any(|s| s.entry.is_valid() && !s.entry.done))
            .unwrap_or(false)
    }
}

struct Registry {
    uploads: Vec<Arc<Mutex<UploadInner>>>,
    next_id: u32,
    dir: PathBuf,
}

/// The uploads of one live view (or one no-JS POST): every declared [`Upload`], the ids of
/// their entries and the directory their temporary files go to. Dropping it (with the view)
/// or [`clear`](Self::clear) removes every temporary file still there.
#[derive(Clone)]
pub struct Uploads {
    inner: Arc<Mutex<Registry>>,
}

impl fmt::Debug for Uploads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = lock(&self.inner);
        f.debug_struct("Uploads")
            .field("uploads", &r.uploads.len())
            .field("dir", &r.dir)
            .finish()
    }
}

impl Default for Uploads {
    fn default() -> Self {
        Uploads::new(std::env::temp_dir())
    }
}

/// What a chunk did to its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunked {
    /// The entry's progress changed (a new percent, or done): render.
    pub progressed: bool,
    /// The entry is complete.
    pub done: bool,
}

impl Uploads {
    /// A registry whose temporary files go to `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Uploads {
            inner: Arc::new(Mutex::new(Registry {
                uploads: Vec::new(),
                next_id: 1,
                dir: dir.into(),
            })),
        }
    }

    /// Declare upload `name` with `config`, or change the limits of the one already declared
    /// (its entries stay): what [`Context::allow_upload`](crate::Context::allow_upload) does.
    ///
    /// # Errors
    /// A config with `max_entries` 0 or a `chunk_size` outside `1..=MAX_CHUNK`.
    pub fn allow(&self, name: &str, config: UploadConfig) -> Result<Upload> {
        config.check(name)?;
        let mut r = lock(&self.inner);
        if let Some(u) = r.uploads.iter().find(|u| lock(u).name == name) {
            lock(u).config = config;
            return Ok(Upload { inner: Some(u.clone()) });
        }
        let u = Arc::new(Mutex::new(UploadInner {
            name: name.to_string(),
            config,
            slots: Vec::new(),
        }));
        r.uploads.push(u.clone());
        Ok(Upload { inner: Some(u) })
    }

    /// The upload called `name`, if declared.
    pub fn get(&self, name: &str) -> Option<Upload> {
        let r = lock(&self.inner);
        r.uploads
            .iter()
            .find(|u| lock(u).name == name)
            .map(|u| Upload { inner: Some(u.clone()) })
    }

    /// The names and limits of every declared upload.
    pub fn configs(&self) -> Vec<(String, UploadConfig)> {
        let r = lock(&self.inner);
        r.uploads
            .iter()
            .map(|u| {
                let u = lock(u);
                (u.name.clone(), u.config.clone())
            })
            .collect()
    }

    fn find(&self, name: &str) -> Result<Arc<Mutex<UploadInner>>> {
        let r = lock(&self.inner);
        r.uploads
            .iter()
            .find(|u| lock(u).name == name)
            .cloned()
            .ok_or_else(|| Error::msg(format!("no upload `{name}` on this page")))
    }

    fn next_id(&self) -> (u32, PathBuf) {
        let mut r = lock(&self.inner);
        let id = r.next_id;
        r.next_id = r.next_id.wrapping_add(1).max(1);
        (id, r.dir.clone())
    }

    /// The client chose `files` for upload `name`: make an entry for each, checked against the
    /// upload's limits before any byte is sent (`too_many_files`, `not_accepted`,
    /// `too_large`); a valid one gets its temporary file. Returns `(client key, entry id)` of
    /// the valid entries: the ones the client may send.
    ///
    /// Entries refused by an earlier choice are dropped; with `max_entries` 1 the new file
    /// replaces the current entry.
    ///
    /// # Errors
    /// No such upload, more than [`MAX_SELECTION`] files, or the temporary file could not be
    /// created.
    pub async fn preflight(&self, name: &str, files: Vec<ClientFile>) -> Result<Vec<(u32, u32)>> {
        let upload = self.find(name)?;
        if files.len() > MAX_SELECTION {
            return Err(Error::msg(format!("at most {MAX_SELECTION} files at once")));
        }
        let config = {
            let mut u = lock(&upload);
            u.slots.retain(|s| s.entry.is_valid());
            if u.config.max_entries == 1 && files.iter().any(|f| u.config.accepts(&f.name, &f.content_type)) {
                u.slots.clear();
            }
            u.config.clone()
        };
        let mut accepted = Vec::new();
        for f in files {
            let (id, dir) = self.next_id();
            let mut entry = UploadEntry {
                id,
                client_name: clean_name(&f.name),
                client_size: f.size,
                client_type: f.content_type.chars().take(200).collect(),
                received: 0,
                progress: 0,
                done: false,
                errors: Vec::new(),
            };
            let live = lock(&upload).live();
            if live >= config.max_entries {
                entry.errors.push(TOO_MANY_FILES.into());
            }
            if !config.accepts(&f.name, &f.content_type) {
                entry.errors.push(NOT_ACCEPTED.into());
            }
            if f.size > config.max_file_size {
                entry.errors.push(TOO_LARGE.into());
            }
            let mut slot = Slot {
                entry,
                file: None,
                path: None,
            };
            if slot.entry.is_valid() {
                let (file, path) = temp_file(&dir).await?;
                slot.path = Some(path);
                if f.size == 0 {
                    slot.entry.done = true;
                    slot.entry.progress = 100;
                } else {
                    slot.file = Some(file);
                }
                accepted.push((f.k, id));
            }
            lock(&upload).slots.push(slot);
        }
        Ok(accepted)
    }

    /// Bytes for entry `id`, written to its temporary file as they arrive. The entry fails
    /// (its file removed, `size_mismatch`) when they go past the size the client declared,
    /// which is never more than the upload's limit.
    ///
    /// # Errors
    /// No such entry (never announced, cancelled, already failed or complete), more bytes
    /// than declared, or a write error (the entry then shows `write_failed`).
    pub async fn chunk(&self, id: u32, bytes: &[u8]) -> Result<Chunked> {
        let upload = {
            let r = lock(&self.inner);
            r.uploads
                .iter()
                .find(|u| lock(u).slots.iter().any(|s| s.entry.id == id))
                .cloned()
        };
        let Some(upload) = upload else {
            return Err(Error::msg(format!("no upload entry {id}")));
        };
        let (mut file, before, size) = {
            let mut u = lock(&upload);
            let Some(slot) = u.slots.iter_mut().find(|s| s.entry.id == id) else {
                return Err(Error::msg(format!("no upload entry {id}")));
            };
            if !slot.entry.is_valid() || slot.entry.done {
                return Err(Error::msg(format!("upload entry {id} takes no more bytes")));
            }
            if slot.entry.received + bytes.len() as u64 > slot.entry.client_size {
                fail(slot, SIZE_MISMATCH);
                return Err(Error::msg(format!(
                    "upload entry {id}: more bytes than the {} declared",
                    slot.entry.client_size
                )));
            }
            // Taken out while it is written: the lock is never held across an await.
            let Some(file) = slot.file.take() else {
                return Err(Error::msg(format!("upload entry {id} is being written")));
            };
            (file, slot.entry.received, slot.entry.client_size)
        };
        let received = before + bytes.len() as u64;
        let done = received == size;
        let mut written = file.write_all(bytes).await;
        if done && written.is_ok() {
            written = file.flush().await;
        }
        let mut u = lock(&upload);
        // Cancelled while it was written: the slot and its file are gone already.
        let Some(slot) = u.slots.iter_mut().find(|s| s.entry.id == id) else {
            return Err(Error::msg(format!("upload entry {id} was cancelled")));
        };
        if let Err(err) = written {
            tracing::warn!(error = %err, "writing an upload's temporary file failed");
            fail(slot, WRITE_FAILED);
            return Err(Error::msg("the server could not store the file"));
        }
        let progress = (received * 100).checked_div(size).map_or(100, |p| p.min(100) as u8);
        let progressed = progress != slot.entry.progress || done;
        slot.entry.received = received;
        slot.entry.progress = progress;
        slot.entry.done = done;
        if !done {
            slot.file = Some(file);
        }
        Ok(Chunked { progressed, done })
    }

    /// Remove entry `id` of upload `name` and its temporary file, wherever it is.
    ///
    /// # Errors
    /// No such upload.
    pub fn cancel(&self, name: &str, id: u32) -> Result<()> {
        let upload = self.find(name)?;
        lock(&upload).slots.retain(|s| s.entry.id != id);
        Ok(())
    }

    /// Hand each complete, valid entry of upload `name` to `f` with the path of its temporary
    /// file, then remove the entry (and the file, unless `f` moved it). Entries still arriving
    /// or refused stay.
    ///
    /// # Errors
    /// No such upload; or `f`'s first error (that entry and the ones after it stay).
    pub fn consume<T>(&self, name: &str, mut f: impl FnMut(&Path, &UploadEntry) -> Result<T>) -> Result<Vec<T>> {
        let upload = self.find(name)?;
        let ready: Vec<(UploadEntry, PathBuf)> = lock(&upload)
            .slots
            .iter()
            .filter(|s| s.entry.done && s.entry.is_valid())
            .filter_map(|s| Some((s.entry.clone(), s.path.as_ref()?.to_path_buf())))
            .collect();
        let mut out = Vec::with_capacity(ready.len());
        for (entry, path) in ready {
            let value = f(&path, &entry)?;
            lock(&upload).slots.retain(|s| s.entry.id != entry.id);
            out.push(value);
        }
        Ok(out)
    }

    /// Remove every entry and temporary file (the connection closed).
    pub fn clear(&self) {
        let r = lock(&self.inner);
        for u in &r.uploads {
            lock(u).slots.clear();
        }
    }

    /// After a no-JS POST's action: remove the entries it did not consume and their files,
    /// keeping the refused ones so the page shows their errors.
    pub fn finish_post(&self) {
        let r = lock(&self.inner);
        for u in &r.uploads {
            lock(u).slots.retain(|s| !s.entry.is_valid());
        }
    }

    /// Files of a no-JS POST, already received (and checked as they arrived): each becomes an
    /// entry of the upload its field names, checked again against the limits; a file for no
    /// declared upload is dropped (and its temporary file removed). Entries refused by an
    /// earlier POST are dropped first, as a new choice drops them with JavaScript.
    pub fn attach(&self, files: Vec<ReceivedFile>) {
        for u in &lock(&self.inner).uploads {
            lock(u).slots.retain(|s| s.entry.is_valid());
        }
        for file in files {
            let Ok(upload) = self.find(&file.field) else {
                continue;
            };
            let (id, _) = self.next_id();
            let mut u = lock(&upload);
            let mut entry = UploadEntry {
                id,
                client_name: clean_name(&file.name),
                client_size: file.size,
                client_type: file.content_type.chars().take(200).collect(),
                received: file.size,
                progress: 100,
                done: true,
                errors: Vec::new(),
            };
            // Every reason, in the order a JavaScript choice lists them.
            if u.live() >= u.config.max_entries {
                entry.errors.push(TOO_MANY_FILES.into());
            }
            if !u.config.accepts(&file.name, &file.content_type) {
                entry.errors.push(NOT_ACCEPTED.into());
            }
            if file.size > u.config.max_file_size {
                entry.errors.push(TOO_LARGE.into());
            }
            if let Some(err) = file.error
                && !entry.errors.iter().any(|e| e == err)
            {
                entry.errors.push(err.into());
            }
            let path = if entry.is_valid() { file.path } else { None };
            if path.is_none() && entry.is_valid() {
                entry.errors.push(WRITE_FAILED.into());
            }
            if !entry.is_valid() {
                entry.progress = 0;
                entry.done = false;
                entry.received = 0;
            }
            u.slots.push(Slot {
                entry,
                file: None,
                path,
            });
        }
    }

    /// Whether `id` was given to an entry of this registry (it may be gone since).
    pub fn issued(&self, id: u32) -> bool {
        id >= 1 && id < lock(&self.inner).next_id
    }

    /// Whether entry `id` is still there (not cancelled, consumed or cleared).
    pub fn has_entry(&self, id: u32) -> bool {
        let r = lock(&self.inner);
        r.uploads.iter().any(|u| lock(u).slots.iter().any(|s| s.entry.id == id))
    }

    /// Copy the uploads of `other` (a no-JS POST's, which hold only refused entries by then)
    /// into this registry: their limits and their refused entries, never a file.
    pub fn adopt(&self, other: &Uploads) {
        if Arc::ptr_eq(&self.inner, &other.inner) {
            return;
        }
        let theirs: Vec<(String, UploadConfig, Vec<UploadEntry>)> = {
            let o = lock(&other.inner);
            o.uploads
                .iter()
                .map(|u| {
                    let u = lock(u);
                    let refused = u.slots.iter().filter(|s| !s.entry.is_valid()).map(|s| s.entry.clone());
                    (u.name.clone(), u.config.clone(), refused.collect())
                })
                .collect()
        };
        for (name, config, entries) in theirs {
            let Ok(upload) = self.allow(&name, config) else {
                continue;
            };
            let Some(inner) = upload.inner else { continue };
            let mut u = lock(&inner);
            for mut entry in entries {
                entry.id = self.next_id().0;
                u.slots.push(Slot {
                    entry,
                    file: None,
                    path: None,
                });
            }
        }
    }

    /// The temporary files currently held, for tests and diagnostics.
    pub fn temp_paths(&self) -> Vec<PathBuf> {
        let r = lock(&self.inner);
        r.uploads
            .iter()
            .flat_map(|u| {
                lock(u)
                    .slots
                    .iter()
                    .filter_map(|s| s.path.as_ref().map(|p| p.to_path_buf()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The directory temporary files go to.
    pub fn dir(&self) -> PathBuf {
        lock(&self.inner).dir.clone()
    }
}

/// Refuse the entry: its file is removed at once.
fn fail(slot: &mut Slot, error: &str) {
    slot.entry.errors.push(error.into());
    slot.file = None;
    slot.path = None;
}

/// A client's file name as shown: its last path component, without control characters, at
/// most 255 characters; a longer one is cut before its extension (a dot and at most 16
/// characters after it), which it keeps.
fn clean_name(name: &str) -> String {
    const MAX: usize = 255;
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let chars: Vec<char> = base.chars().filter(|c| !c.is_control()).collect();
    if chars.len() <= MAX {
        return chars.into_iter().collect();
    }
    let ext = chars
        .iter()
        .rposition(|c| *c == '.')
        .filter(|&dot| dot > 0 && chars.len() - dot <= 17)
        .map_or(0, |dot| chars.len() - dot);
    chars[..MAX - ext].iter().chain(&chars[chars.len() - ext..]).collect()
}

/// A new temporary file in `dir` (named `lvt-upload-…`), open for writing, removed when its
/// path is dropped.
pub async fn temp_file(dir: &Path) -> Result<(tokio::fs::File, TempPath)> {
    let dir = dir.to_path_buf();
    let made = tokio::task::spawn_blocking(move || tempfile::Builder::new().prefix("lvt-upload-").tempfile_in(dir))
        .await
        .map_err(|e| Error::msg(format!("creating an upload's temporary file: {e}")))?;
    let file = made.map_err(|e| {
        tracing::warn!(error = %e, "could not create an upload's temporary file");
        Error::msg("the server could not store the file")
    })?;
    let (file, path) = file.into_parts();
    Ok((tokio::fs::File::from_std(file), path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(k: u32, name: &str, size: u64, ty: &str) -> ClientFile {
        ClientFile {
            k,
            name: name.into(),
            size,
            content_type: ty.into(),
        }
    }

    fn avatar() -> UploadConfig {
        UploadConfig {
            accept: [".png", ".jpg", ".jpeg", ".gif", ".webp"].map(String::from).to_vec(),
            max_file_size: 2_000_000,
            ..UploadConfig::default()
        }
    }

    fn registry() -> (Uploads, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Uploads::new(dir.path()), dir)
    }

    fn files_in(dir: &tempfile::TempDir) -> usize {
        std::fs::read_dir(dir.path()).unwrap().count()
    }

    #[tokio::test]
    async fn preflight_refuses_before_any_byte() {
        let (ups, dir) = registry();
        let up = ups.allow("avatar", avatar()).unwrap();
        let ok = ups
            .preflight("avatar", vec![file(7, "big.png", 3_000_000, "image/png")])
            .await
            .unwrap();
        assert!(ok.is_empty());
        assert_eq!(up.entries()[0].errors, [TOO_LARGE]);
        let ok = ups
            .preflight("avatar", vec![file(8, "notes.txt", 10, "text/plain")])
            .await
            .unwrap();
        assert!(ok.is_empty());
        assert_eq!(up.entries().len(), 1, "the earlier refused entry is dropped");
        assert_eq!(up.entries()[0].errors, [NOT_ACCEPTED]);
        assert_eq!(files_in(&dir), 0, "refused entries get no temporary file");
    }

    #[tokio::test]
    async fn bytes_arrive_in_chunks_to_a_temporary_file() {
        let (ups, dir) = registry();
        let up = ups
            .allow(
                "docs",
                UploadConfig {
                    max_entries: 3,
                    ..Default::default()
                },
            )
            .unwrap();
        let ok = ups.preflight("docs", vec![file(1, "a.bin", 10, "")]).await.unwrap();
        let id = ok[0].1;
        assert_eq!(ok, [(1, id)]);
        assert_eq!(files_in(&dir), 1);
        let c = ups.chunk(id, b"01234").await.unwrap();
        assert_eq!(
            c,
            Chunked {
                progressed: true,
                done: false
            }
        );
        assert_eq!(up.entries()[0].progress, 50);
        let c = ups.chunk(id, b"56789").await.unwrap();
        assert!(c.done);
        assert!(
            ups.chunk(id, b"x").await.is_err(),
            "a complete entry takes no more bytes"
        );
        let got = ups
            .consume("docs", |path, e| {
                Ok((std::fs::read(path).unwrap(), e.client_name.clone()))
            })
            .unwrap();
        assert_eq!(got, [(b"0123456789".to_vec(), "a.bin".to_string())]);
        assert!(up.entries().is_empty());
        assert_eq!(files_in(&dir), 0, "consumed: the temporary file is gone");
    }

    #[tokio::test]
    async fn a_client_that_lies_about_the_size_is_stopped_at_the_declared_size() {
        let (ups, dir) = registry();
        let up = ups.allow("avatar", avatar()).unwrap();
        // Declares 1 KB (under the 2 MB limit), then sends more.
        let ok = ups
            .preflight("avatar", vec![file(1, "me.png", 1_000, "image/png")])
            .await
            .unwrap();
        let id = ok[0].1;
        ups.chunk(id, &[0; 600]).await.unwrap();
        assert!(ups.chunk(id, &[0; 600]).await.is_err());
        assert_eq!(up.entries()[0].errors, [SIZE_MISMATCH]);
        assert_eq!(files_in(&dir), 0, "the failed entry's file is removed at once");
        assert!(
            ups.chunk(id, &[0; 10]).await.is_err(),
            "a failed entry takes nothing more"
        );
        assert!(ups.consume("avatar", |_, _| Ok(())).unwrap().is_empty());
        // Sending fewer bytes than declared never completes the entry.
        let ok = ups
            .preflight("avatar", vec![file(2, "me.png", 1_000, "image/png")])
            .await
            .unwrap();
        ups.chunk(ok[0].1, &[0; 999]).await.unwrap();
        assert!(ups.consume("avatar", |_, _| Ok(())).unwrap().is_empty());
        // Bytes for an entry never announced (or refused) are refused.
        assert!(ups.chunk(9999, b"x").await.is_err());
    }

    #[tokio::test]
    async fn too_many_files_and_cancel_and_clear() {
        let (ups, dir) = registry();
        let up = ups
            .allow(
                "docs",
                UploadConfig {
                    max_entries: 3,
                    ..Default::default()
                },
            )
            .unwrap();
        let four: Vec<_> = (0..4).map(|k| file(k, &format!("f{k}.txt"), 5, "text/plain")).collect();
        let ok = ups.preflight("docs", four).await.unwrap();
        assert_eq!(ok.len(), 3);
        let errs: Vec<_> = up.entries().into_iter().map(|e| e.errors).collect();
        assert_eq!(errs[3], [TOO_MANY_FILES]);
        assert_eq!(files_in(&dir), 3);
        ups.cancel("docs", ok[0].1).unwrap();
        assert_eq!(files_in(&dir), 2, "a cancelled entry's file is removed");
        // A selection after a cancel has room again.
        let ok2 = ups.preflight("docs", vec![file(9, "g.txt", 5, "")]).await.unwrap();
        assert_eq!(ok2.len(), 1);
        ups.chunk(ok[1].1, b"12345").await.unwrap();
        ups.clear();
        assert_eq!(files_in(&dir), 0, "clear (a disconnect) removes every file");
        assert!(up.entries().is_empty());
    }

    #[tokio::test]
    async fn no_js_files_are_checked_again_and_unconsumed_ones_removed() {
        let (ups, dir) = registry();
        let up = ups.allow("avatar", avatar()).unwrap();
        let (_, path) = temp_file(dir.path()).await.unwrap();
        let (_, bad) = temp_file(dir.path()).await.unwrap();
        ups.attach(vec![
            ReceivedFile {
                field: "avatar".into(),
                name: "a.png".into(),
                content_type: "image/png".into(),
                size: 3,
                path: Some(path),
                error: None,
            },
            ReceivedFile {
                field: "avatar".into(),
                name: "b.txt".into(),
                content_type: "text/plain".into(),
                size: 3,
                path: Some(bad),
                error: None,
            },
        ]);
        let e = up.entries();
        assert!(e[0].done && e[0].is_valid());
        assert_eq!(
            e[1].errors,
            [TOO_MANY_FILES, NOT_ACCEPTED],
            "every reason, as a preflight lists them"
        );
        assert_eq!(files_in(&dir), 1, "a refused file is removed at once");
        ups.finish_post();
        assert_eq!(files_in(&dir), 0, "unconsumed files are removed after the action");
        assert_eq!(up.entries().len(), 1, "refused entries stay to show their errors");
    }

    #[test]
    fn accept_matches_extensions_and_types() {
        let c = UploadConfig {
            accept: vec![".jpeg".into(), "image/*".into(), "application/pdf".into()],
            ..Default::default()
        };
        assert!(c.accepts("A.JPEG", ""));
        assert!(c.accepts("x", "image/gif"));
        assert!(c.accepts("x", "application/pdf"));
        assert!(!c.accepts(".jpeg", ""), "a bare extension is no file name");
        assert!(!c.accepts("x.txt", "text/plain"));
        assert!(!c.accepts("x", "image/"));
        assert_eq!(clean_name("C:\\Users\\me\\a.png"), "a.png");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        let long = format!("{}.pdf", "é".repeat(300));
        let cut = clean_name(&long);
        assert_eq!(cut.chars().count(), 255);
        assert!(cut.ends_with("é.pdf"), "{cut}");
        assert_eq!(clean_name(&"x".repeat(300)), "x".repeat(255));
        let no_ext = format!("a.{}", "b".repeat(300));
        assert_eq!(clean_name(&no_ext).chars().count(), 255);
        assert!(clean_name(&no_ext).starts_with("a.b"));
        assert!(
            UploadConfig {
                max_entries: 0,
                ..Default::default()
            }
            .check("x")
            .is_err()
        );
        assert!(
            UploadConfig {
                chunk_size: MAX_CHUNK + 1,
                ..Default::default()
            }
            .check("x")
            .is_err()
        );
    }
}
