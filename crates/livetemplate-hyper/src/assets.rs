//! Serving the app's static assets ([`AppBuilder::asset`](livetemplate_core::AppBuilder::asset),
//! `stylesheet`, `script`) and the empty icon every document links
//! ([`ICON_PATH`](livetemplate_core::asset::ICON_PATH)).
//!
//! Each answer has a strong ETag (`If-None-Match` → 304). A URL whose `v=` is the asset's
//! version is cached as immutable (the document links those); the bare path is revalidated on
//! each use (`no-cache`), so a deploy is seen at once.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH};
use hyper::{Method, Response, StatusCode};
use livetemplate_core::App;
use livetemplate_core::asset::{Asset, ICON_PATH, ICON_SVG};

use crate::ResponseBody;
use crate::client_js::etag_matches;

const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
const CACHE_REVALIDATE: &str = "no-cache";

/// The answer for `path` when it is the icon or one of the app's assets, else `None`.
pub(crate) fn respond(
    app: &App,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
) -> Option<Response<ResponseBody>> {
    let icon;
    let asset = if path == ICON_PATH && app.asset(path).is_none() {
        icon = Asset::new(ICON_PATH, "image/svg+xml", ICON_SVG);
        &icon
    } else {
        app.asset(path)?
    };
    if !matches!(*method, Method::GET | Method::HEAD) {
        let mut resp = Response::new(Full::new(Bytes::from_static(b"Use GET or HEAD.\n")));
        *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        resp.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(resp);
    }
    let etag = asset.etag();
    let versioned = query
        .split('&')
        .any(|kv| kv.strip_prefix("v=") == Some(asset.version()));
    let not_modified = headers.get_all(IF_NONE_MATCH).iter().any(|h| etag_matches(h, &[&etag]));
    let mut resp = if not_modified {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        Response::new(Full::new(Bytes::copy_from_slice(asset.body())))
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, v);
    }
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static(if versioned { CACHE_IMMUTABLE } else { CACHE_REVALIDATE }),
    );
    if !not_modified && let Ok(v) = HeaderValue::from_str(asset.content_type()) {
        h.insert(CONTENT_TYPE, v);
    }
    Some(resp)
}

/// The answer for `path` when it names a file in one of the app's served directories
/// ([`AppBuilder::serve_dir`](livetemplate_core::AppBuilder::serve_dir)), else `None`.
pub(crate) async fn respond_file(app: &App, method: &Method, path: &str) -> Option<Response<ResponseBody>> {
    let (dir, name) = app.config().served_dirs.iter().find_map(|(prefix, dir)| {
        let name = path.strip_prefix(prefix.as_str())?.strip_prefix('/')?;
        Some((dir, name))
    })?;
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !plain {
        return None;
    }
    if !matches!(*method, Method::GET | Method::HEAD) {
        let mut resp = Response::new(Full::new(Bytes::from_static(b"Use GET or HEAD.\n")));
        *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        resp.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(resp);
    }
    let body = tokio::fs::read(dir.join(name)).await.ok()?;
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let media = match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(media));
    h.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_REVALIDATE));
    if media == "application/octet-stream" {
        h.insert("content-disposition", HeaderValue::from_static("attachment"));
    }
    Some(resp)
}
