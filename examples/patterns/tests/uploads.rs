//! `/uploads` against a real server on 127.0.0.1:0: a WebSocket client that speaks the upload
//! protocol by hand (and lies about sizes), and no-JS multipart POSTs over raw HTTP. Every
//! test checks the temporary directory the server writes to.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use example_patterns::pages::uploads;
use futures_util::{SinkExt, StreamExt};
use livetemplate::{App, Server};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Env {
    server: Server,
    tmp: tempfile::TempDir,
    saved: tempfile::TempDir,
}

impl Env {
    async fn start() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let saved = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let app = uploads::register(App::builder().config(move |c| c.upload_dir = dir), saved.path())
            .build()
            .unwrap();
        let server = Server::bind("127.0.0.1:0", app).await.unwrap();
        Env { server, tmp, saved }
    }

    fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    fn temps(&self) -> usize {
        count(self.tmp.path())
    }
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

async fn ws(addr: SocketAddr) -> Ws {
    let mut req = format!("ws://{addr}/uploads").into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(&format!("http://{addr}")).unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    next(&mut ws).await; // the first render
    ws
}

/// The next text frame as JSON; `Err(code)` when the server closed instead.
async fn next_or_close(ws: &mut Ws) -> Result<Value, u16> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket is open")
            .unwrap();
        match msg {
            Message::Text(t) => return Ok(serde_json::from_str(t.as_str()).unwrap()),
            Message::Close(frame) => return Err(frame.map(|f| u16::from(f.code)).unwrap_or(0)),
            _ => continue,
        }
    }
}

async fn next(ws: &mut Ws) -> Value {
    next_or_close(ws).await.unwrap()
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

async fn chunk(ws: &mut Ws, r: u32, id: u32, bytes: &[u8]) {
    let mut frame = r.to_be_bytes().to_vec();
    frame.extend_from_slice(&id.to_be_bytes());
    frame.extend_from_slice(bytes);
    ws.send(Message::binary(frame)).await.unwrap();
}

/// Name `files` (name, size, type) for `upload`; the ids the server accepted, by key.
async fn preflight(ws: &mut Ws, upload: &str, files: &[(&str, u64, &str)], r: u32) -> Vec<(u32, u32)> {
    let files: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(k, (name, size, ty))| json!({"k": k, "name": name, "size": size, "type": ty}))
        .collect();
    send(
        ws,
        json!({"a": "lvt:upload", "d": {"name": upload, "files": files}, "r": r}),
    )
    .await;
    let reply = next(ws).await;
    assert_eq!(reply["r"], r, "{reply}");
    let event = &reply["events"][0];
    assert_eq!(event[0], "lvt:upload", "{reply}");
    event[1]["ok"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_u64().unwrap() as u32, p[1].as_u64().unwrap() as u32))
        .collect()
}

#[tokio::test]
async fn a_file_arrives_in_chunks_and_is_saved_byte_for_byte() {
    let env = Env::start().await;
    let mut ws = ws(env.addr()).await;
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let ok = preflight(&mut ws, "documents", &[("data.bin", bytes.len() as u64, "")], 1).await;
    let id = ok[0].1;
    assert_eq!(env.temps(), 1, "the temporary file exists before any byte");
    let mut progressed = 0;
    for (r, part) in (10..).zip(bytes.chunks(60_000)) {
        chunk(&mut ws, r, id, part).await;
        let reply = next(&mut ws).await;
        assert_eq!(reply["r"], r);
        assert!(reply.get("e").is_none(), "{reply}");
        progressed += usize::from(reply.get("d").is_some());
    }
    assert_eq!(progressed, 4, "each chunk moved the progress: a diff with each reply");
    send(&mut ws, json!({"a": "save_documents", "r": 99})).await;
    assert_eq!(next(&mut ws).await["r"], 99);
    assert_eq!(env.temps(), 0, "consumed: moved out of the temporary directory");
    let saved: Vec<_> = std::fs::read_dir(env.saved.path()).unwrap().collect();
    assert_eq!(saved.len(), 1);
    assert_eq!(std::fs::read(saved[0].as_ref().unwrap().path()).unwrap(), bytes);
    env.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_client_that_lies_about_sizes_is_stopped() {
    let env = Env::start().await;
    let mut ws = ws(env.addr()).await;
    // Declares 1000 bytes (under the 10 MB limit), sends 1200.
    let ok = preflight(&mut ws, "documents", &[("liar.bin", 1000, "")], 1).await;
    let id = ok[0].1;
    chunk(&mut ws, 2, id, &[1; 600]).await;
    assert!(next(&mut ws).await.get("e").is_none());
    chunk(&mut ws, 3, id, &[1; 600]).await;
    let reply = next(&mut ws).await;
    assert_eq!(reply["r"], 3);
    assert!(reply["e"].as_str().unwrap().contains("more bytes"), "{reply}");
    assert_eq!(reply["events"][0][1]["stop"], id, "the client is told to stop: {reply}");
    assert_eq!(env.temps(), 0, "the failed entry's file is removed at once");

    // Declares a size over the limit: refused before any byte, no file; bytes sent anyway
    // are refused.
    let ok = preflight(&mut ws, "avatar", &[("big.png", 3_000_000, "image/png")], 4).await;
    assert!(ok.is_empty());
    assert_eq!(env.temps(), 0);
    // Its id is the next one (ids count up per connection): bytes sent for it are refused.
    chunk(&mut ws, 40, id + 1, &[0; 100]).await;
    let reply = next(&mut ws).await;
    assert!(reply["e"].as_str().unwrap().contains("takes no more bytes"), "{reply}");
    assert_eq!(env.temps(), 0);
    // The avatar accepts extensions only: a .txt claiming to be an image is still refused.
    let ok = preflight(&mut ws, "avatar", &[("notes.txt", 10, "image/png")], 5).await;
    assert!(ok.is_empty(), "a lying type does not make a .txt acceptable");
    let ok = preflight(&mut ws, "avatar", &[("me.PNG", 10, "")], 6).await;
    assert_eq!(ok.len(), 1, "the extension decides, in any case");
    assert_eq!(env.temps(), 1);

    // Saving while nothing is complete consumes nothing.
    send(&mut ws, json!({"a": "save_documents", "r": 7})).await;
    assert_eq!(next(&mut ws).await["r"], 7);
    assert_eq!(count(env.saved.path()), 0);

    // Bytes for an entry the server never announced: closed with 1008.
    chunk(&mut ws, 8, 4242, b"x").await;
    let reply = next(&mut ws).await;
    assert!(reply["e"].as_str().unwrap().contains("unknown upload entry"));
    assert_eq!(next_or_close(&mut ws).await, Err(1008));
    env.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_binary_frame_without_the_chunk_header_closes_1003_and_a_closed_socket_leaves_no_file() {
    let env = Env::start().await;
    let mut ws = ws(env.addr()).await;
    let ok = preflight(&mut ws, "documents", &[("half.bin", 100_000, "")], 1).await;
    chunk(&mut ws, 2, ok[0].1, &[0; 50_000]).await;
    next(&mut ws).await;
    assert_eq!(env.temps(), 1, "half arrived");
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(next_or_close(&mut ws).await, Err(1003));
    // The connection is gone: so is the half-received file.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while env.temps() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the temporary file outlived the connection"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.server.shutdown().await.unwrap();
}

/// A multipart body with `fields` and `files` (field, file name, type, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "lvt-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (field, name, ty, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {ty}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// POST `body` to /uploads; the status and the `lvt_group` cookie header.
async fn post(addr: SocketAddr, content_type: &str, body: &[u8], cookie: Option<&str>) -> (u16, Option<String>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    let head = format!(
        "POST /uploads HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{cookie}Connection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) before reading it all.
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    let status = text.split(' ').nth(1).unwrap_or("0").parse().unwrap();
    let cookie = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .map(|c| c.split(';').next().unwrap().to_string());
    (status, cookie)
}

async fn get(addr: SocketAddr, cookie: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!("GET /uploads HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    String::from_utf8_lossy(&raw).into_owned()
}

#[tokio::test]
async fn the_no_js_multipart_post_enforces_the_same_limits() {
    let env = Env::start().await;
    let addr = env.addr();
    let png = [137u8, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3];
    let (ct, body) = multipart(&[("save_avatar", "")], &[("avatar", "me.png", "image/png", &png)]);
    let (status, cookie) = post(addr, &ct, &body, None).await;
    assert_eq!(status, 303);
    let cookie = cookie.expect("a group cookie");
    let html = get(addr, &cookie).await;
    assert!(
        html.contains(r#"id="avatar-saved""#) && html.contains("me.png"),
        "{html}"
    );
    let saved: Vec<_> = std::fs::read_dir(env.saved.path()).unwrap().collect();
    assert_eq!(std::fs::read(saved[0].as_ref().unwrap().path()).unwrap(), png);

    // Too large (over 2 MB), not accepted (.txt): refused, never saved, shown with their errors.
    let big = vec![7u8; 2_100_000];
    let (ct, body) = multipart(&[("save_avatar", "")], &[("avatar", "big.png", "image/png", &big)]);
    assert_eq!(post(addr, &ct, &body, Some(&cookie)).await.0, 303);
    assert!(get(addr, &cookie).await.contains(r#"data-error="too_large""#));
    let (ct, body) = multipart(&[("save_avatar", "")], &[("avatar", "a.txt", "text/plain", b"hi")]);
    assert_eq!(post(addr, &ct, &body, Some(&cookie)).await.0, 303);
    let html = get(addr, &cookie).await;
    assert!(html.contains(r#"data-error="not_accepted""#), "{html}");
    assert!(
        !html.contains("too_large"),
        "the earlier POST's refusal is gone: {html}"
    );
    let (ct, body) = multipart(&[("save_avatar", "")], &[("avatar", "again.png", "image/png", &png)]);
    assert_eq!(post(addr, &ct, &body, Some(&cookie)).await.0, 303);
    let html = get(addr, &cookie).await;
    assert!(!html.contains("upload-error") && html.contains("again.png"), "{html}");

    // Four documents: three saved, the fourth refused.
    let docs: Vec<Vec<u8>> = (1..=4).map(|i| vec![i as u8; 1000 * i]).collect();
    let files: Vec<(&str, &str, &str, &[u8])> = ["d1", "d2", "d3", "d4"]
        .iter()
        .zip(&docs)
        .map(|(n, b)| ("documents", *n, "application/octet-stream", b.as_slice()))
        .collect();
    let (ct, body) = multipart(&[("save_documents", "")], &files);
    assert_eq!(post(addr, &ct, &body, Some(&cookie)).await.0, 303);
    let html = get(addr, &cookie).await;
    assert!(html.contains(r#"data-error="too_many_files""#), "{html}");
    assert_eq!(count(env.saved.path()), 5, "two avatars and three documents");
    assert_eq!(env.temps(), 0, "every temporary file is gone after the POSTs");

    // A body larger than every upload together allows: 413 before it is read.
    let (status, _) = post(
        addr,
        "multipart/form-data; boundary=x",
        &vec![b'x'; 33_000_000],
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 413);
    env.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn files_with_odd_names_are_saved_and_shown_escaped() {
    let env = Env::start().await;
    let addr = env.addr();
    // Names near and over what a file system allows (255 bytes), unicode, spaces and markup.
    let long = format!("{}.txt", "x".repeat(250));
    let longer = format!("{}.pdf", "a long name é ".repeat(25));
    let odd = [
        "my doc <img src=x onerror=alert(1)>.txt",
        "résumé 履歴書.txt",
        long.as_str(),
    ];
    let files: Vec<(&str, &str, &str, &[u8])> = odd
        .iter()
        .map(|n| ("documents", *n, "text/plain", b"hello".as_slice()))
        .collect();
    let (ct, body) = multipart(&[("save_documents", "")], &files);
    let (status, cookie) = post(addr, &ct, &body, None).await;
    assert_eq!(status, 303);
    let cookie = cookie.expect("a group cookie");
    // Three at most at once: the fourth in a second POST.
    let (ct, body) = multipart(
        &[("save_documents", "")],
        &[("documents", &longer, "application/pdf", b"hello")],
    );
    assert_eq!(post(addr, &ct, &body, Some(&cookie)).await.0, 303);
    let html = get(addr, &cookie).await;
    assert!(!html.contains("<img src=x"), "the name is escaped: {html}");
    assert!(
        html.contains("my doc &#60;img src=x onerror=alert(1)&#62;.txt"),
        "{html}"
    );
    assert!(html.contains("résumé 履歴書.txt"), "{html}");
    assert!(
        html.contains(&format!(">{long}<")),
        "a 254-character name is listed whole: {html}"
    );
    let cut = format!("{}.pdf<", &longer[..longer.char_indices().nth(251).unwrap().0]);
    assert!(html.contains(&cut), "a longer one is cut before its extension: {html}");
    assert!(!html.contains("upload-error"), "{html}");
    let saved: Vec<_> = std::fs::read_dir(env.saved.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 4, "{saved:?}");
    for p in &saved {
        assert_eq!(std::fs::read(p).unwrap(), b"hello");
        assert!(p.file_name().unwrap().len() <= 255);
    }
    assert!(saved.iter().any(|p| p.to_string_lossy().ends_with("xxx.txt")));
    assert!(
        saved
            .iter()
            .any(|p| p.to_string_lossy().contains("-a_long_name_") && p.to_string_lossy().ends_with(".pdf")),
        "{saved:?}"
    );
    assert_eq!(env.temps(), 0);
    env.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn files_saved_by_an_earlier_run_are_never_overwritten() {
    let env = Env::start().await;
    // What a run before this one saved: the same numbers this run's counter gives.
    for n in 1..=100 {
        std::fs::write(env.saved.path().join(format!("{n}-same.txt")), b"old").unwrap();
    }
    let (ct, body) = multipart(
        &[("save_documents", "")],
        &[("documents", "same.txt", "text/plain", b"new")],
    );
    assert_eq!(post(env.addr(), &ct, &body, None).await.0, 303);
    let all: Vec<Vec<u8>> = std::fs::read_dir(env.saved.path())
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(all.len(), 101);
    assert_eq!(all.iter().filter(|b| b.as_slice() == b"old").count(), 100);
    env.server.shutdown().await.unwrap();
}
