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

/// The parts of an HTTP request an [`Authenticator`] may look at.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// Request path.
    pub path: &'a str,
    /// Headers whose values are valid UTF-8, as (name, value); names are lower case.
    pub headers: &'a [(&'a str, &'a str)],
}

impl<'a> RequestHead<'a> {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The value of cookie `name`, if the request carries it.
    pub fn cookie(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim())
    }
}

/// Maps a request to a session group, for apps with their own login: every browser of a
/// logged-in user then shares persisted state and server pushes.
///
/// Return `None` to fall back to the `lvt_group` cookie.
///
/// ```
/// use livetemplate_core::group::{Authenticator, GroupId, RequestHead};
///
/// /// Trusts a `user` cookie set by the app's own (signed, in real life) login.
/// struct ByUser;
/// impl Authenticator for ByUser {
///     fn group(&self, req: &RequestHead<'_>) -> Option<GroupId> {
///         GroupId::from_app(&format!("user:{}", req.cookie("user")?))
///     }
/// }
/// let headers = [("cookie", "user=ann; theme=dark")];
/// let head = RequestHead { path: "/", headers: &headers };
/// assert_eq!(ByUser.group(&head).unwrap().as_str(), "user:ann");
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// The group of this request, or `None` to use the `lvt_group` cookie.
    fn group(&self, req: &RequestHead<'_>) -> Option<GroupId>;
}
