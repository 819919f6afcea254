//! Session groups: the browser-wide identity (cookie `lvt_group`) that persisted state and
//! server push are keyed by, and the server's signature on it.
//!
//! A group id is 256 random bits. The cookie carries the id and an HMAC-SHA256 of it under
//! the server's secret key (`<id>.<signature>`), so a browser can only present a group the
//! server handed out: a forged, altered or unsigned id is not a group (see
//! [`GroupSigner`]). Stores key by the id alone, so re-signing under a new key keeps a
//! group's data.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};
pub use crate::transport::RequestHead;

/// Name of the session-group cookie.
pub const GROUP_COOKIE: &str = "lvt_group";

/// Environment variable holding the secret key(s) that sign group cookies: one key, or
/// several separated by commas (the first signs, the others are accepted for reading).
pub const SECRET_KEY_ENV: &str = "LVT_SECRET_KEY";

/// The shortest secret key accepted, in bytes.
pub const MIN_SECRET_KEY_BYTES: usize = 32;

/// The reserved group under which the server keeps its own records in the persist store
/// (the generated signing key). Applications cannot choose it, and stores must never expire
/// it.
pub const SERVER_GROUP: &str = "_lvt";

/// Domain separation for the signature: a MAC made for something else never verifies here.
const SIGNATURE_CONTEXT: &[u8] = b"livetemplate lvt_group v1\0";

/// Random bytes of a group id.
const ID_BYTES: usize = 33;

/// Random bytes of a group id issued before signed groups: those ids are 43 characters, ids
/// issued since 44, so an unsigned cookie can only ever name a group from before (see
/// `Config::adopt_unsigned_groups`).
const LEGACY_ID_BYTES: usize = 32;

/// A session group id: 264 random bits, written as 44 base64url characters (ids issued
/// before signed groups: 256 bits, 43 characters; ids an [`Authenticator`] chooses: the
/// application's own text).
///
/// ```
/// # use livetemplate_core as livetemplate;
/// use livetemplate::GroupId;
/// let g = GroupId::random();
/// assert_eq!(g.as_str().len(), 44);
/// assert_eq!(GroupId::parse(g.as_str()), Some(g.clone()));
/// assert_eq!(GroupId::parse("forged"), None);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(Box<str>);

impl GroupId {
    /// A new id from the operating system's CSPRNG.
    pub fn random() -> Self {
        GroupId(URL_SAFE_NO_PAD.encode(random_bytes::<ID_BYTES>()).into())
    }

    /// Parse the text of a random id (44 base64url characters, or 43 for an id from before
    /// signed groups); `None` for anything else.
    ///
    /// This checks the shape only. A browser's cookie is read through the app, which also
    /// checks the server's signature.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() > 44 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        // The decoder rejects non-canonical trailing bits, so each length has one spelling.
        matches!(bytes.len(), ID_BYTES | LEGACY_ID_BYTES).then(|| GroupId(s.into()))
    }

    /// True for a random id issued before signed groups (43 characters).
    pub(crate) fn is_legacy(&self) -> bool {
        self.0.len() == 43 && GroupId::parse(&self.0).is_some()
    }

    /// An id chosen by the application (for example from a logged-in user id through an
    /// `Authenticator`). Any non-empty string up to 256 bytes, except the reserved `_lvt`
    /// (the server's own records).
    pub fn from_app(s: &str) -> Option<Self> {
        (!s.is_empty() && s.len() <= 256 && s != SERVER_GROUP).then(|| GroupId(s.into()))
    }

    /// The reserved group the server keeps its own records under (`_lvt`).
    pub fn server() -> Self {
        GroupId(SERVER_GROUP.into())
    }

    /// The id's text: what stores key by.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never log the whole id: it is a bearer credential.
        let end = self.0.char_indices().nth(6).map_or(self.0.len(), |(i, _)| i);
        write!(f, "GroupId({}…)", &self.0[..end])
    }
}

/// `N` bytes from the operating system's CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if let Err(err) = getrandom::fill(&mut bytes) {
        // No entropy source is a broken host; refusing to serve beats a guessable id.
        panic!("the OS random number generator failed: {err}");
    }
    bytes
}

/// A group id with the server's signature: the value of the `lvt_group` cookie,
/// `<id>.<signature>` (44 + 1 + 43 base64url characters).
#[derive(Clone, PartialEq, Eq)]
pub struct SignedGroup(String);

impl SignedGroup {
    /// The cookie value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `Set-Cookie` header value handing this group to a browser: `Path=/`, one year,
    /// `HttpOnly`, `SameSite=Lax`, and `Secure` when `secure` (the request came over HTTPS).
    ///
    /// ```
    /// # use livetemplate_core::group::{GroupId, GroupSigner};
    /// let signer = GroupSigner::new(b"0123456789abcdef0123456789abcdef", &[] as &[&[u8]]).unwrap();
    /// let cookie = signer.sign(&GroupId::random()).set_cookie(true);
    /// assert!(cookie.starts_with("lvt_group="));
    /// assert!(cookie.ends_with("; HttpOnly; SameSite=Lax; Secure"));
    /// ```
    pub fn set_cookie(&self, secure: bool) -> String {
        format!(
            "{GROUP_COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{}",
            self.0,
            if secure { "; Secure" } else { "" }
        )
    }
}

impl fmt::Debug for SignedGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignedGroup({}…)", &self.0[..self.0.len().min(6)])
    }
}

/// What a browser's `lvt_group` cookie value turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieGroup {
    /// Signed with the current key.
    Current(GroupId),
    /// Signed with a previous key: valid, to be re-issued signed with the current key.
    PreviousKey(GroupId),
    /// A bare 43-character id without a signature, as deployments before signed groups
    /// issued. Not a group by itself; see `Config::adopt_unsigned_groups`.
    Unsigned(GroupId),
    /// Not a group: malformed, or signed with a key this server does not hold.
    Invalid,
}

/// Signs group ids and checks the signature of cookies: HMAC-SHA256 under the current
/// secret key; cookies signed with a previous key are accepted for reading.
///
/// Keys are at least [`MIN_SECRET_KEY_BYTES`] bytes; every byte counts (a key from
/// `openssl rand -base64 48` is 64 characters, used as they are).
///
/// ```
/// use livetemplate_core::group::{CookieGroup, GroupId, GroupSigner};
/// let old = GroupSigner::new(b"old key, 32 bytes at the least!!", &[] as &[&[u8]]).unwrap();
/// let signer = GroupSigner::new(b"new key, 32 bytes at the least!!", &[b"old key, 32 bytes at the least!!"]).unwrap();
/// let g = GroupId::random();
///
/// let cookie = signer.sign(&g);
/// assert_eq!(signer.verify(cookie.as_str()), CookieGroup::Current(g.clone()));
/// assert_eq!(signer.verify(old.sign(&g).as_str()), CookieGroup::PreviousKey(g.clone()));
/// // A bare id is no group (and a signature is no use for another id).
/// assert_eq!(signer.verify(g.as_str()), CookieGroup::Invalid);
/// let forged = format!("{}{}", GroupId::random().as_str(), &cookie.as_str()[44..]);
/// assert_eq!(signer.verify(&forged), CookieGroup::Invalid);
/// assert!(GroupSigner::new(b"short", &[] as &[&[u8]]).unwrap_err().is_config());
/// ```
#[derive(Clone)]
pub struct GroupSigner {
    /// The current key first, then the previous ones.
    keys: Vec<Hmac<Sha256>>,
}

impl fmt::Debug for GroupSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupSigner")
            .field("previous_keys", &(self.keys.len() - 1))
            .finish_non_exhaustive()
    }
}

impl GroupSigner {
    /// A signer with `current` and the `previous` keys (accepted for reading only).
    ///
    /// # Errors
    /// A configuration error when a key is shorter than [`MIN_SECRET_KEY_BYTES`].
    pub fn new<K: AsRef<[u8]>>(current: impl AsRef<[u8]>, previous: &[K]) -> Result<Self> {
        let mut keys = Vec::with_capacity(1 + previous.len());
        keys.push(keyed(current.as_ref(), "the secret key")?);
        for (i, key) in previous.iter().enumerate() {
            keys.push(keyed(key.as_ref(), &format!("previous secret key #{}", i + 1))?);
        }
        Ok(GroupSigner { keys })
    }

    /// This signer, also accepting cookies signed with `key` (added as the last previous key).
    ///
    /// # Errors
    /// A configuration error when `key` is shorter than [`MIN_SECRET_KEY_BYTES`].
    pub fn with_previous(mut self, key: impl AsRef<[u8]>) -> Result<Self> {
        let n = self.keys.len();
        self.keys
            .push(keyed(key.as_ref(), &format!("previous secret key #{n}"))?);
        Ok(self)
    }

    /// A signer from the text of [`SECRET_KEY_ENV`]: keys separated by commas, each used as
    /// its bytes with surrounding whitespace trimmed; the first signs. `None` when the text
    /// holds no key (unset or empty).
    ///
    /// ```
    /// use livetemplate_core::group::GroupSigner;
    /// let text = "first-key-of-at-least-32-bytes-xx, older-key-of-at-least-32-bytes-x";
    /// assert!(GroupSigner::from_env_text(text).unwrap().is_some());
    /// assert!(GroupSigner::from_env_text("  ").unwrap().is_none());
    /// let err = GroupSigner::from_env_text("too-short").unwrap_err();
    /// assert!(err.to_string().contains("LVT_SECRET_KEY"), "{err}");
    /// ```
    ///
    /// # Errors
    /// A configuration error when a key is too short or an entry between commas is empty.
    pub fn from_env_text(text: &str) -> Result<Option<Self>> {
        let keys = env_keys(text)?;
        let Some((current, previous)) = keys.split_first() else {
            return Ok(None);
        };
        let signer =
            GroupSigner::new(current, previous).map_err(|err| Error::config(format!("{SECRET_KEY_ENV}: {err}")))?;
        Ok(Some(signer))
    }

    /// The cookie value for `group`, signed with the current key.
    pub fn sign(&self, group: &GroupId) -> SignedGroup {
        let tag = mac(&self.keys[0], group.as_str()).finalize().into_bytes();
        SignedGroup(format!("{}.{}", group.as_str(), URL_SAFE_NO_PAD.encode(tag)))
    }

    /// Check a cookie value: which key signed it, if any. The comparison takes the same time
    /// whatever the signature's bytes.
    pub fn verify(&self, cookie_value: &str) -> CookieGroup {
        let Some((id, signature)) = cookie_value.split_once('.') else {
            return match GroupId::parse(cookie_value) {
                Some(g) if g.is_legacy() => CookieGroup::Unsigned(g),
                _ => CookieGroup::Invalid,
            };
        };
        let Some(group) = GroupId::parse(id) else {
            return CookieGroup::Invalid;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(signature) else {
            return CookieGroup::Invalid;
        };
        for (i, key) in self.keys.iter().enumerate() {
            if mac(key, id).verify_slice(&tag).is_ok() {
                return if i == 0 {
                    CookieGroup::Current(group)
                } else {
                    CookieGroup::PreviousKey(group)
                };
            }
        }
        CookieGroup::Invalid
    }
}

/// The keys in the text of [`SECRET_KEY_ENV`] (comma-separated, trimmed); empty when it
/// holds none.
pub(crate) fn env_keys(text: &str) -> Result<Vec<Vec<u8>>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<Vec<u8>> = text.split(',').map(|k| k.trim().as_bytes().to_vec()).collect();
    if keys.iter().any(Vec::is_empty) {
        return Err(Error::config(format!(
            "{SECRET_KEY_ENV} holds an empty key between commas; write `current,previous,...`"
        )));
    }
    Ok(keys)
}

fn keyed(key: &[u8], what: &str) -> Result<Hmac<Sha256>> {
    if key.len() < MIN_SECRET_KEY_BYTES {
        return Err(Error::config(format!(
            "{what} is {} bytes long; at least {MIN_SECRET_KEY_BYTES} are needed \
             (make one with `openssl rand -base64 48`)",
            key.len()
        )));
    }
    Hmac::<Sha256>::new_from_slice(key).map_err(|_| Error::config(format!("{what} cannot key HMAC-SHA256")))
}

fn mac(key: &Hmac<Sha256>, id: &str) -> Hmac<Sha256> {
    let mut mac = key.clone();
    mac.update(SIGNATURE_CONTEXT);
    mac.update(id.as_bytes());
    mac
}

/// Maps a request to a session group, for apps with their own login: every browser of a
/// logged-in user then shares persisted state and server pushes.
///
/// Return `None` to fall back to the `lvt_group` cookie.
///
/// ```
/// # mod livetemplate { pub mod auth { pub use livetemplate_core::group::{Authenticator, GroupId, RequestHead}; } }
/// use livetemplate::auth::{Authenticator, GroupId, RequestHead};
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

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a test key that is 32 bytes long";
    const OLD: &[u8] = b"an older key, also 32 bytes long";
    const NONE: &[&[u8]] = &[];

    #[test]
    fn only_what_the_server_signed_is_a_group() {
        let signer = GroupSigner::new(KEY, &[OLD]).unwrap();
        let g = GroupId::random();
        let signed = signer.sign(&g);
        assert_eq!(signed.as_str().len(), 44 + 1 + 43);
        assert_eq!(signer.verify(signed.as_str()), CookieGroup::Current(g.clone()));
        // Another id with the same signature, a flipped signature, a truncated one.
        let other = format!("{}{}", GroupId::random().as_str(), &signed.as_str()[44..]);
        assert_eq!(signer.verify(&other), CookieGroup::Invalid);
        let mut flipped = signed.as_str().to_string();
        let last = if flipped.ends_with('A') { "B" } else { "A" };
        flipped.replace_range(flipped.len() - 1.., last);
        assert_eq!(signer.verify(&flipped), CookieGroup::Invalid);
        assert_eq!(signer.verify(&signed.as_str()[..60]), CookieGroup::Invalid);
        assert_eq!(signer.verify(&format!("{}.", g.as_str())), CookieGroup::Invalid);
        assert_eq!(signer.verify("../../etc"), CookieGroup::Invalid);
        assert_eq!(signer.verify(""), CookieGroup::Invalid);
        assert_eq!(signer.verify(&"é".repeat(21)), CookieGroup::Invalid);
        assert_eq!(
            signer.verify(&format!("{}B", "A".repeat(42))),
            CookieGroup::Invalid,
            "non-canonical trailing bits are not a valid id"
        );
        // A key the server no longer holds.
        let retired = GroupSigner::new(b"a retired key, 32 bytes long....", NONE).unwrap();
        assert_eq!(signer.verify(retired.sign(&g).as_str()), CookieGroup::Invalid);
        // Previous keys read, and say so.
        let before = GroupSigner::new(OLD, NONE).unwrap();
        assert_eq!(
            signer.verify(before.sign(&g).as_str()),
            CookieGroup::PreviousKey(g.clone())
        );
        // A bare id: only one from before signed groups (43 characters) may be adopted.
        assert_eq!(signer.verify(g.as_str()), CookieGroup::Invalid);
        let legacy = GroupId(URL_SAFE_NO_PAD.encode([5u8; 32]).into());
        assert!(legacy.is_legacy() && !g.is_legacy());
        assert_eq!(signer.verify(legacy.as_str()), CookieGroup::Unsigned(legacy.clone()));
        // Once adopted, a legacy id is signed like any other.
        assert_eq!(
            signer.verify(signer.sign(&legacy).as_str()),
            CookieGroup::Current(legacy)
        );
    }

    #[test]
    fn keys_are_checked() {
        let err = GroupSigner::new([7u8; 31], NONE).unwrap_err();
        assert!(err.is_config());
        assert!(err.to_string().contains("31 bytes"), "{err}");
        assert!(GroupSigner::new([7u8; 32], &[[1u8; 12]]).unwrap_err().is_config());
        assert!(GroupSigner::from_env_text("").unwrap().is_none());
        let two = format!(" {} , {} ", "k".repeat(32), "o".repeat(40));
        let signer = GroupSigner::from_env_text(&two).unwrap().unwrap();
        let g = GroupId::random();
        let old = GroupSigner::new("o".repeat(40), NONE).unwrap();
        assert_eq!(signer.verify(old.sign(&g).as_str()), CookieGroup::PreviousKey(g));
        assert!(GroupSigner::from_env_text(&format!("{},", "k".repeat(32))).is_err());
        let debug = format!("{signer:?}");
        assert!(!debug.contains("kkkk"), "{debug}");
    }

    #[test]
    fn every_group_cookie_of_every_header_is_listed() {
        let headers = [
            ("cookie", "a=b; lvt_group=bad; lvt_group=second"),
            ("Cookie", "lvt_group=third"),
            ("x-other", "lvt_group=no"),
        ];
        let head = RequestHead {
            path: "/",
            headers: &headers,
        };
        let values: Vec<&str> = head.cookie_values(GROUP_COOKIE).collect();
        assert_eq!(values, ["bad", "second", "third"]);
        assert_eq!(head.cookie(GROUP_COOKIE), Some("bad"));
    }

    #[test]
    fn the_server_group_is_reserved() {
        assert_eq!(GroupId::from_app(SERVER_GROUP), None);
        assert_eq!(GroupId::server().as_str(), SERVER_GROUP);
        assert_eq!(
            format!("{:?}", GroupId::from_app("é".repeat(10).as_str()).unwrap()),
            "GroupId(éééééé…)"
        );
    }
}
