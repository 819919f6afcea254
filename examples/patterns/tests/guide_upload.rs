//! A page written from the guide's "Uploads" section alone (`allow_upload` with `auto_upload`,
//! `consume_uploads` moving the files into a directory of the app's), posted to as a browser
//! without JavaScript does, against a real server on 127.0.0.1:0.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use livetemplate::prelude::*;
use livetemplate::{App, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

static KEEP: OnceLock<PathBuf> = OnceLock::new();

#[derive(LiveState, Clone, Default)]
#[lvt(
    source = r#"<form method="POST" enctype="multipart/form-data">
<input type="file" name="photos" lvt-upload="photos" accept="{{ photos.accept() }}" multiple>
<button name="save">Save</button></form>
<ul>{% for e in photos.entries() %}<li data-key="{{ e.id }}">{{ e.client_name }} {{ e.size_text() }}
{% for err in e.errors %}<b>{{ err }}</b>{% endfor %}</li>{% endfor %}</ul>
<p>{{ saved }} saved</p>"#,
    ext = "html"
)]
struct Photos {
    photos: Upload,
    saved: usize,
}
struct PhotosController;

#[actions]
impl PhotosController {
    async fn mount(&self, state: &mut Photos, ctx: &mut Context) -> Result<()> {
        state.photos = ctx.allow_upload(
            "photos",
            UploadConfig {
                accept: vec![".jpg".into(), ".png".into()],
                max_entries: 2,
                max_file_size: 1_000,
                auto_upload: true,
                ..UploadConfig::default()
            },
        )?;
        Ok(())
    }

    async fn save(&self, state: &mut Photos, ctx: &mut Context) -> Result<()> {
        let dir = KEEP.get().unwrap();
        let kept = ctx.consume_uploads("photos", |path, entry| {
            let to = dir.join(format!("photo-{}", entry.id));
            std::fs::rename(path, &to)
                .or_else(|_| std::fs::copy(path, &to).map(|_| ()))
                .map_err(|e| Error::msg(format!("could not keep {}: {e}", entry.client_name)))
        })?;
        state.saved += kept.len();
        Ok(())
    }
}

async fn http(addr: std::net::SocketAddr, head: String, body: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    String::from_utf8_lossy(&raw).into_owned()
}

#[tokio::test]
async fn a_page_from_the_guide_keeps_the_files_it_accepts() {
    let keep = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    KEEP.set(keep.path().to_path_buf()).unwrap();
    let up = tmp.path().to_path_buf();
    let app = App::builder()
        .config(move |c| c.upload_dir = up)
        .page("/photos", PhotosController, Photos::default())
        .build()
        .unwrap();
    let server = Server::bind("127.0.0.1:0", app).await.unwrap();
    let addr = server.local_addr();

    let b = "guide-boundary";
    let mut body = format!("--{b}\r\nContent-Disposition: form-data; name=\"save\"\r\n\r\n\r\n").into_bytes();
    for (name, bytes) in [
        ("cat.png", vec![1u8; 10]),
        ("dog.jpg", vec![2u8; 20]),
        ("big.png", vec![3u8; 2_000]),
        ("a.gif", vec![4u8; 5]),
    ] {
        body.extend(format!("--{b}\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").bytes());
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{b}--\r\n").bytes());
    let head = format!(
        "POST /photos HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: multipart/form-data; boundary={b}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let reply = http(addr, head, &body).await;
    assert!(reply.starts_with("HTTP/1.1 303"), "{reply}");
    let cookie = reply
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].trim().split(';').next().unwrap().to_string())
        })
        .unwrap();
    let page = http(
        addr,
        format!("GET /photos HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
        b"",
    )
    .await;
    assert!(page.contains("<p>2 saved</p>"), "{page}");
    assert!(
        page.contains("big.png 2.0 KB\n<b>too_many_files</b><b>too_large</b>")
            && page.contains("a.gif 5 B\n<b>too_many_files</b><b>not_accepted</b>"),
        "{page}"
    );
    assert!(
        !page.contains("cat.png") && !page.contains("dog.jpg"),
        "consumed entries are gone: {page}"
    );
    let mut kept: Vec<Vec<u8>> = std::fs::read_dir(keep.path())
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept, vec![vec![1u8; 10], vec![2u8; 20]]);
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "no temporary file is left"
    );
    server.shutdown().await.unwrap();
}
