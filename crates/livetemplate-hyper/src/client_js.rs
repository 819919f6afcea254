//! The browser client bundle served at [`CLIENT_JS_PATH`]: embedded at build time, with a
//! strong ETag, cache headers, and a gzip copy made once on first use.

use std::io::Write as _;
use std::sync::OnceLock;

use flate2::Compression;
use flate2::write::GzEncoder;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, HeaderValue, IF_NONE_MATCH, VARY,
};
use hyper::{HeaderMap, Response, StatusCode};
use livetemplate_core::asset::fnv1a;

/// Where the client bundle is served.
pub const CLIENT_JS_PATH: &str = "/_lvt/client.js";

/// The client bundle (`js/` builds it into this crate's `assets/`).
static CLIENT_JS: &[u8] = include_bytes!("../assets/client.js");

/// FNV-1a of the bundle, computed at compile time: the ETag changes exactly when the bytes do.
const HASH: u64 = fnv1a(CLIENT_JS);

/// Browsers revalidate after this long; the ETag makes that a bodyless 304.
const CACHE: &str = "public, max-age=3600";
/// For `?v=<hash>` URLs, whose content can never change.
const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";

struct Variants {
    etag: String,
    gzip_etag: String,
    version: String,
    gzip: Option<Bytes>,
}

fn variants() -> &'static Variants {
    static V: OnceLock<Variants> = OnceLock::new();
    V.get_or_init(|| {
        let mut enc = GzEncoder::new(Vec::with_capacity(CLIENT_JS.len() / 3), Compression::best());
        let gzip = enc.write_all(CLIENT_JS).and_then(|()| enc.finish()).ok();
        Variants {
            etag: format!("\"{HASH:016x}\""),
            gzip_etag: format!("\"{HASH:016x}-gz\""),
            version: format!("{HASH:016x}"),
            gzip: gzip.map(Bytes::from),
        }
    })
}

/// The URL of the client bundle with a version query (`/_lvt/client.js?v=…`): responses to it
/// are cached as immutable, so a document that links this URL never loads a stale client.
///
/// ```
/// # mod livetemplate { pub use livetemplate_core::{App, Result}; pub use livetemplate_hyper::{LiveService, Server, serve_with_shutdown, client_script_url, Error as TransportError}; }
/// let url = livetemplate::client_script_url();
/// assert!(url.starts_with("/_lvt/client.js?v="));
/// ```
pub fn client_script_url() -> String {
    format!("{CLIENT_JS_PATH}?v={}", variants().version)
}

/// Answer a GET or HEAD of the bundle.
pub(crate) fn respond(headers: &HeaderMap, query: &str) -> Response<Full<Bytes>> {
    let v = variants();
    let gzip = v.gzip.as_ref().filter(|_| accepts_gzip(headers));
    let etag = if gzip.is_some() { &v.gzip_etag } else { &v.etag };
    let versioned = query
        .split('&')
        .any(|kv| kv.strip_prefix("v=") == Some(v.version.as_str()));
    let builder = Response::builder()
        .header(ETAG, etag.as_str())
        .header(CACHE_CONTROL, if versioned { CACHE_IMMUTABLE } else { CACHE })
        .header(VARY, "Accept-Encoding")
        .header("x-content-type-options", "nosniff");
    let not_modified = headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .any(|h| etag_matches(h, &[&v.etag, &v.gzip_etag]));
    let response = if not_modified {
        builder.status(StatusCode::NOT_MODIFIED).body(Full::new(Bytes::new()))
    } else {
        let builder = builder.header(CONTENT_TYPE, "text/javascript; charset=utf-8");
        match gzip {
            Some(body) => builder.header(CONTENT_ENCODING, "gzip").body(Full::new(body.clone())),
            None => builder.body(Full::new(Bytes::from_static(CLIENT_JS))),
        }
    };
    response.unwrap_or_else(|_| Response::new(Full::new(Bytes::from_static(CLIENT_JS))))
}

/// True when `If-None-Match` lists one of `tags` (weak comparison, as RFC 9110 asks) or `*`.
pub(crate) fn etag_matches(header: &HeaderValue, tags: &[&str]) -> bool {
    let Ok(header) = header.to_str() else {
        return false;
    };
    header.split(',').map(str::trim).any(|t| {
        t == "*" || {
            let t = t.strip_prefix("W/").unwrap_or(t);
            tags.contains(&t)
        }
    })
}

/// True when `Accept-Encoding` accepts gzip (listed, or `*`, without `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut star = None;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(!q_zero);
            } else if coding == "*" {
                star = Some(!q_zero);
            }
        }
    }
    gzip.or(star).unwrap_or(false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn accept_encoding() {
        assert!(accepts_gzip(&h(&[("accept-encoding", "gzip, deflate, br")])));
        assert!(accepts_gzip(&h(&[("accept-encoding", "br;q=1.0, gzip;q=0.8")])));
        assert!(!accepts_gzip(&h(&[("accept-encoding", "gzip;q=0, br")])));
        assert!(!accepts_gzip(&h(&[("accept-encoding", "identity")])));
        assert!(accepts_gzip(&h(&[("accept-encoding", "*")])));
        assert!(!accepts_gzip(&h(&[("accept-encoding", "*, gzip;q=0")])));
        assert!(!accepts_gzip(&h(&[])));
    }

    #[test]
    fn if_none_match() {
        let tags = ["\"abc\"", "\"abc-gz\""];
        assert!(etag_matches(&HeaderValue::from_static("\"x\", W/\"abc\""), &tags));
        assert!(etag_matches(&HeaderValue::from_static("*"), &tags));
        assert!(!etag_matches(&HeaderValue::from_static("\"abcd\""), &tags));
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(fnv1a(b"ab"), fnv1a(b"ba"));
    }
}
