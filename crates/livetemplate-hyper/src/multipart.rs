//! The no-JS form POST with files: a `multipart/form-data` body read as a stream (the `multer`
//! crate), its text fields kept for the action, each file written to a temporary file as it
//! arrives and checked against the limits the page declared with `allow_upload`, as the
//! WebSocket path checks them: a file past `max_file_size` stops being written (`too_large`),
//! one the upload's `accept` refuses or one past `max_entries` is never written at all
//! (`not_accepted`, `too_many_files`). Refused files are still read to the end of their part,
//! so the browser gets its answer, but the whole body is bounded.

use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use http_body_util::BodyStream;
use hyper::body::{Body, Buf, Bytes};
use livetemplate_core::upload::{self, NOT_ACCEPTED, ReceivedFile, TOO_LARGE, TOO_MANY_FILES, UploadConfig};
use tokio::io::AsyncWriteExt;

/// A body's error, as multer takes it.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a multipart body could not be read.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The body is larger than every declared upload together allows.
    TooLarge(u64),
    /// A read waited longer than `body_timeout`.
    Timeout,
    /// Malformed multipart, or the connection failed.
    Bad(String),
    /// A temporary file could not be written.
    Disk,
}

/// What a multipart form carried: its text fields in order, and its files.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub(crate) fields: Vec<(String, String)>,
    pub(crate) files: Vec<ReceivedFile>,
}

/// The largest body a form for `uploads` may have: every upload full, plus `text_limit` for
/// the text fields and a margin for the parts' headers.
pub(crate) fn body_limit(uploads: &[(String, UploadConfig)], text_limit: usize) -> u64 {
    let files: u64 = uploads
        .iter()
        .map(|(_, c)| c.max_file_size.saturating_mul(c.max_entries as u64))
        .fold(0u64, u64::saturating_add);
    files.saturating_add(text_limit as u64).saturating_add(64 * 1024)
}

/// Read the form in `body` (its `boundary` from the content type), writing files for
/// `uploads` into `dir`. Text fields together may be at most `text_limit` bytes; each read
/// may wait at most `idle`.
pub(crate) async fn read<B>(
    body: B,
    boundary: String,
    uploads: &[(String, UploadConfig)],
    dir: &Path,
    text_limit: usize,
    idle: Duration,
) -> Result<Form, Failure>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limit = body_limit(uploads, text_limit);
    // Trailers carry no form bytes: an empty chunk.
    let stream = BodyStream::new(body).map(|frame| -> Result<Bytes, BoxError> {
        match frame {
            Ok(frame) => Ok(frame
                .into_data()
                .map_or_else(|_| Bytes::new(), |mut d| d.copy_to_bytes(d.remaining()))),
            Err(err) => Err(err.into()),
        }
    });
    let constraints = multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit));
    let mut form = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut out = Form::default();
    let mut text = 0usize;
    let failed = |err: multer::Error| match err {
        multer::Error::StreamSizeExceeded { .. } => Failure::TooLarge(limit),
        other => Failure::Bad(other.to_string()),
    };
    while let Some(mut field) = wait(idle, form.next_field()).await?.map_err(failed)? {
        let name = field.name().unwrap_or_default().to_string();
        let Some(file_name) = field.file_name().map(str::to_string) else {
            let mut value = Vec::new();
            while let Some(chunk) = wait(idle, field.chunk()).await?.map_err(failed)? {
                text += chunk.len();
                if text > text_limit {
                    return Err(Failure::TooLarge(limit));
                }
                value.extend_from_slice(&chunk);
            }
            out.fields.push((name, String::from_utf8_lossy(&value).into_owned()));
            continue;
        };
        let content_type = field
            .content_type()
            .map(|m| m.essence_str().to_string())
            .unwrap_or_default();
        let config = uploads.iter().find(|(n, _)| *n == name).map(|(_, c)| c);
        // A file input left empty still sends a part, with no name and no bytes.
        let skip = file_name.is_empty() || config.is_none();
        let kept = out
            .files
            .iter()
            .filter(|f| f.field == name && f.error.is_none())
            .count();
        let refusal = match config {
            _ if skip => None,
            Some(c) if kept >= c.max_entries => Some(TOO_MANY_FILES),
            Some(c) if !c.accepts(&file_name, &content_type) => Some(NOT_ACCEPTED),
            _ => None,
        };
        let max = config.map_or(0, |c| c.max_file_size);
        let mut file = match (skip, refusal) {
            (false, None) => Some(upload::temp_file(dir).await.map_err(|_| Failure::Disk)?),
            _ => None,
        };
        let mut size = 0u64;
        let mut error = refusal;
        while let Some(chunk) = wait(idle, field.chunk()).await?.map_err(failed)? {
            size += chunk.len() as u64;
            if size > max && error.is_none() && !skip {
                // Past the limit: the file is dropped (and removed) now, the rest only read.
                error = Some(TOO_LARGE);
                file = None;
            }
            if let Some((f, _)) = file.as_mut() {
                f.write_all(&chunk).await.map_err(|_| Failure::Disk)?;
            }
        }
        if skip {
            continue;
        }
        let path = match file {
            Some((mut f, path)) => {
                f.flush().await.map_err(|_| Failure::Disk)?;
                Some(path)
            }
            None => None,
        };
        out.files.push(ReceivedFile {
            field: name,
            name: file_name,
            content_type,
            size,
            path,
            error,
        });
    }
    Ok(out)
}

/// `f`, unless it takes longer than `idle`.
async fn wait<T>(idle: Duration, f: impl std::future::Future<Output = T>) -> Result<T, Failure> {
    tokio::time::timeout(idle, f).await.map_err(|_| Failure::Timeout)
}

/// The boundary of a `multipart/form-data` content type, when it is one.
pub(crate) fn boundary(content_type: Option<&str>) -> Option<String> {
    let ct = content_type?;
    let mime = ct.split(';').next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    multer::parse_boundary(ct).ok()
}
