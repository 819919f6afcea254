//! Everything a transport needs besides its sockets: one live connection ([`Connection`],
//! driven by the transport's own loop, or [`run_connection`] over channels; [`Outbound`],
//! [`Closing`] and the close codes), the request head, and
//! the HTTP rules that do not depend on an HTTP library: the `Host` and `Origin` checks
//! ([`origin`]), reading a no-JS form and choosing its action ([`form`]), and the group
//! cookie ([`group_cookie`]).
//!
//! `livetemplate-hyper` is one transport built on these; another (a different HTTP server, a
//! test harness) uses the same pieces and behaves the same.

mod connection;
pub mod form;
pub mod origin;

/// What a transport knows of the request behind a page view or a connection.
pub use crate::page::Request;
pub use connection::{
    CLOSE_BAD_DATA, CLOSE_ERROR, CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_PROTOCOL, CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED, Closing, Connection, Outbound, Pushed, run_connection, run_connection_noting,
};
pub use form::{choose_action, form_data, parse_urlencoded};
pub use origin::{Target, Verdict, check_host, check_post, check_upgrade};

use crate::app::ResolvedGroup;

/// How often a header occurs in a request, as the HTTP checks need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderCount<'a> {
    /// Not there.
    Absent,
    /// Exactly once, with this value (a value that is not text is given as `"\u{FFFD}"`, which
    /// no check accepts).
    One(&'a str),
    /// More than once.
    Many,
}

/// A request's headers, as the HTTP checks read them. Implemented for [`RequestHead`]; a
/// transport whose header map keeps values that are not UTF-8 implements it over that map
/// so that such a value still counts.
pub trait Headers {
    /// Header `name` (lower case): absent, once, or more than once.
    fn count(&self, name: &str) -> HeaderCount<'_>;

    /// The first value of header `name` (lower case), when it is text.
    fn first(&self, name: &str) -> Option<&str>;
}

/// The parts of an HTTP request an [`Authenticator`](crate::group::Authenticator) and the
/// HTTP checks look at.
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

    /// The value of cookie `name`, if the request carries it (the first, when it carries
    /// several).
    pub fn cookie(&self, name: &str) -> Option<&'a str> {
        self.cookie_values(name).next()
    }

    /// Every value of cookie `name`, from every `Cookie` header, in order. A browser sends
    /// several when cookies of the same name were set for different paths or domains.
    pub fn cookie_values<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .filter(move |(k, _)| *k == name)
            .map(|(_, v)| v.trim())
    }
}

#[doc(hidden)]
impl Headers for RequestHead<'_> {
    fn count(&self, name: &str) -> HeaderCount<'_> {
        count_in(self.headers, name)
    }

    fn first(&self, name: &str) -> Option<&str> {
        self.header(name)
    }
}

/// Whether the browser reached the server over HTTPS: every configured public origin
/// (`public_origins`, [`Config::public_origins`](crate::Config::public_origins)) is `https` (a
/// TLS-terminating proxy need not say so), the request URI says `https` (`uri_https`), or a
/// proxy says so (`X-Forwarded-Proto: https`, `Forwarded: proto=https`). The group cookie then
/// gets `Secure`.
///
/// ```
/// use livetemplate_core::transport::{RequestHead, is_https};
/// let headers = [("x-forwarded-proto", "https, http")];
/// assert!(is_https(&RequestHead { path: "/", headers: &headers }, false, &[]));
/// assert!(!is_https(&RequestHead { path: "/", headers: &[] }, false, &[]));
/// let public = ["https://app.example.com".to_string()];
/// assert!(is_https(&RequestHead { path: "/", headers: &[] }, false, &public));
/// ```
pub fn is_https(headers: &(impl Headers + ?Sized), uri_https: bool, public_origins: &[String]) -> bool {
    if uri_https || (!public_origins.is_empty() && public_origins.iter().all(|o| o.starts_with("https://"))) {
        return true;
    }
    let forwarded_proto = headers
        .first("x-forwarded-proto")
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .first("forwarded")
        .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"));
    forwarded_proto || forwarded
}

/// The `Set-Cookie` value a response carries for a resolved group: a new or re-signed
/// `lvt_group` cookie (with `Secure` when `https`), or none when the browser's cookie stands.
pub fn group_cookie(resolved: &ResolvedGroup, https: bool) -> Option<String> {
    resolved.cookie.as_ref().map(|c| c.set_cookie(https))
}

/// How often `name` occurs in `(name, value)` pairs.
fn count_in<'a>(pairs: &'a [(&'a str, &'a str)], name: &str) -> HeaderCount<'a> {
    let mut values = pairs.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
    match (values.next(), values.next()) {
        (None, _) => HeaderCount::Absent,
        (Some((_, v)), None) => HeaderCount::One(v),
        (Some(_), Some(_)) => HeaderCount::Many,
    }
}

#[cfg(test)]
impl Headers for [(&str, &str)] {
    fn count(&self, name: &str) -> HeaderCount<'_> {
        count_in(self, name)
    }

    fn first(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
    }
}
