//! Web origins and the HTTP checks built on them: same-origin checks for the WebSocket
//! upgrade and the no-JS POST, and the `Host` check against DNS rebinding.
//!
//! Origins (`scheme://host[:port]`), as the configuration names them and browsers send them
//! in `Origin`, are parsed strictly and put in one canonical form ([`normalize`]), so that
//! comparing two origins is comparing two strings.
//!
//! The group cookie is what authenticates both, and browsers send it with cross-site
//! requests too, so a page on another site could otherwise open a socket (cross-site
//! WebSocket hijacking) or post a form in the user's name. Browsers always send `Origin` on a
//! WebSocket handshake and on a cross-origin POST, and a script cannot forge it.
//!
//! What the server's own origin is:
//! - with [`Config::public_origins`](crate::Config::public_origins) set, exactly
//!   those (scheme, host and port compared); `Host`, `X-Forwarded-Host` and
//!   `X-Forwarded-Proto` are not consulted, since a proxy may rewrite them and a client may
//!   forge them;
//! - without, `http://` plus the request's `Host` (a transport speaking plain HTTP; `https`
//!   only when the request URI itself says so, see [`Target::https`]). A browser tricked by
//!   DNS rebinding sends the attacker's name as `Host`, so such a server answers only `Host`
//!   values that cannot be rebound: `localhost`, `*.localhost` and IP literals
//!   ([`check_host`]).
//!
//! Every refusal reason is a fixed text: nothing the client sent is echoed to the log or
//! the 403 page.

use std::net::IpAddr;

use crate::app::Config;
use crate::transport::{HeaderCount, Headers};
use HeaderCount::{Absent, Many, One};

/// The canonical form of a web origin: scheme `http` or `https`, host lowercased, the scheme's
/// default port (80, 443) dropped, no trailing slash. `None` for anything else: `null`, a path,
/// a query, user info, an empty host, a bad port, another scheme.
///
/// ```
/// use livetemplate_core::origin::normalize;
/// assert_eq!(normalize("HTTPS://App.Example.com:443/").as_deref(), Some("https://app.example.com"));
/// assert_eq!(normalize("http://127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
/// assert_eq!(normalize("http://[::1]:80").as_deref(), Some("http://[::1]"));
/// assert_eq!(normalize("https://app.example.com/login"), None);
/// assert_eq!(normalize("app.example.com"), None);
/// assert_eq!(normalize("null"), None);
/// ```
pub fn normalize(origin: &str) -> Option<String> {
    let origin = origin.trim();
    let origin = origin.strip_suffix('/').unwrap_or(origin);
    let (scheme, authority) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let (host, port) = split_host_port(authority)?;
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'[' | b']' | b':'));
    if !host_ok {
        return None;
    }
    let host = host.to_ascii_lowercase();
    match port {
        None => Some(format!("{scheme}://{host}")),
        Some(p) if p.parse::<u16>().is_ok_and(|n| n > 0) => {
            let p = p.trim_start_matches('0');
            if p == default_port {
                Some(format!("{scheme}://{host}"))
            } else {
                Some(format!("{scheme}://{host}:{p}"))
            }
        }
        Some(_) => None,
    }
}

/// The host of a `Host` header value (or an origin's authority) without its port, lowercased;
/// IPv6 literals keep their brackets. `None` when it is not a host.
///
/// ```
/// use livetemplate_core::origin::host_of;
/// assert_eq!(host_of("LocalHost:8080").as_deref(), Some("localhost"));
/// assert_eq!(host_of("[::1]:3000").as_deref(), Some("[::1]"));
/// assert_eq!(host_of("a/b"), None);
/// ```
pub fn host_of(authority: &str) -> Option<String> {
    let (host, port) = split_host_port(authority.trim())?;
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'[' | b']' | b':'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok());
    (host_ok && port_ok).then(|| host.to_ascii_lowercase())
}

/// `host[:port]` or `[v6][:port]` split; `None` for user info, paths and other junk.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ', '\\']) {
        return None;
    }
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        };
    }
    match authority.split_once(':') {
        None => Some((authority, None)),
        Some((host, port)) if !port.contains(':') => Some((host, Some(port))),
        Some(_) => None,
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Same origin, an allowed origin, or (POST only) no header to judge by.
    Allow,
    /// Refused, with the reason for the log and the 403 page (never client text).
    Deny(&'static str),
}

/// What the checks need to know about the request besides its headers.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The request URI's authority (HTTP/2, absolute-form URIs), used when `Host` is absent.
    pub authority: Option<&'a str>,
    /// Whether the request URI says `https` (a TLS server in front of this service that
    /// passes absolute URIs); plain serving is `http`.
    pub https: bool,
}

/// Before anything else: without public origins, refuse a `Host` that DNS rebinding could
/// have chosen (anything but `localhost`, `*.localhost` and IP literals), and two `Host`
/// headers. With public origins, `Host` is not used for any decision and any value passes.
pub fn check_host(headers: &(impl Headers + ?Sized), target: Target<'_>, config: &Config) -> Verdict {
    if !config.public_origins.is_empty() {
        return Verdict::Allow;
    }
    let Some(host) = single_host(headers, target) else {
        return Verdict::Deny("the request needs exactly one Host header");
    };
    match host_of(host) {
        Some(name) if is_unrebindable(&name) => Verdict::Allow,
        _ => Verdict::Deny(
            "this server has no public origin configured, so it answers only requests for \
             localhost and IP addresses (a defence against DNS rebinding); its operator should \
             set App::builder().public_origin(\"https://this.host\")",
        ),
    }
}

/// Check a WebSocket upgrade: exactly one `Origin` is required and must be this server's
/// origin or an allowed one.
pub fn check_upgrade(headers: &(impl Headers + ?Sized), target: Target<'_>, config: &Config) -> Verdict {
    match headers.count("origin") {
        One(origin) => judge(origin, headers, target, config),
        Absent => Verdict::Deny("a WebSocket upgrade must carry an Origin header"),
        Many => Verdict::Deny("the request carries more than one Origin header"),
    }
}

/// Check a form POST: `Origin` when present, else the origin of `Referer`; with neither (old
/// browsers, curl) the request is allowed. Two of either header are refused.
pub fn check_post(headers: &(impl Headers + ?Sized), target: Target<'_>, config: &Config) -> Verdict {
    match headers.count("origin") {
        One(origin) => return judge(origin, headers, target, config),
        Many => return Verdict::Deny("the request carries more than one Origin header"),
        Absent => {}
    }
    match headers.count("referer") {
        One(referer) => match origin_of_url(referer) {
            Some(origin) => judge(origin, headers, target, config),
            None => Verdict::Deny("the Referer header is not an absolute URL"),
        },
        Many => Verdict::Deny("the request carries more than one Referer header"),
        Absent => Verdict::Allow,
    }
}

/// The one `Host` header, else the URI's authority; `None` for two `Host` headers or neither.
fn single_host<'a>(headers: &'a (impl Headers + ?Sized), target: Target<'a>) -> Option<&'a str> {
    match headers.count("host") {
        One(host) => Some(host),
        Absent => target.authority,
        Many => None,
    }
}

/// `localhost`, `*.localhost` (RFC 6761: always loopback) and IP literals: names no DNS answer
/// can point elsewhere.
fn is_unrebindable(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.ends_with(".localhost") || bare.parse::<IpAddr>().is_ok()
}

fn judge(origin: &str, headers: &(impl Headers + ?Sized), target: Target<'_>, config: &Config) -> Verdict {
    let Some(origin) = normalize(origin) else {
        return Verdict::Deny("the Origin is not a web origin (scheme://host[:port])");
    };
    // Both lists are in canonical form: `AppBuilder::build` normalized them.
    let listed = |list: &[String]| list.contains(&origin);
    if listed(&config.public_origins) || listed(&config.allowed_origins) {
        return Verdict::Allow;
    }
    if !config.public_origins.is_empty() {
        return Verdict::Deny("the Origin is not this app's public origin nor an allowed origin");
    }
    let scheme = if target.https { "https" } else { "http" };
    let own = single_host(headers, target).and_then(|host| normalize(&format!("{scheme}://{}", host.trim())));
    if own.is_some_and(|own| own == origin) {
        Verdict::Allow
    } else {
        Verdict::Deny(
            "the Origin (scheme, host and port) does not match this server's and is not an \
             allowed origin",
        )
    }
}

/// The `scheme://authority` prefix of an absolute URL.
fn origin_of_url(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..scheme.len() + 3 + end])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(normalize("http://localhost:80").as_deref(), Some("http://localhost"));
        assert_eq!(normalize("https://x.test:8443").as_deref(), Some("https://x.test:8443"));
        assert_eq!(normalize("http://x.test:0080").as_deref(), Some("http://x.test"));
        assert_eq!(normalize("http://x.test:"), None);
        assert_eq!(normalize("http://x.test:99999"), None);
        assert_eq!(normalize("http://user@x.test"), None);
        assert_eq!(normalize("ftp://x.test"), None);
        assert_eq!(normalize("http://"), None);
        assert_eq!(normalize("http://a b"), None);
        assert_eq!(host_of("x.test:"), None);
    }

    /// Headers as a transport would hand them over: names lower case, repeats kept.
    fn headers(pairs: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        pairs.to_vec()
    }

    const HTTP: Target<'static> = Target {
        authority: None,
        https: false,
    };

    fn config(public: &[&str], allowed: &[&str]) -> Config {
        Config {
            public_origins: public.iter().map(|o| normalize(o).unwrap()).collect(),
            allowed_origins: allowed.iter().map(|o| normalize(o).unwrap()).collect(),
            ..Config::default()
        }
    }

    fn denied(v: Verdict) -> bool {
        matches!(v, Verdict::Deny(_))
    }

    #[test]
    fn upgrade_needs_a_matching_origin() {
        let c = config(&[], &[]);
        let ok = headers(&[("host", "localhost:8080"), ("origin", "http://localhost:8080")]);
        assert_eq!(check_upgrade(&ok[..], HTTP, &c), Verdict::Allow);
        let ip = headers(&[("host", "127.0.0.1"), ("origin", "http://127.0.0.1:80")]);
        assert_eq!(check_upgrade(&ip[..], HTTP, &c), Verdict::Allow);
        let evil = headers(&[("host", "localhost:8080"), ("origin", "http://evil.test")]);
        assert!(denied(check_upgrade(&evil[..], HTTP, &c)));
        let port = headers(&[("host", "localhost:8080"), ("origin", "http://localhost:9090")]);
        assert!(denied(check_upgrade(&port[..], HTTP, &c)));
        let scheme = headers(&[("host", "localhost:8080"), ("origin", "https://localhost:8080")]);
        assert!(
            denied(check_upgrade(&scheme[..], HTTP, &c)),
            "https origin on an http server"
        );
        let tls = Target {
            authority: None,
            https: true,
        };
        assert_eq!(check_upgrade(&scheme[..], tls, &c), Verdict::Allow);
        let null = headers(&[("host", "localhost"), ("origin", "null")]);
        assert!(denied(check_upgrade(&null[..], HTTP, &c)));
        let missing = headers(&[("host", "localhost")]);
        assert!(denied(check_upgrade(&missing[..], HTTP, &c)));
        let two = headers(&[
            ("host", "localhost:8080"),
            ("origin", "http://localhost:8080"),
            ("origin", "http://evil.test"),
        ]);
        assert!(denied(check_upgrade(&two[..], HTTP, &c)));
        let two_same = headers(&[
            ("host", "localhost:8080"),
            ("origin", "http://localhost:8080"),
            ("origin", "http://localhost:8080"),
        ]);
        assert!(denied(check_upgrade(&two_same[..], HTTP, &c)));
    }

    #[test]
    fn forwarded_headers_are_never_trusted() {
        let none = config(&[], &[]);
        let proxied = headers(&[
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "app.example.com"),
            ("x-forwarded-proto", "https"),
            ("origin", "https://app.example.com"),
        ]);
        assert!(denied(check_upgrade(&proxied[..], HTTP, &none)));
        let public = config(&["https://app.example.com"], &[]);
        assert_eq!(check_upgrade(&proxied[..], HTTP, &public), Verdict::Allow);
        // With a public origin, a Host that agrees with a forged Origin counts for nothing.
        let spoofed = headers(&[
            ("host", "evil.test"),
            ("x-forwarded-host", "evil.test"),
            ("origin", "http://evil.test"),
        ]);
        assert!(denied(check_upgrade(&spoofed[..], HTTP, &public)));
        let http_public = headers(&[("host", "app.example.com"), ("origin", "http://app.example.com")]);
        assert!(
            denied(check_upgrade(&http_public[..], HTTP, &public)),
            "scheme compared"
        );
        let allowed = config(&["https://app.example.com"], &["https://admin.example.com"]);
        let admin = headers(&[("host", "internal"), ("origin", "https://admin.example.com")]);
        assert_eq!(check_upgrade(&admin[..], HTTP, &allowed), Verdict::Allow);
    }

    #[test]
    fn host_check_without_public_origin() {
        let none = config(&[], &[]);
        for ok in [
            "localhost:8080",
            "LOCALHOST",
            "app.localhost:3000",
            "127.0.0.1:8080",
            "[::1]:8080",
            "10.0.0.7",
        ] {
            let h = headers(&[("host", ok)]);
            assert_eq!(check_host(&h[..], HTTP, &none), Verdict::Allow, "{ok}");
        }
        for bad in ["evil.test:8080", "localhost.evil.test", "127.0.0.1.nip.io", "a b", ""] {
            let h = headers(&[("host", bad)]);
            assert!(denied(check_host(&h[..], HTTP, &none)), "{bad}");
        }
        let two = headers(&[("host", "127.0.0.1"), ("host", "evil.test")]);
        assert!(denied(check_host(&two[..], HTTP, &none)));
        assert!(denied(check_host(&headers(&[])[..], HTTP, &none)));
        let h2 = Target {
            authority: Some("127.0.0.1:8080"),
            https: false,
        };
        assert_eq!(check_host(&headers(&[])[..], h2, &none), Verdict::Allow);
        let public = config(&["https://app.example.com"], &[]);
        let h = headers(&[("host", "internal-name:8080")]);
        assert_eq!(check_host(&h[..], HTTP, &public), Verdict::Allow);
    }

    #[test]
    fn post_falls_back_to_referer_then_allows() {
        let c = config(&[], &[]);
        let referer = headers(&[
            ("host", "localhost:3000"),
            ("referer", "http://localhost:3000/counter?x=1"),
        ]);
        assert_eq!(check_post(&referer[..], HTTP, &c), Verdict::Allow);
        let bad = headers(&[("host", "localhost:3000"), ("referer", "http://evil.test/page")]);
        assert!(denied(check_post(&bad[..], HTTP, &c)));
        let neither = headers(&[("host", "localhost:3000")]);
        assert_eq!(check_post(&neither[..], HTTP, &c), Verdict::Allow);
        let origin_wins = headers(&[
            ("host", "localhost:3000"),
            ("origin", "http://evil.test"),
            ("referer", "http://localhost:3000/"),
        ]);
        assert!(denied(check_post(&origin_wins[..], HTTP, &c)));
        let two = headers(&[
            ("host", "localhost:3000"),
            ("origin", "http://localhost:3000"),
            ("origin", "http://evil.test"),
        ]);
        assert!(denied(check_post(&two[..], HTTP, &c)));
    }

    #[test]
    fn origin_parsing() {
        assert_eq!(origin_of_url("https://a.test:1/x/y?z"), Some("https://a.test:1"));
        assert_eq!(origin_of_url("http://a.test"), Some("http://a.test"));
        assert_eq!(origin_of_url("/relative"), None);
    }
}
