//! `/uploads`: two upload forms. An avatar (one image of at most 2 MB, sent when the form is
//! submitted) and documents (up to three files of any type, at most 10 MB each, sent as soon as
//! they are chosen or dropped). Each lists its entries with name, size, progress and errors;
//! after a submit the saved files are listed, the avatar shown from `/uploads/files/…`. The
//! same forms post as `multipart/form-data` with JavaScript off, with the same limits.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use livetemplate::AppBuilder;
use livetemplate::prelude::*;

/// Where saved files are served.
pub const FILES_PATH: &str = "/uploads/files";

/// A saved file, as the page lists it.
#[derive(Clone, Debug, Default)]
pub struct SavedFile {
    /// The client's file name.
    pub name: String,
    /// Its size, for people.
    pub size: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Where it is served.
    pub url: String,
}

/// The page's state: the two uploads and what was saved.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(template = "uploads.html")]
pub struct UploadsState {
    /// Page title.
    pub title: String,
    /// Nav category.
    pub category: String,
    /// One image, at most 2 MB.
    pub avatar: Upload,
    /// Up to three files, at most 10 MB each.
    pub documents: Upload,
    /// The saved avatar, if any.
    pub saved_avatar: Option<SavedFile>,
    /// The saved documents, newest last.
    pub saved_documents: Vec<SavedFile>,
}

/// The uploads page: saves files into `dir`.
#[derive(Debug)]
pub struct UploadsController {
    dir: PathBuf,
}

/// The longest cleaned client name kept in a saved file's name, in bytes (ASCII).
const MAX_NAME: usize = 120;

/// Numbers saved files, so their names never collide.
static SAVED: AtomicU64 = AtomicU64::new(0);

impl UploadsController {
    /// Move (or copy, across file systems) the upload at `path` into the saved directory.
    fn keep(&self, path: &Path, entry: &UploadEntry) -> Result<SavedFile> {
        let clean: String = entry
            .client_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let clean = clean.trim_start_matches('.');
        // File systems allow 255 bytes per name: keep the start and the extension of a long one.
        let clean = match clean.rfind('.') {
            _ if clean.len() <= MAX_NAME => clean.to_string(),
            Some(dot) if clean.len() - dot <= 16 => {
                format!("{}{}", &clean[..MAX_NAME - (clean.len() - dot)], &clean[dot..])
            }
            _ => clean[..MAX_NAME].to_string(),
        };
        // The counter starts again with the process: skip names a run before this one left.
        let (stored, to) = loop {
            let stored = format!("{}-{clean}", SAVED.fetch_add(1, Ordering::Relaxed) + 1);
            let to = self.dir.join(&stored);
            if !to.exists() {
                break (stored, to);
            }
        };
        if std::fs::rename(path, &to).is_err() {
            std::fs::copy(path, &to).map_err(|e| Error::msg(format!("could not save {}: {e}", entry.client_name)))?;
        }
        Ok(SavedFile {
            name: entry.client_name.clone(),
            size: entry.size_text(),
            bytes: entry.client_size,
            url: format!("{FILES_PATH}/{stored}"),
        })
    }
}

#[actions]
impl UploadsController {
    async fn mount(&self, state: &mut UploadsState, ctx: &mut Context) -> Result<()> {
        state.avatar = ctx.allow_upload(
            "avatar",
            UploadConfig {
                accept: [".png", ".jpg", ".jpeg", ".gif", ".webp"].map(String::from).to_vec(),
                max_entries: 1,
                max_file_size: 2_000_000,
                ..UploadConfig::default()
            },
        )?;
        state.documents = ctx.allow_upload(
            "documents",
            UploadConfig {
                max_entries: 3,
                max_file_size: 10_000_000,
                auto_upload: true,
                ..UploadConfig::default()
            },
        )?;
        Ok(())
    }

    /// Save the avatar that arrived.
    async fn save_avatar(&self, state: &mut UploadsState, ctx: &mut Context) -> Result<()> {
        let saved = ctx.consume_uploads("avatar", |path, entry| self.keep(path, entry))?;
        if let Some(avatar) = saved.into_iter().last() {
            state.saved_avatar = Some(avatar);
        }
        Ok(())
    }

    /// Save the documents that arrived.
    async fn save_documents(&self, state: &mut UploadsState, ctx: &mut Context) -> Result<()> {
        let saved = ctx.consume_uploads("documents", |path, entry| self.keep(path, entry))?;
        state.saved_documents.extend(saved);
        Ok(())
    }
}

/// Add `/uploads`, saving files into `dir` (created) and serving them at [`FILES_PATH`].
pub fn register(b: AppBuilder, dir: &Path) -> AppBuilder {
    if let Err(err) = std::fs::create_dir_all(dir) {
        tracing::warn!(dir = %dir.display(), error = %err, "cannot create the uploads directory");
    }
    b.serve_dir(FILES_PATH, dir).page(
        "/uploads",
        UploadsController { dir: dir.to_path_buf() },
        UploadsState {
            title: "Uploads".into(),
            category: "Forms".into(),
            ..UploadsState::default()
        },
    )
}
