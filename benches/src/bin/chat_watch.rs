//! Load scenario for `/chat-stream` (or `/chat`, `/broadcasting`): `--watchers` connections
//! watch the room while `--senders` connections (joined, taking turns) post `--messages`
//! messages one at a time, each after the previous one reached every watcher. Prints how long
//! delivering a message to every watcher took (send → the last watcher's frame), as medians
//! around message 10, 1,000 and 10,000, and the server's RSS (`--pid`): at start, once the
//! senders are connected (their own cost, per sender), once the watchers are connected too, and
//! after the messages. "Growth per watcher" is (RSS after the messages − RSS before the
//! watchers connected) / watchers: it includes everything the server's RSS gained during the
//! messages, the senders' share and the allocator's retained pages included.
//!
//! ```text
//! cargo run --release -p example-patterns -- --addr 127.0.0.1:8080 &
//! cargo run --release -p livetemplate-benches --bin chat_watch -- \
//!     --url http://127.0.0.1:8080/chat-stream --watchers 10 --messages 10000 --pid $(pgrep -n example-patt)
//! ```
//!
//! Several senders take turns because the server limits each connection's message rate
//! (50/s, burst 100, by default). Loopback hosts only.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{WebSocketStream, client_async};

type Socket = WebSocketStream<TcpStream>;
type Failure = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "usage: chat_watch --url http://127.0.0.1:PORT/chat-stream [--watchers N] [--senders S] \
[--messages M] [--bytes B] [--pid P]";

#[derive(Debug, Clone)]
struct Options {
    authority: String,
    target: String,
    addr: SocketAddr,
    watchers: usize,
    senders: usize,
    messages: usize,
    bytes: usize,
    pid: Option<u32>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let opts = match parse(std::env::args().skip(1)).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(opts).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat_watch: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut url = None;
    let (mut watchers, mut senders, mut messages, mut bytes, mut pid) = (10, 20, 10_000, 1_000, None);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--watchers" => watchers = num(value()?)?.max(1),
            "--senders" => senders = num(value()?)?.max(1),
            "--messages" => messages = num(value()?)?.max(1),
            "--bytes" => bytes = num(value()?)?.clamp(16, 2_000),
            "--pid" => pid = Some(num(value()?)? as u32),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let url = url.ok_or("--url is required")?;
    let rest = url.strip_prefix("http://").ok_or("--url must start with http://")?;
    let (authority, target) = match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.to_string(), "/".to_string()),
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&authority)
        .await
        .map_err(|e| format!("{authority}: {e}"))?
        .collect();
    if addrs.is_empty() || !addrs.iter().all(|a| a.ip().is_loopback()) {
        return Err(format!("{authority} is not a loopback address"));
    }
    Ok(Options {
        authority,
        target,
        addr: addrs[0],
        watchers,
        senders,
        messages,
        bytes,
        pid,
    })
}

async fn run(opts: Options) -> Result<(), Failure> {
    let rss_start = opts.pid.map(rss_kib).transpose()?;
    // Senders first, so their cost is measured apart from the watchers'.
    let mut senders = Vec::new();
    for i in 0..opts.senders {
        let mut s = connect(&opts).await?;
        let join = serde_json::json!({"a": "join", "d": {"username": format!("sender{i}")}, "r": 1});
        s.send(Message::text(join.to_string())).await?;
        read_reply(&mut s, 1).await?;
        senders.push((s, 1u64));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_senders = opts.pid.map(rss_kib).transpose()?;
    // Watchers: each reads its frames on a task and reports which messages arrived.
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let mut watcher_tasks = Vec::new();
    for _ in 0..opts.watchers {
        let socket = connect(&opts).await?;
        let tx = tx.clone();
        watcher_tasks.push(tokio::spawn(watch(socket, tx)));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_connected = opts.pid.map(rss_kib).transpose()?;
    println!(
        "{} senders, then {} watchers connected to http://{}{}",
        opts.senders, opts.watchers, opts.authority, opts.target
    );

    let started = Instant::now();
    let mut delivery = Vec::with_capacity(opts.messages);
    let pad = "x".repeat(opts.bytes.saturating_sub(16));
    for i in 1..=opts.messages {
        let (socket, r) = &mut senders[i % opts.senders];
        *r += 1;
        let text = format!("msg#{i}# {pad}");
        let frame = serde_json::json!({"a": "send", "d": {"text": text}, "r": *r});
        let sent = Instant::now();
        socket.send(Message::text(frame.to_string())).await?;
        let reply = read_reply(socket, *r).await?;
        if let Some(e) = reply.get("e") {
            return Err(format!("message {i} refused: {e}").into());
        }
        let mut got = 0;
        let mut last = sent;
        while got < opts.watchers {
            let (n, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .map_err(|_| format!("message {i} did not reach every watcher within 10 s"))?
                .ok_or("the watchers stopped")?;
            if n == i {
                got += 1;
                last = last.max(at);
            }
        }
        delivery.push(last - sent);
        if i % 1000 == 0 {
            // Keep the senders' connections alive on long runs.
            for (s, _) in &mut senders {
                s.send(Message::text(r#"{"h":1}"#)).await?;
            }
        }
    }
    let total = started.elapsed();
    println!(
        "{} messages in {:.1} s ({:.0}/s), {} bytes each",
        opts.messages,
        total.as_secs_f64(),
        opts.messages as f64 / total.as_secs_f64(),
        opts.bytes
    );
    for at in [10usize, 1_000, 10_000] {
        if at > delivery.len() {
            continue;
        }
        let lo = at.saturating_sub(10).max(1);
        let hi = (at + 10).min(delivery.len());
        let mut window: Vec<Duration> = delivery[lo - 1..hi].to_vec();
        window.sort();
        println!(
            "delivery to all {} watchers around message {at} (messages {lo}..={hi}): median {:.3} ms",
            opts.watchers,
            window[window.len() / 2].as_secs_f64() * 1e3
        );
    }
    if let (Some(pid), Some(start), Some(senders_in), Some(connected)) =
        (opts.pid, rss_start, rss_senders, rss_connected)
    {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = rss_kib(pid)?;
        let kib = |from: u64, to: u64, n: usize| (to as f64 - from as f64) / n as f64;
        println!(
            "server RSS: {start} KiB at start, {senders_in} KiB with the {} senders ({:.1} KiB each), \
             {connected} KiB with the {} watchers too, {after} KiB after {} messages",
            opts.senders,
            kib(start, senders_in, opts.senders),
            opts.watchers,
            opts.messages
        );
        println!(
            "server RSS growth per watcher: {:.1} KiB at connect, {:.1} KiB after {} messages \
             (RSS after the messages minus RSS before the watchers connected, / {} watchers)",
            kib(senders_in, connected, opts.watchers),
            kib(senders_in, after, opts.watchers),
            opts.messages,
            opts.watchers
        );
    }
    for t in watcher_tasks {
        t.abort();
    }
    Ok(())
}

/// Read a watcher's frames; report each `msg#N#` seen, with when.
async fn watch(mut socket: Socket, tx: mpsc::UnboundedSender<(usize, Instant)>) {
    let mut beat = tokio::time::interval(Duration::from_secs(15));
    loop {
        tokio::select! {
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let now = Instant::now();
                    for part in text.split("msg#").skip(1) {
                        if let Some(n) = part.split('#').next().and_then(|n| n.parse().ok()) {
                            let _ = tx.send((n, now));
                        }
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            _ = beat.tick() => {
                if socket.send(Message::text(r#"{"h":1}"#)).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn read_reply(socket: &mut Socket, r: u64) -> Result<serde_json::Value, Failure> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: serde_json::Value = serde_json::from_str(&text)?;
                if frame.get("r").and_then(|v| v.as_u64()) == Some(r) {
                    return Ok(frame);
                }
            }
            Some(Ok(Message::Close(close))) => return Err(format!("closed: {close:?}").into()),
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.into()),
            None => return Err("the server closed the connection".into()),
        }
    }
}

/// GET the page for the group cookie, then open its WebSocket and read the first frame.
async fn connect(opts: &Options) -> Result<Socket, Failure> {
    let mut tcp = TcpStream::connect(opts.addr).await?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/html\r\nConnection: close\r\n\r\n",
        opts.target, opts.authority
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut reader = BufReader::new(tcp);
    let mut line = String::new();
    let mut cookie = None;
    while reader.read_line(&mut line).await? > 0 && line != "\r\n" {
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("set-cookie")
            && let Some(pair) = value.trim().split(';').next()
            && pair.starts_with("lvt_group=")
        {
            cookie = Some(pair.to_string());
        }
        line.clear();
    }
    let cookie = cookie.ok_or("the page set no lvt_group cookie")?;
    let tcp = TcpStream::connect(opts.addr).await?;
    tcp.set_nodelay(true)?;
    let mut request = format!("ws://{}{}", opts.authority, opts.target).into_client_request()?;
    let headers = request.headers_mut();
    headers.insert("origin", HeaderValue::from_str(&format!("http://{}", opts.authority))?);
    headers.insert("cookie", HeaderValue::from_str(&cookie)?);
    let (mut socket, _) = client_async(request, tcp).await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(_))) => return Ok(socket),
            Some(Ok(_)) => {}
            _ => return Err("the server closed the connection at once".into()),
        }
    }
}

/// `VmRSS` of process `pid`, in KiB.
fn rss_kib(pid: u32) -> Result<u64, Failure> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status").into())
}
