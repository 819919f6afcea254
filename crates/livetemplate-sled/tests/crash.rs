//! kill -9 after an acknowledged action loses nothing: 50 rounds of the example server with a
//! sled store, killed at a random moment while a client streams `increment` actions, then
//! restarted; the counter it shows must be at least the last acknowledged value.
//!
//! Bounded (well under 90 s); `cargo test -p livetemplate-sled --test crash -- --nocapture`
//! prints the totals.

#![allow(clippy::unwrap_used)]

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const ROUNDS: u32 = 50;
const BUDGET: Duration = Duration::from_secs(85);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The example server binary, built if missing.
fn example_binary() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../target"));
    let bin = target
        .join("debug")
        .join(format!("example-patterns{}", std::env::consts::EXE_SUFFIX));
    // Build even when present, so the server runs the store code under test (a no-op when
    // fresh). An existing binary is still used if the build fails.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "-p", "example-patterns"])
        .current_dir(manifest.join("../.."))
        .status()
        .is_ok_and(|s| s.success());
    if !built {
        eprintln!("cargo build -p example-patterns failed; using the existing binary if any");
    }
    assert!(bin.exists(), "no example binary at {}", bin.display());
    bin
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A small xorshift: random enough for kill timings, no dependency.
struct Rng(u64);

impl Rng {
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo + 1)
    }
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    async fn start(bin: &Path, data: &Path) -> Server {
        let port = free_port();
        let child = Command::new(bin)
            .args(["--addr", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the example server");
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the example server exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "the example server did not listen on {port}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server
    }

    /// SIGKILL on Unix: no shutdown, no final flush.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET `path` over HTTP/1.0 (a close-delimited body, no chunking): (head, body).
async fn get(port: u16, path: &str, cookie: Option<&str>) -> Result<(String, String), BoxError> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw)).await??;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no end of headers")?;
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return Ok((head.to_string(), dechunk(body)));
    }
    Ok((head.to_string(), body.to_string()))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn counter_in(html: &str) -> Option<i64> {
    let start = html.find("<strong id=\"counter\">")? + "<strong id=\"counter\">".len();
    let end = start + html[start..].find('<')?;
    html[start..end].trim().parse().ok()
}

fn group_cookie(head: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if !name.eq_ignore_ascii_case("set-cookie") {
            return None;
        }
        let pair = value.trim().split(';').next()?.trim();
        pair.starts_with("lvt_group=").then(|| pair.to_string())
    })
}

/// The server's default token bucket allows a burst of 100 messages (then 50/s); stay below.
const MAX_ACTIONS_PER_CONNECTION: u64 = 90;

/// Stream increments for `run_for`, each sent after the previous one's ack, then send one more
/// and return at once, so the kill that follows lands while a write is in flight. Returns the
/// counter value of the last acknowledged action and how many were acknowledged.
async fn stream_increments(port: u16, cookie: &str, run_for: Duration) -> Result<(i64, u64), BoxError> {
    let mut req = format!("ws://127.0.0.1:{port}/reconnection").into_client_request()?;
    req.headers_mut().insert("Cookie", HeaderValue::from_str(cookie)?);
    req.headers_mut()
        .insert("Origin", HeaderValue::from_str(&format!("http://127.0.0.1:{port}"))?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    let first = loop {
        match ws.next().await.ok_or("socket closed before the first frame")?? {
            Message::Text(t) => break t.to_string(),
            Message::Close(_) => return Err("socket closed before the first frame".into()),
            _ => {}
        }
    };
    let mut tree = livetemplate_core::testing::ClientTree::new();
    tree.apply(&first)?;
    let mut value = counter_in(&tree.html()).ok_or("no counter in the first frame")?;
    let mut acked = 0u64;
    let until = Instant::now() + run_for;
    let mut r = 1u64;
    while Instant::now() < until {
        if acked >= MAX_ACTIONS_PER_CONNECTION {
            tokio::time::sleep_until(until.into()).await;
            break;
        }
        ws.send(Message::text(format!("{{\"a\":\"increment\",\"r\":{r}}}")))
            .await?;
        loop {
            let msg = ws.next().await.ok_or("socket closed while waiting for an ack")??;
            if let Message::Close(reason) = &msg {
                return Err(format!("the server closed the socket after {acked} acks: {reason:?}").into());
            }
            let Message::Text(t) = msg else { continue };
            let frame: serde_json::Value = serde_json::from_str(&t)?;
            if frame.get("r").and_then(serde_json::Value::as_u64) != Some(r) {
                continue;
            }
            if let Some(e) = frame.get("e") {
                return Err(format!("action failed: {e}").into());
            }
            tree.apply(&t)?;
            break;
        }
        value += 1;
        acked += 1;
        let shown = counter_in(&tree.html()).ok_or("no counter after an ack")?;
        assert_eq!(shown, value, "the acknowledged frame shows {shown}, expected {value}");
        r += 1;
    }
    // In flight when the kill comes: it may or may not survive, it was never acknowledged.
    ws.send(Message::text(format!("{{\"a\":\"increment\",\"r\":{r}}}")))
        .await?;
    Ok((value, acked))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_an_ack_loses_nothing() {
    let bin = example_binary();
    let data = std::env::temp_dir().join(format!("lvt-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut rng = Rng(seed);
    let started = Instant::now();

    let server = Server::start(&bin, &data).await;
    let (head, _) = get(server.port, "/reconnection", None).await.expect("first GET");
    let cookie = group_cookie(&head).expect("a Set-Cookie lvt_group on the first GET");
    let mut server = Some(server);

    let (mut rounds, mut acked_total, mut lost, mut in_flight_kept, mut last_acked) = (0u32, 0u64, 0u64, 0u64, 0i64);
    for round in 0..ROUNDS {
        if started.elapsed() > BUDGET {
            println!("time budget reached after {round} rounds");
            break;
        }
        let running = match server.take() {
            Some(s) => s,
            None => Server::start(&bin, &data).await,
        };
        let run_for = Duration::from_millis(rng.between(20, 150));
        let (value, acked) = stream_increments(running.port, &cookie, run_for)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        running.kill();

        let restarted = Server::start(&bin, &data).await;
        let (_, body) = get(restarted.port, "/reconnection", Some(&cookie))
            .await
            .expect("GET after restart");
        let shown = counter_in(&body).unwrap_or_else(|| panic!("round {round}: no counter in {body}"));
        if shown < value {
            lost += u64::try_from(value - shown).unwrap_or(0);
            println!("round {round}: acknowledged {value}, restored {shown}");
        } else if shown > value {
            in_flight_kept += 1;
        }
        rounds += 1;
        acked_total += acked;
        last_acked = shown;
        server = Some(restarted);
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    println!(
        "crash test: {rounds} rounds, {acked_total} actions acknowledged, final counter {last_acked}, \
         {lost} values lost, {in_flight_kept} unacknowledged in-flight increments kept, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(rounds >= 10, "only {rounds} rounds ran in the time budget");
    assert_eq!(lost, 0, "acknowledged increments were lost after kill -9");
}
