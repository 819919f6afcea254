//! Load generator: N real WebSocket connections to one page of a running livetemplate server,
//! opened the way the browser client opens them, then a scenario of sequential actions.
//!
//! ```sh
//! cargo run --release -p example-patterns &             # serves /counter on 127.0.0.1:8080
//! cargo run --release -p livetemplate-benches --bin load -- \
//!     --url http://127.0.0.1:8080/counter --conns 2000 --actions 1000 --pid $(pgrep -n example-patt)
//! ```
//!
//! Each connection first GETs the page (for its signed `lvt_group` cookie, as a browser
//! does), then upgrades on the page's own URL with that `Cookie` and an `Origin` of the
//! page's origin, and waits for the first frame (the whole tree). When all N are connected and
//! idle for `--settle` seconds, it reads the server's RSS (`--pid`, `/proc/P/status` `VmRSS`)
//! and prints the growth per connection. Then `--concurrency` senders send `--actions` actions
//! in all (`{"a":NAME,"d":DATA,"r":n}`), each sender one at a time (the next after the previous
//! reply) on its share of the connections in turn (a connection alone would be held to the
//! server's per-connection rate, 50/s by default), and it prints the round trip's percentiles
//! and the actions per second. Options:
//!
//! | option | default | meaning |
//! |---|---|---|
//! | `--url URL` | (required) | the page; `http://` on a loopback host only |
//! | `--conns N` | 1 | connections to open and hold |
//! | `--actions M` | 1000 | actions to send in all (0: only connect and measure memory) |
//! | `--concurrency C` | 1 | senders at once (each sequentially) |
//! | `--action NAME` | `increment` | the action |
//! | `--data JSON` | none | the action's data object, e.g. `'{"id":"500"}'` for a table's `bump` |
//! | `--pid P` | none | the server's process id, for its RSS |
//! | `--settle S` | 2 | seconds to wait, all connected, before reading the RSS |
//! | `--hold S` | 0 | seconds to keep the connections open after the actions (heartbeats every 20 s) |
//! | `--open C` | 32 | connections being opened at once |
//!
//! It refuses any host that does not resolve to loopback addresses only. It raises its own
//! open-file limit; the server needs `ulimit -n` above N too (about N + 64).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

type Socket = WebSocketStream<TcpStream>;
type Failure = Box<dyn std::error::Error + Send + Sync>;

/// How long opening one connection (GET, upgrade, first frame) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const USAGE: &str = "usage: load --url http://127.0.0.1:PORT/PAGE [--conns N] [--actions M] [--concurrency C] \
[--action NAME] [--data JSON] [--pid P] [--settle S] [--hold S] [--open C]";

/// The command line.
#[derive(Debug, Clone)]
struct Options {
    /// `host:port`, as the `Host` header and the `Origin` carry it.
    authority: String,
    /// Path and query of the page.
    target: String,
    /// The loopback address `authority` resolved to.
    addr: SocketAddr,
    conns: usize,
    actions: usize,
    concurrency: usize,
    action: String,
    data: Option<serde_json::Value>,
    pid: Option<u32>,
    settle: Duration,
    hold: Duration,
    open: usize,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let opts = match parse_args(std::env::args().skip(1)).await {
        Ok(opts) => opts,
        Err(msg) => {
            eprintln!("{msg}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(opts).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("load: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut url = None;
    let mut opts = Options {
        authority: String::new(),
        target: String::new(),
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        conns: 1,
        actions: 1000,
        concurrency: 1,
        action: "increment".into(),
        data: None,
        pid: None,
        settle: Duration::from_secs(2),
        hold: Duration::ZERO,
        open: 32,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|_| format!("{flag}: `{v}` is not a number"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--conns" => opts.conns = number(value()?)?.max(1),
            "--actions" => opts.actions = number(value()?)?,
            "--concurrency" => opts.concurrency = number(value()?)?.max(1),
            "--action" => opts.action = value()?,
            "--data" => {
                let v = value()?;
                let data: serde_json::Value = serde_json::from_str(&v).map_err(|e| format!("--data: {e}"))?;
                if !data.is_object() {
                    return Err("--data must be a JSON object".into());
                }
                opts.data = Some(data);
            }
            "--pid" => opts.pid = Some(number(value()?)? as u32),
            "--settle" => opts.settle = Duration::from_secs(number(value()?)? as u64),
            "--hold" => opts.hold = Duration::from_secs(number(value()?)? as u64),
            "--open" => opts.open = number(value()?)?.max(1),
            "-h" | "--help" => return Err("load generator for a livetemplate page".into()),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    let url = url.ok_or("--url is required")?;
    let rest = url
        .strip_prefix("http://")
        .ok_or("--url must start with http:// (a local server)")?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    opts.authority = authority.to_string();
    opts.target = if target.starts_with('?') {
        format!("/{target}")
    } else {
        target.to_string()
    };
    opts.addr = loopback_addr(authority).await?;
    opts.concurrency = opts.concurrency.min(opts.conns);
    Ok(opts)
}

/// The address `authority` resolves to, when every address it resolves to is loopback.
async fn loopback_addr(authority: &str) -> Result<SocketAddr, String> {
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&with_port)
        .await
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .collect();
    match addrs.first() {
        Some(first) if addrs.iter().all(|a| a.ip().is_loopback()) => Ok(*first),
        Some(_) => Err(format!(
            "refusing {authority}: this load generator only targets loopback addresses (127.0.0.0/8, ::1)"
        )),
        None => Err(format!("{authority} resolves to no address")),
    }
}

async fn run(opts: Options) -> Result<(), Failure> {
    let limit = rlimit::increase_nofile_limit(opts.conns as u64 + 256)?;
    if limit < opts.conns as u64 + 16 {
        return Err(format!(
            "the open-file limit is {limit}, too low for {} connections; raise the hard limit (ulimit -Hn)",
            opts.conns
        )
        .into());
    }
    let opts = Arc::new(opts);
    println!(
        "target http://{}{} ({} connections; the server needs `ulimit -n` of at least {})",
        opts.authority,
        opts.target,
        opts.conns,
        opts.conns + 64
    );
    let rss_before = opts.pid.map(rss_kib).transpose()?;

    // Open every connection, `--open` at a time.
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(opts.open));
    let mut opening = Vec::with_capacity(opts.conns);
    for _ in 0..opts.conns {
        let (opts, gate) = (opts.clone(), gate.clone());
        opening.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            // A server out of file descriptors leaves connections unaccepted: say so.
            match tokio::time::timeout(CONNECT_TIMEOUT, connect(&opts)).await {
                Ok(result) => result,
                Err(_) => Err(format!(
                    "a connection got no answer within {} s (is the server's `ulimit -n` above {}?)",
                    CONNECT_TIMEOUT.as_secs(),
                    opts.conns + 64
                )
                .into()),
            }
        }));
    }
    let mut sockets = Vec::with_capacity(opts.conns);
    let mut first_frame_bytes = 0;
    for task in opening {
        let (socket, first) = task.await??;
        first_frame_bytes = first;
        sockets.push(socket);
    }
    let open_time = started.elapsed();
    println!(
        "connected {} in {:.2} s: {:.0} connections/s (first frame {} bytes)",
        sockets.len(),
        open_time.as_secs_f64(),
        sockets.len() as f64 / open_time.as_secs_f64(),
        first_frame_bytes
    );

    if let (Some(pid), Some(before)) = (opts.pid, rss_before) {
        tokio::time::sleep(opts.settle).await;
        let after = rss_kib(pid)?;
        let per_conn = (after as f64 - before as f64) / sockets.len() as f64;
        println!(
            "server RSS: {before} KiB before, {after} KiB with {} idle connections: {per_conn:.2} KiB per connection",
            sockets.len()
        );
    }

    if opts.actions > 0 {
        actions(&opts, &mut sockets).await?;
    }

    if !opts.hold.is_zero() {
        println!("holding {} connections for {} s", sockets.len(), opts.hold.as_secs());
        let end = Instant::now() + opts.hold;
        while Instant::now() < end {
            tokio::time::sleep((end - Instant::now()).min(Duration::from_secs(20))).await;
            for socket in &mut sockets {
                heartbeat(socket).await?;
            }
        }
        if let Some(pid) = opts.pid {
            println!("server RSS after holding: {} KiB", rss_kib(pid)?);
        }
    }
    for socket in &mut sockets {
        let _ = socket.close(None).await;
    }
    Ok(())
}

/// Send `--actions` actions with `--concurrency` workers, each one action at a time (the next
/// after the previous reply), and print the round trips and the rate. The connections are
/// shared out among the workers, and each worker sends its next action on its next
/// connection in turn: the server throttles each connection to its `rate_per_sec` (default
/// 50/s), so one connection alone would measure the throttle, not the server.
async fn actions(opts: &Arc<Options>, sockets: &mut Vec<Socket>) -> Result<(), Failure> {
    let workers = opts.concurrency;
    let mut shares: Vec<Vec<Socket>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, socket) in sockets.drain(..).enumerate() {
        shares[i % workers].push(socket);
    }
    let per_worker = opts.actions.div_ceil(workers);
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    let mut left = opts.actions;
    for mut share in shares {
        let count = per_worker.min(left);
        left -= count;
        let opts = opts.clone();
        tasks.spawn(async move {
            let result = send_actions(&opts, &mut share, count).await;
            (share, result)
        });
    }
    let mut round_trips = Vec::with_capacity(opts.actions);
    let mut errors = 0usize;
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let (share, result) = joined?;
        sockets.extend(share);
        let outcome = result?;
        round_trips.extend(outcome.round_trips);
        errors += outcome.errors;
        if first_error.is_none() {
            first_error = outcome.first_error;
        }
    }
    let elapsed = started.elapsed();
    if round_trips.is_empty() {
        return Ok(());
    }
    round_trips.sort_unstable();
    let pct = |p: f64| {
        let i = ((round_trips.len() as f64 * p).ceil() as usize).clamp(1, round_trips.len()) - 1;
        round_trips[i].as_secs_f64() * 1e6
    };
    println!(
        "{} actions `{}` by {workers} sequential sender(s) over {} connection(s) in {:.2} s: {:.0} events/s; \
         round trip p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        round_trips.len(),
        opts.action,
        sockets.len(),
        elapsed.as_secs_f64(),
        round_trips.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    if errors > 0 {
        println!(
            "{errors} action(s) answered with an error, the first: {}",
            first_error.unwrap_or_default()
        );
    }
    Ok(())
}

struct Outcome {
    round_trips: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

/// Send `count` actions one at a time, each after the previous reply, on `share`'s
/// connections in turn.
async fn send_actions(opts: &Options, share: &mut [Socket], count: usize) -> Result<Outcome, Failure> {
    let mut outcome = Outcome {
        round_trips: Vec::with_capacity(count),
        errors: 0,
        first_error: None,
    };
    if share.is_empty() {
        return Ok(outcome);
    }
    for r in 1..=count as u64 {
        let socket = &mut share[(r as usize - 1) % share.len()];
        let mut frame = serde_json::json!({ "a": opts.action, "r": r });
        if let Some(data) = &opts.data {
            frame["d"] = data.clone();
        }
        let start = Instant::now();
        socket.send(Message::text(frame.to_string())).await?;
        let reply = read_reply(socket, r).await?;
        outcome.round_trips.push(start.elapsed());
        if let Some(e) = reply.get("e").and_then(|e| e.as_str()) {
            outcome.errors += 1;
            outcome.first_error.get_or_insert_with(|| e.to_string());
        }
    }
    Ok(outcome)
}

/// Read frames until the one that answers ref `r` (pushes are skipped).
async fn read_reply(socket: &mut Socket, r: u64) -> Result<serde_json::Value, Failure> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: serde_json::Value = serde_json::from_str(&text)?;
                if frame.get("r").and_then(|v| v.as_u64()) == Some(r) {
                    return Ok(frame);
                }
            }
            Some(Ok(Message::Close(close))) => {
                return Err(format!("the server closed the connection: {close:?}").into());
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.into()),
            None => return Err("the server closed the connection".into()),
        }
    }
}

async fn heartbeat(socket: &mut Socket) -> Result<(), Failure> {
    socket.send(Message::text(r#"{"h":1}"#)).await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.as_str() == r#"{"h":1}"# => return Ok(()),
            Some(Ok(Message::Close(close))) => {
                return Err(format!("the server closed the connection: {close:?}").into());
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.into()),
            None => return Err("the server closed the connection".into()),
        }
    }
}

/// Open one connection as the browser client does: GET the page for the group cookie, then
/// upgrade on the page's URL with `Cookie` and `Origin`, and read the first frame. Returns the
/// socket and the first frame's size.
async fn connect(opts: &Options) -> Result<(Socket, usize), Failure> {
    let cookie = group_cookie(opts).await?;
    let tcp = TcpStream::connect(opts.addr).await.map_err(|e| hint(opts, e))?;
    tcp.set_nodelay(true)?;
    let mut request = format!("ws://{}{}", opts.authority, opts.target).into_client_request()?;
    let headers = request.headers_mut();
    headers.insert("origin", HeaderValue::from_str(&format!("http://{}", opts.authority))?);
    headers.insert("cookie", HeaderValue::from_str(&cookie)?);
    // Small buffers: the generator holds thousands of sockets.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut socket, _) = client_async_with_config(request, tcp, Some(config)).await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return Ok((socket, text.len())),
            Some(Ok(Message::Close(close))) => {
                return Err(format!("the server closed the connection at once: {close:?}").into());
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.into()),
            None => return Err("the server closed the connection at once".into()),
        }
    }
}

/// GET the page and return the `lvt_group=…` pair of its `Set-Cookie`.
async fn group_cookie(opts: &Options) -> Result<String, Failure> {
    let mut tcp = TcpStream::connect(opts.addr).await.map_err(|e| hint(opts, e))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/html\r\nConnection: close\r\n\r\n",
        opts.target, opts.authority
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut reader = BufReader::new(tcp);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(format!("GET {} answered `{}`", opts.target, line.trim_end()).into());
    }
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 || line == "\r\n" {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("set-cookie")
            && let Some(pair) = value.trim().split(';').next()
            && pair.starts_with("lvt_group=")
        {
            return Ok(pair.to_string());
        }
    }
    Err(format!("GET {} set no lvt_group cookie", opts.target).into())
}

/// A connect error, with what usually causes it under load.
fn hint(opts: &Options, err: std::io::Error) -> Failure {
    format!(
        "cannot connect to {}: {err} (is the server running, and is its `ulimit -n` above {}?)",
        opts.addr,
        opts.conns + 64
    )
    .into()
}

/// `VmRSS` of process `pid`, in KiB.
fn rss_kib(pid: u32) -> Result<u64, Failure> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status").into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn parse(args: &[&str]) -> Result<Options, String> {
        parse_args(args.iter().map(|a| a.to_string())).await
    }

    #[tokio::test]
    async fn only_loopback_hosts_are_targeted() {
        for url in [
            "http://10.1.2.3:8080/counter",
            "http://8.8.8.8/",
            "http://[2001:db8::1]:80/",
        ] {
            let err = parse(&["--url", url]).await.unwrap_err();
            assert!(err.contains("only targets loopback"), "{url}: {err}");
        }
        for url in [
            "http://127.0.0.1:8080/counter",
            "http://127.0.0.2:9/x?y=1",
            "http://[::1]:8080/",
        ] {
            assert!(parse(&["--url", url]).await.is_ok(), "{url}");
        }
        assert!(parse(&["--url", "https://127.0.0.1/"]).await.is_err(), "http only");
    }

    #[tokio::test]
    async fn the_url_gives_host_and_target() {
        let o = parse(&[
            "--url",
            "http://127.0.0.1:8080/table?page=2",
            "--conns",
            "3",
            "--concurrency",
            "9",
        ])
        .await
        .unwrap();
        assert_eq!(
            (o.authority.as_str(), o.target.as_str()),
            ("127.0.0.1:8080", "/table?page=2")
        );
        assert_eq!(o.addr, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(o.concurrency, 3, "no more senders than connections");
        let o = parse(&["--url", "http://127.0.0.1:8080", "--data", r#"{"id":"5"}"#])
            .await
            .unwrap();
        assert_eq!(o.target, "/");
        assert_eq!(o.data, Some(serde_json::json!({"id": "5"})));
        assert!(parse(&["--url", "http://127.0.0.1/", "--data", "[1]"]).await.is_err());
    }
}
