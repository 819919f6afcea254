//! Page HTML compressed as the browser accepts it (brotli or gzip, q-values honoured), over
//! real HTTP against a server on 127.0.0.1:0: the decoded body is the page, byte for byte.

#![allow(clippy::unwrap_used)]

mod support;

use std::fmt::Write as _;

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder};
use livetemplate_core::tree::{MarkQueue, Tree, TreeSink};
use livetemplate_core::{App, BoxFuture, Context, Controller, Error, LiveState, Result};
use livetemplate_hyper::Server;
use support::{HttpResponse, app, http};
use tokio::io::AsyncReadExt;

async fn decode(resp: &HttpResponse) -> Vec<u8> {
    let mut out = Vec::new();
    match resp.header("content-encoding") {
        None => out = resp.body.clone(),
        Some("gzip") => {
            GzipDecoder::new(&resp.body[..]).read_to_end(&mut out).await.unwrap();
        }
        Some("br") => {
            BrotliDecoder::new(&resp.body[..]).read_to_end(&mut out).await.unwrap();
        }
        Some(other) => panic!("unexpected content-encoding {other}"),
    }
    out
}

/// GET `path` with the group `cookie` and, when given, `Accept-Encoding: accept`.
async fn get(addr: std::net::SocketAddr, path: &str, cookie: &str, accept: Option<&str>) -> HttpResponse {
    let mut head = format!("GET {path} HTTP/1.1\r\nCookie: {cookie}");
    if let Some(accept) = accept {
        head.push_str(&format!("\r\nAccept-Encoding: {accept}"));
    }
    http(addr, &head, b"").await
}

#[tokio::test]
async fn pages_are_compressed_as_the_browser_accepts() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let addr = server.local_addr();
    // Persist 20 KB of notes, so the page is long enough to be worth compressing.
    let notes: String = (0..2000).map(|i| format!("note {i}\n")).collect();
    let body = format!("save_notes=&notes={}", notes.replace('\n', "%0A").replace(' ', "+"));
    let head = "POST /counter HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded";
    let posted = http(addr, head, body.as_bytes()).await;
    assert_eq!(posted.status, 303);
    let cookie = posted.group_cookie().unwrap();

    let plain = get(addr, "/counter", &cookie, None).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    let html = plain.text();
    assert!(html.contains("note 1999"), "the notes are on the page");

    for (accept, coding) in [
        ("gzip, deflate, br, zstd", Some("br")),
        ("gzip, deflate", Some("gzip")),
        ("br;q=0.5, gzip;q=0.8", Some("gzip")),
        ("br;q=1, gzip;q=0.8", Some("br")),
        ("*", Some("br")),
        ("identity", None),
        ("gzip;q=0, br;q=0", None),
        ("deflate", None),
    ] {
        let resp = get(addr, "/counter", &cookie, Some(accept)).await;
        assert_eq!(resp.status, 200, "{accept}");
        assert_eq!(resp.header("content-encoding"), coding, "{accept}");
        assert_eq!(resp.header("vary"), Some("Accept-Encoding"), "{accept}");
        assert_eq!(resp.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(
            resp.header("content-length").map(|l| l.parse::<usize>().unwrap()),
            Some(resp.body.len())
        );
        if coding.is_some() {
            assert!(
                resp.body.len() * 3 < plain.body.len(),
                "{accept}: {} of {}",
                resp.body.len(),
                plain.body.len()
            );
        }
        assert_eq!(decode(&resp).await, plain.body, "{accept}: decodes to the page");
    }

    // A HEAD has the GET's headers and no body.
    let head = http(
        addr,
        &format!("HEAD /counter HTTP/1.1\r\nCookie: {cookie}\r\nAccept-Encoding: br"),
        b"",
    )
    .await;
    assert_eq!(head.header("content-encoding"), Some("br"));
    assert!(head.body.is_empty());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_page_of_a_failed_post_is_compressed_too() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let addr = server.local_addr();
    let notes = "x".repeat(5000);
    let head = "POST /counter HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded";
    let posted = http(addr, head, format!("save_notes=&notes={notes}").as_bytes()).await;
    let cookie = posted.group_cookie().unwrap();
    let failed = http(
        addr,
        &format!("{head}\r\nCookie: {cookie}\r\nAccept-Encoding: gzip"),
        b"fail=",
    )
    .await;
    assert_eq!(failed.status, 422);
    assert_eq!(failed.header("content-encoding"), Some("gzip"));
    assert_eq!(failed.header("vary"), Some("Accept-Encoding"));
    let html = String::from_utf8(decode(&failed).await).unwrap();
    assert!(html.contains("<p role=\"alert\" data-lvt-post-error>nope: this action always fails</p>"));
    assert!(html.contains(&notes));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_short_page_is_sent_as_it_is() {
    let server = Server::bind("127.0.0.1:0", app(|_| {})).await.unwrap();
    let resp = http(server.local_addr(), "GET /counter HTTP/1.1\r\nAccept-Encoding: br", b"").await;
    assert_eq!(resp.status, 200);
    assert!(resp.body.len() < 1024, "{} bytes", resp.body.len());
    assert_eq!(resp.header("content-encoding"), None);
    assert_eq!(resp.header("vary"), Some("Accept-Encoding"));
    server.shutdown().await.unwrap();
}

/// The 1000-row keyed table of the benchmarks (one `<tr>` per row with a button), served
/// read-only: its wire size with and without compression. The figures are printed
/// (`cargo test -p livetemplate-hyper --test compression -- --nocapture`).
#[derive(Clone, Debug, Default)]
struct Rows;

impl Rows {
    fn html(&self) -> String {
        let mut html = String::from("<table><tbody>");
        for n in 1..=1000 {
            let _ = write!(
                html,
                "<tr id=\"row-{n}\" data-key=\"{n}\"><td>{n}</td><td>row-{n}</td><td>{}</td>\
                 <td><button lvt-click=\"bump\" lvt-value-id=\"{n}\">+</button></td></tr>",
                n * 7 % 1000
            );
        }
        html.push_str("</tbody></table>");
        html
    }
}

impl LiveState for Rows {
    fn render_tree(&self) -> Result<Tree> {
        let cell = MarkQueue::new();
        let mut sink = TreeSink::new(&cell);
        sink.write_str(&self.html()).map_err(|_| Error::msg("render failed"))?;
        sink.finish()
    }

    fn render_html(&self) -> Result<String> {
        Ok(self.html())
    }

    fn persisted_fields() -> &'static [&'static str] {
        &[]
    }

    fn encode_field(&self, _name: &str) -> Option<Result<Vec<u8>>> {
        None
    }

    fn decode_field(&mut self, name: &str, _bytes: &[u8]) -> Result<()> {
        Err(Error::msg(format!("no field {name}")))
    }
}

#[derive(Debug)]
struct Table;

impl Controller for Table {
    type State = Rows;

    fn action_names(&self) -> &'static [&'static str] {
        &[]
    }

    fn call<'a>(&'a self, name: &'a str, _state: &'a mut Rows, _ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Err(Error::msg(format!("no action {name}"))) })
    }
}

#[tokio::test]
async fn the_1000_row_table_on_the_wire() {
    let app = App::builder().page("/table", Table, Rows).build().unwrap();
    let server = Server::bind("127.0.0.1:0", app).await.unwrap();
    let addr = server.local_addr();
    let plain = http(addr, "GET /table HTTP/1.1", b"").await;
    let gzip = http(addr, "GET /table HTTP/1.1\r\nAccept-Encoding: gzip", b"").await;
    let br = http(addr, "GET /table HTTP/1.1\r\nAccept-Encoding: gzip, deflate, br", b"").await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(decode(&gzip).await, plain.body);
    assert_eq!(decode(&br).await, plain.body);
    println!(
        "1000-row page: {} bytes as it is, {} gzip, {} brotli",
        plain.body.len(),
        gzip.body.len(),
        br.body.len()
    );
    // Rows differ in a few digits: both codings shrink the page more than fivefold.
    assert!(plain.body.len() > 100_000);
    assert!(gzip.body.len() * 5 < plain.body.len() && br.body.len() * 5 < plain.body.len());
    server.shutdown().await.unwrap();
}
