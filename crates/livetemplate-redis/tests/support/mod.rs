//! A real `redis-server` for the tests: the one `scripts/test` started (`LVT_TEST_REDIS_URL`),
//! or one of their own on a free loopback port in a temporary directory.
//!
//! Under `scripts/test` (`LVT_TEST_REQUIRE_REDIS=1`) a test that finds no Redis fails; run by
//! hand without `redis-server` installed it prints why and skips.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` process of this test; killed (by its PID) on drop.
pub(crate) struct RedisServer {
    pub(crate) port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// Settings beyond the defaults (`--requirepass`, persistence).
    extra: Vec<String>,
}

impl RedisServer {
    /// A new server on a free port, or `None` (with the reason printed) when the binary is
    /// missing and the run does not require Redis.
    pub(crate) fn start() -> Option<RedisServer> {
        Self::start_with(&[])
    }

    /// A server that keeps every acknowledged write across [`restart`](Self::restart), even
    /// after SIGKILL (`appendonly yes`, `appendfsync always`), as a production Redis would.
    pub(crate) fn start_durable() -> Option<RedisServer> {
        Self::start_with(&["--appendonly", "yes", "--appendfsync", "always"])
    }

    /// A new server with `extra` settings (e.g. `["--requirepass", "secret"]`), which come
    /// after the test defaults and so override them.
    pub(crate) fn start_with(extra: &[&str]) -> Option<RedisServer> {
        if Command::new("redis-server").arg("--version").output().is_err() {
            if std::env::var_os("LVT_TEST_REQUIRE_REDIS").is_some() {
                panic!("redis-server is not installed, and this run requires Redis (LVT_TEST_REQUIRE_REDIS)");
            }
            eprintln!("skipped: redis-server is not installed (apt-get install redis-server)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("lvt-redis-test-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer {
            port,
            dir,
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        server.run();
        Some(server)
    }

    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(&self.extra)
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let end = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < end, "redis-server did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kill the server (SIGKILL by PID) and wait for it.
    pub(crate) fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start it again on the same port.
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.run();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The URL of a Redis to share (the script's, else a server of this test kept in `keep`),
/// or `None` to skip.
pub(crate) fn shared_url(keep: &mut Option<RedisServer>) -> Option<String> {
    if let Ok(url) = std::env::var("LVT_TEST_REDIS_URL")
        && !url.is_empty()
    {
        return Some(url);
    }
    *keep = RedisServer::start();
    keep.as_ref().map(RedisServer::url)
}

/// A key prefix no other test shares.
pub(crate) fn prefix(name: &str) -> String {
    let n: u64 = rand_u64();
    format!("lvt-test:{name}:{n:x}:")
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}
