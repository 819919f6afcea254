//! Upload bench: one 50 MB file over a real WebSocket on loopback, sent as the browser client
//! sends it (named first, then binary chunks of 65,528 bytes with at most 4 unanswered), while
//! the same connection clicks a counter every 2 ms. Prints the upload's throughput and the
//! clicks' round trips during the upload, next to the round trip with no upload running.
//!
//! ```sh
//! cargo run --release -p livetemplate-benches --bin upload
//! ```
//!
//! The server runs in this process (its own multi-threaded runtime, the transport's real
//! socket loop) with the temporary files in the system's temporary directory; the file's
//! bytes are generated, never read from disk. Options: `--mb N` (default 50), `--window W`
//! (chunks in flight, default 4, the client's `WINDOW`), `--click-ms M` (default 2).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use livetemplate::prelude::*;
use livetemplate::{App, Server};
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// A counter beside one upload.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = "<p>{{ count }}</p><ul>{% for e in file.entries() %}<li>{{ e.client_name }} {{ e.progress }}</li>{% endfor %}</ul>",
    ext = "html"
)]
pub struct UploadBench {
    /// Clicks.
    pub count: i64,
    /// The upload.
    pub file: Upload,
}

/// The bench page's actions.
#[derive(Debug)]
pub struct UploadBenchController;

#[actions]
impl UploadBenchController {
    async fn mount(&self, state: &mut UploadBench, ctx: &mut Context) -> Result<()> {
        state.file = ctx.allow_upload(
            "file",
            UploadConfig {
                max_file_size: 1 << 30,
                auto_upload: true,
                ..UploadConfig::default()
            },
        )?;
        Ok(())
    }

    async fn increment(&self, state: &mut UploadBench, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        Ok(())
    }
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A lock that survives a panicked holder (the bench's data stays readable).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let mb = arg("--mb", 50);
    let window = arg("--window", 4).max(1);
    let server_rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let server = server_rt.block_on(async {
        let app = App::builder()
            .page("/bench", UploadBenchController, UploadBench::default())
            .build()?;
        Server::bind("127.0.0.1:0", app)
            .await
            .map_err(livetemplate::Error::from)
    })?;
    let addr = server.local_addr();
    let client_rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    client_rt.block_on(run(addr, mb * 1_000_000, window))?;
    server_rt.block_on(server.shutdown())?;
    Ok(())
}

type Pending = Arc<Mutex<HashMap<u64, (Instant, bool)>>>;

async fn run(
    addr: std::net::SocketAddr,
    size: usize,
    window: usize,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let mut req = format!("ws://{addr}/bench").into_client_request()?;
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(&format!("http://{addr}"))?);
    let (ws, _) = tokio_tungstenite::connect_async(req).await?;
    let (sink, mut stream) = ws.split();
    let sink = Arc::new(tokio::sync::Mutex::new(sink));
    stream.next().await.ok_or("no first frame")??;

    // The reader: answers by ref. Chunk acks free a window slot; click replies record their
    // round trip (flagged with whether the upload was running).
    let pending: Pending = Arc::default();
    let slots = Arc::new(Semaphore::new(window));
    let clicks: Arc<Mutex<Vec<(Duration, bool)>>> = Arc::default();
    let accepted = Arc::new(Notify::new());
    let entry: Arc<Mutex<Option<u32>>> = Arc::default();
    let reader = {
        let (pending, slots, clicks, accepted, entry) = (
            pending.clone(),
            slots.clone(),
            clicks.clone(),
            accepted.clone(),
            entry.clone(),
        );
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let v: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                if let Some(id) = v["events"][0][1]["ok"][0][1].as_u64() {
                    *lock(&entry) = Some(id as u32);
                    accepted.notify_one();
                }
                let Some(r) = v["r"].as_u64() else { continue };
                if let Some(e) = v.get("e") {
                    eprintln!("error reply: {e}");
                }
                match lock(&pending).remove(&r) {
                    Some((sent, uploading)) => lock(&clicks).push((sent.elapsed(), uploading)),
                    None => slots.add_permits(1),
                }
            }
        })
    };

    let mut next_ref = 1u64;
    let mut click = |uploading: bool| {
        next_ref += 1;
        lock(&pending).insert(next_ref, (Instant::now(), uploading));
        json!({"a": "increment", "r": next_ref}).to_string()
    };
    // Clicks with nothing else running: the baseline.
    for _ in 0..50 {
        let before = lock(&clicks).len();
        sink.lock().await.send(Message::text(click(false))).await?;
        while lock(&clicks).len() == before {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }

    let name =
        json!({"a": "lvt:upload", "r": 1, "d": {"name": "file", "files": [{"k": 1, "name": "big.bin", "size": size}]}});
    sink.lock().await.send(Message::text(name.to_string())).await?;
    accepted.notified().await;
    let id = lock(&entry).ok_or("not accepted")?;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let every = arg("--click-ms", 2) as u64;
    let clicker = {
        let (sink, done, pending) = (sink.clone(), done.clone(), pending.clone());
        tokio::spawn(async move {
            let mut r = 2_000_000_000u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(every)).await;
                r += 1;
                // Stamped before waiting for the socket: a click queued behind chunks counts.
                lock(&pending).insert(r, (Instant::now(), true));
                let mut sink = sink.lock().await;
                let _ = sink
                    .send(Message::text(json!({"a": "increment", "r": r}).to_string()))
                    .await;
            }
        })
    };
    let started = Instant::now();
    let chunk = vec![0x5au8; UploadConfig::MAX_CHUNK];
    let mut sent = 0usize;
    let mut r = 1_000_000_000u64;
    while sent < size {
        let n = UploadConfig::MAX_CHUNK.min(size - sent);
        slots.acquire().await?.forget();
        r += 1;
        let mut frame = (r as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&id.to_be_bytes());
        frame.extend_from_slice(&chunk[..n]);
        sink.lock().await.send(Message::binary(frame)).await?;
        sent += n;
    }
    // Every chunk answered.
    let _all = slots.acquire_many(window as u32).await?;
    let took = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = clicker.await;
    reader.abort();

    let all = lock(&clicks).clone();
    let mut base: Vec<Duration> = all.iter().filter(|(_, u)| !u).map(|(d, _)| *d).collect();
    let mut during: Vec<Duration> = all.iter().filter(|(_, u)| *u).map(|(d, _)| *d).collect();
    base.sort();
    during.sort();
    println!(
        "upload: {} MB in {:.3} s = {:.1} MB/s (chunks of {} B, {} in flight)",
        size / 1_000_000,
        took.as_secs_f64(),
        size as f64 / 1e6 / took.as_secs_f64(),
        UploadConfig::MAX_CHUNK,
        window
    );
    println!(
        "click round trip, idle ({} clicks): p50 {}, p99 {}, max {}",
        base.len(),
        ms(percentile(&base, 0.5)),
        ms(percentile(&base, 0.99)),
        ms(percentile(&base, 1.0))
    );
    println!(
        "click round trip during the upload ({} clicks): p50 {}, p99 {}, max {}",
        during.len(),
        ms(percentile(&during, 0.5)),
        ms(percentile(&during, 0.99)),
        ms(percentile(&during, 1.0))
    );
    Ok(())
}
