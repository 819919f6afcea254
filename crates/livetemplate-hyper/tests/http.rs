//! Plain HTTP against a real server on 127.0.0.1:0: pages, the no-JS form path, the client
//! bundle, and the error answers.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Read as _;

use livetemplate_hyper::Server;
use support::{app, http};

async fn server() -> Server {
    Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap()
}

#[tokio::test]
async fn get_returns_the_document_and_sets_a_group_cookie() {
    let server = server().await;
    let addr = server.local_addr();
    let resp = http(addr, "GET /counter HTTP/1.1", b"").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/html; charset=utf-8"));
    let html = resp.text();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    // The root tells the client the frame limit (default 64 KiB).
    assert!(
        html.contains("<div data-lvt-root data-lvt-max-frame=\"65536\"><p>0</p><pre></pre></div>"),
        "{html}"
    );
    // An empty icon, so the browser does not ask for /favicon.ico (a 404 on every page); served
    // by the app, since a data: URL is an image load `default-src 'self'` blocks.
    assert_eq!(
        html.matches("<link rel=\"icon\" href=\"/_lvt/icon.svg\">").count(),
        1,
        "{html}"
    );
    // The script URL carries the bundle's version, so a deploy never leaves a stale client cached.
    let script = format!(
        "<script defer src=\"{}\"></script>",
        livetemplate_hyper::client_script_url()
    );
    assert!(script.contains("/_lvt/client.js?v="), "{script}");
    assert!(html.contains(&script), "{html}");
    let cookie = resp.header("set-cookie").unwrap();
    assert!(cookie.starts_with("lvt_group="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag: {cookie}");

    // With the cookie, no new one.
    let pair = resp.group_cookie().unwrap();
    let again = http(addr, &format!("GET /counter HTTP/1.1\r\nCookie: {pair}"), b"").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("set-cookie"), None);

    // Behind an HTTPS proxy the cookie is Secure.
    let https = http(addr, "GET /counter HTTP/1.1\r\nX-Forwarded-Proto: https", b"").await;
    assert!(https.header("set-cookie").unwrap().contains("; Secure"));

    // A forged cookie is replaced.
    let forged = http(addr, "GET /counter HTTP/1.1\r\nCookie: lvt_group=forged", b"").await;
    assert!(forged.header("set-cookie").is_some());

    // HEAD works too.
    let head = http(addr, "HEAD /counter HTTP/1.1", b"").await;
    assert_eq!(head.status, 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let server = server().await;
    let addr = server.local_addr();
    assert_eq!(http(addr, "GET /nope HTTP/1.1", b"").await.status, 404);
    assert_eq!(http(addr, "GET /_lvt/other.js HTTP/1.1", b"").await.status, 404);
    assert_eq!(http(addr, "POST /nope HTTP/1.1", b"").await.status, 404);
    let put = http(addr, "PUT /counter HTTP/1.1", b"").await;
    assert_eq!(put.status, 405);
    assert_eq!(put.header("allow"), Some("GET, HEAD, POST"));
    assert_eq!(http(addr, "DELETE /_lvt/client.js HTTP/1.1", b"").await.status, 405);
    server.shutdown().await.unwrap();
}

fn form_post(path: &str, extra: &str) -> String {
    let mut head = format!("POST {path} HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded");
    if !extra.is_empty() {
        head.push_str("\r\n");
        head.push_str(extra);
    }
    head
}

#[tokio::test]
async fn post_runs_the_clicked_buttons_action_and_redirects() {
    let server = server().await;
    let addr = server.local_addr();
    let origin = format!("Origin: http://{addr}");

    // No cookie yet: the POST makes a group and hands it out with the 303.
    let resp = http(addr, &form_post("/counter?tab=2", &origin), b"increment=").await;
    assert_eq!(resp.status, 303, "{}", resp.text());
    assert_eq!(resp.header("location"), Some("/counter?tab=2"));
    let cookie = resp.group_cookie().expect("a new group cookie on the 303");

    let with_cookie = format!("{origin}\r\nCookie: {cookie}");
    let resp = http(addr, &form_post("/counter", &with_cookie), b"increment=").await;
    assert_eq!(resp.status, 303);
    assert_eq!(resp.header("location"), Some("/counter"));
    assert_eq!(resp.header("set-cookie"), None);

    // camelCase button name and the other fields as data, verbatim.
    let body = b"notes=line+one%0D%0A++indented+%26+%3Cb%3E&saveNotes=";
    let resp = http(addr, &form_post("/counter", &with_cookie), body).await;
    assert_eq!(resp.status, 303, "{}", resp.text());

    let page = http(addr, &format!("GET /counter HTTP/1.1\r\nCookie: {cookie}"), b"").await;
    assert!(
        page.text()
            .contains("<p>2</p><pre>line one\r\n  indented &amp; &lt;b&gt;</pre>"),
        "{}",
        page.text()
    );

    // Another group sees its own state.
    let other = http(addr, "GET /counter HTTP/1.1", b"").await;
    assert!(other.text().contains("<p>0</p>"));

    // An action that redirects or patches the URL sends the 303 there.
    let resp = http(addr, &form_post("/counter", &with_cookie), b"leave=").await;
    assert_eq!(resp.status, 303);
    assert_eq!(resp.header("location"), Some("/elsewhere?from=counter"));
    let resp = http(addr, &form_post("/counter?page=1", &with_cookie), b"pageTwo=").await;
    assert_eq!(resp.status, 303);
    assert_eq!(resp.header("location"), Some("/counter?page=2"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_document_follows_the_config_head_icon_and_frame_limit() {
    let server = Server::bind(
        "127.0.0.1:0",
        app(|c| {
            c.max_frame_bytes = 1000;
            c.head = "<LINK REL=\"icon\" href=\"/static/logo.svg\">\n".into();
        }),
    )
    .await
    .unwrap();
    let html = http(server.local_addr(), "GET /counter HTTP/1.1", b"").await.text();
    assert!(
        html.contains("<div data-lvt-root data-lvt-max-frame=\"1000\">"),
        "{html}"
    );
    assert!(html.contains("<LINK REL=\"icon\" href=\"/static/logo.svg\">"), "{html}");
    assert!(
        !html.contains("/_lvt/icon.svg"),
        "the app's own icon, no empty one: {html}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn post_errors_show_the_page_with_the_message() {
    let server = server().await;
    let addr = server.local_addr();
    let origin = format!("Origin: http://{addr}");

    let failed = http(addr, &form_post("/counter", &origin), b"fail=").await;
    assert_eq!(failed.status, 422);
    let html = failed.text();
    assert!(
        html.contains("<p role=\"alert\" data-lvt-post-error>nope: this action always fails</p>"),
        "{html}"
    );
    assert!(
        html.contains("<div data-lvt-root data-lvt-max-frame=\"65536\"><p>0</p>"),
        "the page is still there: {html}"
    );

    let none = http(addr, &form_post("/counter", &origin), b"notes=x").await;
    assert_eq!(none.status, 422);
    assert!(
        none.text().contains("increment, save_notes, fail, slow"),
        "lists the known actions: {}",
        none.text()
    );

    let json = http(
        addr,
        &format!("POST /counter HTTP/1.1\r\nContent-Type: application/json\r\n{origin}"),
        b"{}",
    )
    .await;
    assert_eq!(json.status, 415);

    let big = vec![b'a'; 70 * 1024];
    let too_big = http(addr, &form_post("/counter", &origin), &big).await;
    assert_eq!(too_big.status, 413);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn post_checks_origin_then_referer() {
    let server = server().await;
    let addr = server.local_addr();
    let post = |extra: String| {
        let head = form_post("/counter", &extra);
        async move { http(addr, &head, b"increment=").await.status }
    };
    assert_eq!(post("Origin: http://evil.test".into()).await, 403);
    assert_eq!(post("Origin: null".into()).await, 403);
    assert_eq!(post(format!("Origin: http://{addr}")).await, 303);
    assert_eq!(post("Referer: http://evil.test/x".into()).await, 403);
    assert_eq!(post(format!("Referer: http://{addr}/counter")).await, 303);
    assert_eq!(
        post(String::new()).await,
        303,
        "neither header: allowed (curl, old browsers)"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn allowed_origins_are_accepted() {
    let app = app(|c| c.allowed_origins.push("https://app.example.com".into()));
    let server = Server::bind("127.0.0.1:0", app).await.unwrap();
    let addr = server.local_addr();
    let head = form_post("/counter", "Origin: https://app.example.com");
    assert_eq!(http(addr, &head, b"increment=").await.status, 303);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn client_js_has_etag_cache_headers_and_gzip() {
    let server = server().await;
    let addr = server.local_addr();
    let plain = http(addr, "GET /_lvt/client.js HTTP/1.1", b"").await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-type"), Some("text/javascript; charset=utf-8"));
    assert_eq!(plain.header("content-encoding"), None);
    let etag = plain.header("etag").unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );
    assert!(plain.header("cache-control").unwrap().starts_with("public, max-age="));
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    let original = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/client.js")).unwrap();
    assert_eq!(plain.body, original);

    let gz = http(addr, "GET /_lvt/client.js HTTP/1.1\r\nAccept-Encoding: gzip, br", b"").await;
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let gz_etag = gz.header("etag").unwrap().to_string();
    assert_ne!(gz_etag, etag, "each encoding has its own strong ETag");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, original);
    assert!(gz.body.len() < original.len() || original.len() < 200);

    let cached = http(
        addr,
        &format!("GET /_lvt/client.js HTTP/1.1\r\nIf-None-Match: {etag}"),
        b"",
    )
    .await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
    assert_eq!(cached.header("etag"), Some(etag.as_str()));
    let cached_gz = http(
        addr,
        &format!("GET /_lvt/client.js HTTP/1.1\r\nAccept-Encoding: gzip\r\nIf-None-Match: {gz_etag}"),
        b"",
    )
    .await;
    assert_eq!(cached_gz.status, 304);
    let stale = http(addr, "GET /_lvt/client.js HTTP/1.1\r\nIf-None-Match: \"old\"", b"").await;
    assert_eq!(stale.status, 200);

    let url = livetemplate_hyper::client_script_url();
    let versioned = http(addr, &format!("GET {url} HTTP/1.1"), b"").await;
    assert_eq!(versioned.status, 200);
    assert!(versioned.header("cache-control").unwrap().contains("immutable"));
    server.shutdown().await.unwrap();
}

/// Maps an `x-user` header to a group, as an app with its own login would.
struct ByUser;

impl livetemplate_core::group::Authenticator for ByUser {
    fn group(&self, req: &livetemplate_core::group::RequestHead<'_>) -> Option<livetemplate_core::GroupId> {
        livetemplate_core::GroupId::from_app(&format!("user:{}", req.header("x-user")?))
    }
}

#[tokio::test]
async fn an_authenticator_picks_the_group() {
    let app = livetemplate_core::App::builder()
        .authenticator(ByUser)
        .page(
            "/counter",
            support::CounterController::default(),
            support::Counter::default(),
        )
        .build()
        .unwrap();
    let server = Server::bind("127.0.0.1:0", app).await.unwrap();
    let addr = server.local_addr();
    let origin = format!("Origin: http://{addr}");

    let post = http(
        addr,
        &form_post("/counter", &format!("{origin}\r\nX-User: ann")),
        b"increment=",
    )
    .await;
    assert_eq!(post.status, 303);
    assert_eq!(
        post.header("set-cookie"),
        None,
        "the authenticator's group needs no cookie"
    );

    let ann = http(addr, "GET /counter HTTP/1.1\r\nX-User: ann", b"").await;
    assert!(ann.text().contains("<p>1</p>"), "{}", ann.text());
    assert_eq!(ann.header("set-cookie"), None);
    let bob = http(addr, "GET /counter HTTP/1.1\r\nX-User: bob", b"").await;
    assert!(bob.text().contains("<p>0</p>"));
    let anonymous = http(addr, "GET /counter HTTP/1.1", b"").await;
    assert!(
        anonymous.header("set-cookie").is_some(),
        "no user: the cookie group as usual"
    );
    server.shutdown().await.unwrap();
}
