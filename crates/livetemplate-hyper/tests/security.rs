//! Origin, Host and header defences, and the POST body timeout, against a real server on
//! 127.0.0.1:0 with raw HTTP/1.1 (so tests choose every header, `Host` included).

#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use livetemplate_core::App;
use livetemplate_hyper::Server;
use support::{Counter, CounterController, app, http};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Status and headers of the answer to `request` (a whole raw request, head and body), read
/// up to the end of the response head (a 101 keeps the connection open).
async fn status_of(addr: SocketAddr, request: &str) -> (u16, Vec<(String, String)>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, stream.read(&mut buf))
            .await
            .expect("a response head within 10 s")
            .unwrap();
        assert!(
            n > 0,
            "connection closed before a response: {}",
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&raw).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// A WebSocket handshake for /counter with `host` and the given extra header lines.
fn upgrade(host: &str, extra: &[&str]) -> String {
    let mut req = format!(
        "GET /counter HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    for line in extra {
        req.push_str(line);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req
}

/// A form POST of `increment=` to /counter with `host` and the given extra header lines.
fn post(host: &str, extra: &[&str]) -> String {
    let mut req = format!(
        "POST /counter HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n"
    );
    for line in extra {
        req.push_str(line);
        req.push_str("\r\n");
    }
    req.push_str("\r\nincrement=");
    req
}

fn get(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

#[tokio::test]
async fn an_origin_with_another_scheme_is_refused() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let addr = server.local_addr();
    let host = addr.to_string();
    let same = format!("Origin: http://{addr}");
    let https = format!("Origin: https://{addr}");
    assert_eq!(status_of(addr, &upgrade(&host, &[&same])).await.0, 101);
    assert_eq!(
        status_of(addr, &upgrade(&host, &[&https])).await.0,
        403,
        "an https page may not open a socket to an http server"
    );
    assert_eq!(status_of(addr, &post(&host, &[&same])).await.0, 303);
    assert_eq!(status_of(addr, &post(&host, &[&https])).await.0, 403);
    let referer = format!("Referer: https://{addr}/counter");
    assert_eq!(status_of(addr, &post(&host, &[&referer])).await.0, 403);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn two_origin_headers_are_refused() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let addr = server.local_addr();
    let host = addr.to_string();
    let same = format!("Origin: http://{addr}");
    for pair in [
        [same.as_str(), "Origin: http://evil.test"],
        ["Origin: http://evil.test", same.as_str()],
        [same.as_str(), same.as_str()],
    ] {
        assert_eq!(status_of(addr, &upgrade(&host, &pair)).await.0, 403, "{pair:?}");
        assert_eq!(status_of(addr, &post(&host, &pair)).await.0, 403, "{pair:?}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn with_a_public_origin_host_and_forwarded_headers_do_not_count() {
    let app = app(|c| c.public_origins.push("https://App.Example.com:443/".into()));
    assert_eq!(app.config().public_origins, ["https://app.example.com"]);
    let server = Server::bind("127.0.0.1:0", app).await.unwrap();
    let addr = server.local_addr();
    let local = addr.to_string();
    // An attacker's page whose Host (or X-Forwarded-Host) agrees with its own Origin.
    let evil = "Origin: http://evil.test";
    assert_eq!(status_of(addr, &upgrade("evil.test", &[evil])).await.0, 403);
    assert_eq!(status_of(addr, &post("evil.test", &[evil])).await.0, 403);
    let forwarded = ["X-Forwarded-Host: evil.test", "X-Forwarded-Proto: http", evil];
    assert_eq!(status_of(addr, &upgrade(&local, &forwarded)).await.0, 403);
    assert_eq!(status_of(addr, &post(&local, &forwarded)).await.0, 403);
    // The server's own address is not its origin any more either.
    let own = format!("Origin: http://{addr}");
    assert_eq!(status_of(addr, &upgrade(&local, &[&own])).await.0, 403);
    // The public origin's scheme counts.
    assert_eq!(
        status_of(addr, &upgrade(&local, &["Origin: http://app.example.com"]))
            .await
            .0,
        403
    );
    // What a TLS-terminating proxy forwards: the browser's Origin, an internal Host.
    let public = "Origin: https://app.example.com";
    assert_eq!(status_of(addr, &upgrade(&local, &[public])).await.0, 101);
    assert_eq!(status_of(addr, &post("backend:8080", &[public])).await.0, 303);
    // Every public origin is https: the group cookie is Secure even when the proxy does not
    // say how the browser connected.
    let (status, headers) = status_of(addr, &get("/counter", "backend:8080")).await;
    assert_eq!(status, 200);
    let cookie = headers.iter().find(|(k, _)| k == "set-cookie").map(|(_, v)| v.as_str());
    assert!(cookie.is_some_and(|c| c.contains("; Secure")), "{cookie:?}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_a_public_origin_only_localhost_and_ip_hosts_are_answered() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let addr = server.local_addr();
    let port = addr.port();
    for host in [
        addr.to_string(),
        format!("localhost:{port}"),
        format!("LocalHost:{port}"),
    ] {
        assert_eq!(status_of(addr, &get("/counter", &host)).await.0, 200, "{host}");
    }
    // DNS rebinding: evil.test now resolves to 127.0.0.1, so the browser sends that name as
    // Host and as Origin, and they agree.
    let rebound = format!("evil.test:{port}");
    let origin = format!("Origin: http://evil.test:{port}");
    let (status, _) = status_of(addr, &get("/counter", &rebound)).await;
    assert_eq!(status, 403, "a page read through a rebound name");
    assert_eq!(status_of(addr, &upgrade(&rebound, &[&origin])).await.0, 403);
    assert_eq!(status_of(addr, &post(&rebound, &[&origin])).await.0, 403);
    // The refusal names the fix, not the client's text.
    let page = http_with_host(addr, &get("/counter", &rebound)).await;
    assert!(page.contains("public_origin"), "{page}");
    assert!(!page.contains("evil.test"), "{page}");
    // X-Forwarded-Host is not trusted without a public origin.
    let fwd = format!("X-Forwarded-Host: evil.test:{port}");
    assert_eq!(
        status_of(addr, &upgrade(&addr.to_string(), &[&fwd, &origin])).await.0,
        403
    );
    server.shutdown().await.unwrap();
}

async fn http_with_host(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&raw).into_owned()
}

fn assert_default_headers(what: &str, headers: &[(String, String)]) {
    let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(get("referrer-policy"), Some("same-origin"), "{what}: {headers:?}");
    assert_eq!(get("x-frame-options"), Some("DENY"), "{what}: {headers:?}");
    assert_eq!(
        get("content-security-policy"),
        Some("frame-ancestors 'none'"),
        "{what}: {headers:?}"
    );
    assert_eq!(get("x-content-type-options"), Some("nosniff"), "{what}: {headers:?}");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let addr = server.local_addr();
    let host = addr.to_string();
    let origin = format!("Origin: http://{addr}");
    let cases = [
        ("page", get("/counter", &host), 200),
        ("404 page", get("/nope", &host), 404),
        ("client.js", get("/_lvt/client.js", &host), 200),
        ("icon", get("/_lvt/icon.svg", &host), 200),
        ("POST answer", post(&host, &[&origin]), 303),
        ("refused POST", post(&host, &["Origin: http://evil.test"]), 403),
        ("refused Host", get("/counter", "evil.test"), 403),
    ];
    for (what, request, want) in cases {
        let (status, headers) = status_of(addr, &request).await;
        assert_eq!(status, want, "{what}");
        assert_default_headers(what, &headers);
    }
    let failed = http(
        addr,
        &format!("POST /counter HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n{origin}"),
        b"fail=",
    )
    .await;
    assert_eq!(failed.status, 422);
    assert_default_headers("failed POST", &failed.headers);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_app_sets_its_own_policy() {
    let app = App::builder()
        .page("/counter", CounterController::default(), Counter::default())
        .content_security_policy("default-src 'self'; script-src 'self'")
        .config(|c| {
            c.frame_options = String::new();
            c.referrer_policy = "no-referrer".into();
        })
        .build()
        .unwrap();
    let server = Server::bind("127.0.0.1:0", app).await.unwrap();
    let addr = server.local_addr();
    let page = http(addr, "GET /counter HTTP/1.1", b"").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-security-policy"),
        Some("default-src 'self'; script-src 'self'"),
        "sent as given"
    );
    assert_eq!(page.header("x-frame-options"), None, "empty: not sent");
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    // The document itself needs nothing the policy forbids: no inline script or style, no
    // data: icon.
    let html = page.text();
    assert!(!html.contains("data:"), "{html}");
    assert!(!html.contains("<style") && !html.contains("style="), "{html}");
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(html.contains("<script defer src=\"/_lvt/client.js?v="), "{html}");
    server.shutdown().await.unwrap();

    for bad in ["frame-ancestors 'none'\r\nX-Evil: 1", "caf\u{e9}"] {
        let err = App::builder().content_security_policy(bad).build().unwrap_err();
        assert!(err.to_string().contains("Content-Security-Policy"), "{err}");
    }
}

#[tokio::test]
async fn a_trickled_post_body_gets_408_and_the_connection_is_closed() {
    let server = Server::bind("127.0.0.1:0", app(|c| c.body_timeout = Duration::from_secs(2)))
        .await
        .unwrap();
    let addr = server.local_addr();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST /counter HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
    );
    write.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // One byte a second, far longer than the timeout; stops when the server hangs up.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if write.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the server closes (EOF or reset), at most 20 s.
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    trickle.abort();
    let text = String::from_utf8_lossy(&raw);
    assert!(closed.is_ok(), "the server never closed the connection; got: {text}");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
    assert!(
        elapsed >= Duration::from_millis(1500),
        "not before the timeout: {elapsed:?}"
    );
    // A body that arrives in time still works, and the action never ran for the slow one.
    let cookie_less = http(
        addr,
        &format!("POST /counter HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nOrigin: http://{addr}"),
        b"increment=",
    )
    .await;
    assert_eq!(cookie_less.status, 303);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn assets_are_served_with_etags_and_linked_from_the_document() {
    let app = App::builder()
        .page("/counter", CounterController::default(), Counter::default())
        .stylesheet("/app.css", "body{margin:0}")
        .script("/hooks.js", "window.LiveTemplate={hooks:{}}")
        .asset(
            "/logo.svg",
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
        )
        .build()
        .unwrap();
    let css = app.asset("/app.css").unwrap().clone();
    let server = Server::bind("127.0.0.1:0", app).await.unwrap();
    let addr = server.local_addr();

    let html = http(addr, "GET /counter HTTP/1.1", b"").await.text();
    let link = format!("<link rel=\"stylesheet\" href=\"{}\">", css.versioned_url());
    assert!(html.contains(&link), "{html}");
    let hooks = html
        .find("<script defer src=\"/hooks.js?v=")
        .expect("the script is linked");
    assert!(
        hooks < html.find("/_lvt/client.js").unwrap(),
        "app scripts run before the client"
    );

    let plain = http(addr, "GET /app.css HTTP/1.1", b"").await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(plain.body, b"body{margin:0}");
    assert_eq!(plain.header("etag"), Some(css.etag().as_str()));
    assert_eq!(plain.header("cache-control"), Some("no-cache"));
    let versioned = http(addr, &format!("GET {} HTTP/1.1", css.versioned_url()), b"").await;
    assert!(versioned.header("cache-control").unwrap().contains("immutable"));
    let cached = http(
        addr,
        &format!("GET /app.css HTTP/1.1\r\nIf-None-Match: {}", css.etag()),
        b"",
    )
    .await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
    let logo = http(addr, "GET /logo.svg HTTP/1.1", b"").await;
    assert_eq!(logo.header("content-type"), Some("image/svg+xml"));
    let icon = http(addr, "GET /_lvt/icon.svg HTTP/1.1", b"").await;
    assert_eq!(icon.status, 200);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml"));
    assert_eq!(http(addr, "POST /app.css HTTP/1.1", b"").await.status, 405);
    server.shutdown().await.unwrap();

    for (path, why) in [
        ("app.css", "start with"),
        ("/_lvt/x.css", "reserved"),
        ("/counter", "share"),
    ] {
        let err = App::builder()
            .page("/counter", CounterController::default(), Counter::default())
            .asset(path, "text/css", "")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains(why), "{path}: {err}");
    }
    let err = App::builder()
        .public_origin("https://app.example.com/login")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("not a web origin"), "{err}");
}
