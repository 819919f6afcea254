//! Session groups: the browser-wide identity (cookie `lvt_group`) that persisted state and
//! server push are keyed by.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Name of the session-group cookie.
pub const GROUP_COOKIE: &str = "lvt_group";

/// A session group id: 256 random bits, written as 43 base64url characters.
///
/// ```
/// use livetemplate_core::GroupId;
/// let g = GroupId::random();
/// assert_eq!(g.as_str().len(), 43);
/// assert_eq!(GroupId::parse(g.as_str()), Some(g.clone()));
/// assert_eq!(GroupId::parse("forged"), None);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(Box<str>);

impl GroupId {
    /// A new id from the operating system's CSPRNG.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        if let Err(err) = getrandom::fill(&mut bytes) {
            // No entropy source is a broken host; refusing to serve beats a guessable id.
            panic!("the OS random number generator failed: {err}");
        }
        GroupId(URL_SAFE_NO_PAD.encode(bytes).into())
    }

    /// Parse a cookie value; `None` unless it is exactly 32 bytes of base64url.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 43 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        (bytes.len() == 32).then(|| GroupId(s.into()))
    }

    /// An id chosen by the application (for example from a logged-in user id through an
    /// `Authenticator`). Any non-empty string up to 256 bytes.
    pub fn from_app(s: &str) -> Option<Self> {
        (!s.is_empty() && s.len() <= 256).then(|| GroupId(s.into()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Read the group from a `Cookie` header value, if it carries a valid one.
    pub fn from_cookie_header(header: &str) -> Option<Self> {
        header
            .split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == GROUP_COOKIE)
            .and_then(|(_, v)| GroupId::parse(v.trim()))
    }

    /// The `Set-Cookie` value for this group.
    pub fn set_cookie(&self, secure: bool) -> String {
        format!(
            "{GROUP_COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{}",
            self.0,
            if secure { "; Secure" } else { "" }
        )
    }
}

impl fmt::Debug for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never log the whole id: it is a bearer credential.
        write!(f, "GroupId({}…)", &self.0[..self.0.len().min(6)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_parsing_rejects_forgeries() {
        let g = GroupId::random();
        let h = format!("a=b; {GROUP_COOKIE}={}; c=d", g.as_str());
        assert_eq!(GroupId::from_cookie_header(&h), Some(g));
        assert_eq!(GroupId::from_cookie_header("lvt_group=../../etc"), None);
        assert_eq!(GroupId::from_cookie_header("lvt_group="), None);
        assert_eq!(
            GroupId::from_cookie_header(&format!("lvt_group={}B", "A".repeat(42))),
            None,
            "non-canonical trailing bits are not a valid id"
        );
        assert_eq!(
            GroupId::from_cookie_header(&format!("lvt_group={}", "é".repeat(21))),
            None
        );
    }
}
