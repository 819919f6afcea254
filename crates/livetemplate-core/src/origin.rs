//! Web origins (`scheme://host[:port]`) as the configuration names them and browsers send them
//! in `Origin`: parsed strictly and put in one canonical form, so that comparing two origins is
//! comparing two strings.

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

#[cfg(test)]
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
}
