//! Static files an app serves beside its pages (a stylesheet, a hooks script, an icon), so a
//! page needs no inline `<style>` or `<script>` and runs under a strict Content Security Policy
//! (`default-src 'self'; script-src 'self'`).
//!
//! An [`Asset`] is registered with [`AppBuilder::asset`](crate::AppBuilder::asset) (or the
//! [`stylesheet`](crate::AppBuilder::stylesheet) and [`script`](crate::AppBuilder::script)
//! shortcuts, which also link it from the document head) and served by the transport with a
//! strong ETag derived from its bytes.

use std::borrow::Cow;
use std::fmt;

/// The path of the empty icon every document links unless the app's head names its own (a
/// `data:` URL would be an image load that `default-src 'self'` blocks).
pub const ICON_PATH: &str = "/_lvt/icon.svg";

/// The body served at [`ICON_PATH`]: an empty SVG image.
pub const ICON_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";

/// A static file served at a fixed path: its media type, its bytes, and an ETag computed from
/// the bytes once, when it is created.
///
/// ```
/// use livetemplate_core::asset::Asset;
/// let css = Asset::new("/app.css", "text/css; charset=utf-8", "body{margin:0}");
/// assert_eq!(css.path(), "/app.css");
/// assert_eq!(css.body(), b"body{margin:0}");
/// assert!(css.etag().starts_with('"') && css.etag().ends_with('"'));
/// assert_eq!(css.versioned_url(), format!("/app.css?v={}", css.version()));
/// ```
#[derive(Clone)]
pub struct Asset {
    path: String,
    content_type: String,
    body: Cow<'static, [u8]>,
    version: String,
}

impl fmt::Debug for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Asset")
            .field("path", &self.path)
            .field("content_type", &self.content_type)
            .field("bytes", &self.body.len())
            .field("version", &self.version)
            .finish()
    }
}

impl Asset {
    /// An asset served at `path` (absolute, e.g. `/app.css`) as `content_type` (the
    /// `Content-Type` value, e.g. `text/css; charset=utf-8`). `body` is usually an
    /// `include_str!` or `include_bytes!`, so it is borrowed, not copied.
    pub fn new(path: impl Into<String>, content_type: impl Into<String>, body: impl Into<AssetBody>) -> Self {
        let body = body.into().0;
        Asset {
            path: path.into(),
            content_type: content_type.into(),
            version: format!("{:016x}", fnv1a(&body)),
            body,
        }
    }

    /// Where it is served (path only, no query).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Its `Content-Type`.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// Its bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// A hash of the bytes (16 hex digits): it changes exactly when the bytes do.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The strong ETag (the quoted [`version`](Self::version)).
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }

    /// `path?v=<version>`: the transport caches responses to this URL as immutable, so a
    /// document that links it never shows a stale copy after a deploy.
    pub fn versioned_url(&self) -> String {
        format!("{}?v={}", self.path, self.version)
    }
}

/// The bytes of an asset ([`AppBuilder::asset`](crate::AppBuilder::asset),
/// [`stylesheet`](crate::AppBuilder::stylesheet), [`script`](crate::AppBuilder::script)): from
/// a `&'static str` or `&'static [u8]` (an `include_str!` or `include_bytes!`, borrowed, not
/// copied), or a `String` or `Vec<u8>` built at startup.
#[derive(Debug, Clone)]
pub struct AssetBody(Cow<'static, [u8]>);

impl From<&'static str> for AssetBody {
    fn from(s: &'static str) -> Self {
        AssetBody(Cow::Borrowed(s.as_bytes()))
    }
}

impl From<&'static [u8]> for AssetBody {
    fn from(b: &'static [u8]) -> Self {
        AssetBody(Cow::Borrowed(b))
    }
}

impl<const N: usize> From<&'static [u8; N]> for AssetBody {
    fn from(b: &'static [u8; N]) -> Self {
        AssetBody(Cow::Borrowed(b.as_slice()))
    }
}

impl From<String> for AssetBody {
    fn from(s: String) -> Self {
        AssetBody(Cow::Owned(s.into_bytes()))
    }
}

impl From<Vec<u8>> for AssetBody {
    fn from(b: Vec<u8>) -> Self {
        AssetBody(Cow::Owned(b))
    }
}

/// FNV-1a, 64 bits: not a security hash, only a cache validator (assets' versions and the
/// transport's client bundle).
#[doc(hidden)]
pub const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_follows_the_bytes() {
        let a = Asset::new("/a.css", "text/css", "a{}");
        let same = Asset::new("/b.css", "text/css", String::from("a{}"));
        let other = Asset::new("/a.css", "text/css", "b{}");
        assert_eq!(a.version(), same.version());
        assert_ne!(a.version(), other.version());
        assert_eq!(a.version().len(), 16);
    }
}
