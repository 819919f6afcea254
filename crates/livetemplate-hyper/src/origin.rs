//! Same-origin checks for the WebSocket upgrade and the no-JS POST.
//!
//! The group cookie is what authenticates both, and browsers send it with cross-site
//! requests too, so a page on another site could otherwise open a socket (cross-site
//! WebSocket hijacking) or post a form in the user's name. Browsers always send `Origin` on a
//! WebSocket handshake and on a cross-origin POST, and a script cannot forge it.

use hyper::HeaderMap;
use hyper::header::{HOST, ORIGIN, REFERER};

/// The outcome of an origin check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Same origin, an allowed origin, or (POST only) no header to judge by.
    Allow,
    /// Refused, with the reason for the log and the 403 page.
    Deny(String),
}

/// Check a WebSocket upgrade: `Origin` is required and must name this host or an allowed
/// origin.
pub(crate) fn check_upgrade(headers: &HeaderMap, authority: Option<&str>, allowed: &[String]) -> Verdict {
    match header_str(headers, ORIGIN.as_str()) {
        Some(origin) => judge(origin, headers, authority, allowed),
        None => Verdict::Deny("a WebSocket upgrade must carry an Origin header".into()),
    }
}

/// Check a form POST: `Origin` when present, else the origin of `Referer`; with neither (old
/// browsers, curl) the request is allowed.
pub(crate) fn check_post(headers: &HeaderMap, authority: Option<&str>, allowed: &[String]) -> Verdict {
    if let Some(origin) = header_str(headers, ORIGIN.as_str()) {
        return judge(origin, headers, authority, allowed);
    }
    if let Some(referer) = header_str(headers, REFERER.as_str()) {
        return match origin_of_url(referer) {
            Some(origin) => judge(origin, headers, authority, allowed),
            None => Verdict::Deny(format!("unreadable Referer `{referer}`")),
        };
    }
    Verdict::Allow
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{FFFD}"))
}

fn judge(origin: &str, headers: &HeaderMap, authority: Option<&str>, allowed: &[String]) -> Verdict {
    let origin = origin.trim();
    if allowed
        .iter()
        .any(|a| a.trim().trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return Verdict::Allow;
    }
    let Some((scheme, host)) = split_origin(origin) else {
        return Verdict::Deny(format!("Origin `{origin}` is not a web origin"));
    };
    let hosts = [
        header_str(headers, HOST.as_str()).or(authority),
        // A reverse proxy may rewrite Host and keep the browser's in X-Forwarded-Host. A
        // browser cannot set this header on a cross-site form or WebSocket, so honouring it
        // does not open a hole.
        header_str(headers, "x-forwarded-host").and_then(|h| h.split(',').next()),
    ];
    let wanted = strip_default_port(scheme, host);
    if hosts
        .into_iter()
        .flatten()
        .any(|h| strip_default_port(scheme, h.trim()).eq_ignore_ascii_case(wanted))
    {
        Verdict::Allow
    } else {
        Verdict::Deny(format!(
            "Origin `{origin}` does not match the host `{}` and is not an allowed origin",
            hosts[0].unwrap_or("")
        ))
    }
}

/// `scheme://host[:port]` split into scheme and authority; `None` for `null` and the like.
fn split_origin(origin: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme_ok = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    (scheme_ok && !rest.is_empty() && !rest.contains(['/', '?', '#', '@'])).then_some((scheme, rest))
}

/// The `scheme://authority` prefix of an absolute URL.
fn origin_of_url(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..scheme.len() + 3 + end])
}

fn strip_default_port<'a>(scheme: &str, host: &'a str) -> &'a str {
    let default = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    host.strip_suffix(default).unwrap_or(host)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn upgrade_needs_a_matching_origin() {
        let none: &[String] = &[];
        let ok = headers(&[("host", "localhost:8080"), ("origin", "http://localhost:8080")]);
        assert_eq!(check_upgrade(&ok, None, none), Verdict::Allow);
        let https = headers(&[("host", "example.com"), ("origin", "https://example.com:443")]);
        assert_eq!(check_upgrade(&https, None, none), Verdict::Allow);
        let evil = headers(&[("host", "localhost:8080"), ("origin", "http://evil.test")]);
        assert!(matches!(check_upgrade(&evil, None, none), Verdict::Deny(_)));
        let port = headers(&[("host", "localhost:8080"), ("origin", "http://localhost:9090")]);
        assert!(matches!(check_upgrade(&port, None, none), Verdict::Deny(_)));
        let null = headers(&[("host", "localhost"), ("origin", "null")]);
        assert!(matches!(check_upgrade(&null, None, none), Verdict::Deny(_)));
        let missing = headers(&[("host", "localhost")]);
        assert!(matches!(check_upgrade(&missing, None, none), Verdict::Deny(_)));
        let allowed = vec!["https://app.example.com/".to_string()];
        let other = headers(&[("host", "internal:8080"), ("origin", "https://app.example.com")]);
        assert_eq!(check_upgrade(&other, None, &allowed), Verdict::Allow);
        let proxied = headers(&[
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "app.example.com"),
            ("origin", "https://app.example.com"),
        ]);
        assert_eq!(check_upgrade(&proxied, None, none), Verdict::Allow);
    }

    #[test]
    fn post_falls_back_to_referer_then_allows() {
        let none: &[String] = &[];
        let referer = headers(&[
            ("host", "localhost:3000"),
            ("referer", "http://localhost:3000/counter?x=1"),
        ]);
        assert_eq!(check_post(&referer, None, none), Verdict::Allow);
        let bad = headers(&[("host", "localhost:3000"), ("referer", "http://evil.test/page")]);
        assert!(matches!(check_post(&bad, None, none), Verdict::Deny(_)));
        let neither = headers(&[("host", "localhost:3000")]);
        assert_eq!(check_post(&neither, None, none), Verdict::Allow);
        let origin_wins = headers(&[
            ("host", "localhost:3000"),
            ("origin", "http://evil.test"),
            ("referer", "http://localhost:3000/"),
        ]);
        assert!(matches!(check_post(&origin_wins, None, none), Verdict::Deny(_)));
    }

    #[test]
    fn origin_parsing() {
        assert_eq!(origin_of_url("https://a.test:1/x/y?z"), Some("https://a.test:1"));
        assert_eq!(origin_of_url("http://a.test"), Some("http://a.test"));
        assert_eq!(origin_of_url("/relative"), None);
        assert_eq!(split_origin("http://user@host"), None);
        assert_eq!(split_origin("ftp://host"), None);
    }
}
