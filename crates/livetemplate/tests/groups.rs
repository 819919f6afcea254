//! Session groups are issued by the server only: over real HTTP on 127.0.0.1, a cookie the
//! server did not sign (or signed with a retired key) gets a new group, the valid cookie among
//! several is kept, previous keys read and are re-signed, the generated key survives a restart
//! on a real sled store, and groups from before signed cookies are adopted once.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use livetemplate::prelude::*;
use livetemplate::store::{MemoryStore, PersistStore};
use livetemplate::testing::TestPage;
use livetemplate::{AppBuilder, GroupId, Server};
use livetemplate_core::group::GroupSigner;

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = "<p>{{ n }}</p><form method=\"POST\"><button name=\"inc\">+1</button></form>",
    ext = "html"
)]
pub struct Counter {
    #[lvt(persist)]
    pub n: i64,
}

pub struct Ctrl;

#[actions]
impl Ctrl {
    async fn inc(&self, s: &mut Counter, _ctx: &mut Context) -> Result<()> {
        s.n += 1;
        Ok(())
    }
}

const KEY_A: &str = "key A: thirty-two bytes or more for tests only";
const KEY_B: &str = "key B: thirty-two bytes or more for tests only";
const NO_KEYS: &[&str] = &[];

fn counter(builder: AppBuilder) -> App {
    builder.page("/c", Ctrl, Counter::default()).build().unwrap()
}

async fn start(app: App) -> Server {
    Server::bind("127.0.0.1:0", app).await.unwrap()
}

/// A response: status, head and body as text.
#[derive(Debug)]
struct Resp {
    status: u16,
    head: String,
    body: String,
}

impl Resp {
    /// The value of the `lvt_group` cookie the response sets, if any.
    fn new_group_cookie(&self) -> Option<String> {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.trim().split(';').next()?.strip_prefix("lvt_group="))
            .map(str::to_string)
            .next()
    }

    /// The counter the page shows.
    fn count(&self) -> i64 {
        let at = self.body.find("<p>").expect("the counter") + 3;
        let end = at + self.body[at..].find("</p>").unwrap();
        self.body[at..end].parse().unwrap()
    }
}

/// One HTTP/1.1 request over a fresh connection (`Host` and `Connection: close` added).
async fn http(addr: SocketAddr, head: String, body: &'static str) -> Resp {
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n");
        if !body.is_empty() {
            req.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nOrigin: http://{addr}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(body);
        stream.write_all(req.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        Resp {
            status,
            head: head.to_string(),
            body: body.to_string(),
        }
    })
    .await
    .unwrap()
}

/// GET /c with these `Cookie` header values (one header each).
async fn get(addr: SocketAddr, cookies: &[&str]) -> Resp {
    let mut head = "GET /c HTTP/1.1".to_string();
    for c in cookies {
        head.push_str(&format!("\r\nCookie: {c}"));
    }
    let resp = http(addr, head, "").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp
}

/// POST the `inc` button with this group cookie; 303 expected.
async fn inc(addr: SocketAddr, cookie: &str) {
    let resp = http(addr, format!("POST /c HTTP/1.1\r\nCookie: lvt_group={cookie}"), "inc=").await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    assert_eq!(resp.new_group_cookie(), None);
}

/// A new group with the counter at `n`: its cookie value.
async fn group_at(addr: SocketAddr, n: i64) -> String {
    let cookie = get(addr, &[]).await.new_group_cookie().expect("a new group");
    for _ in 0..n {
        inc(addr, &cookie).await;
    }
    assert_eq!(get(addr, &[&format!("lvt_group={cookie}")]).await.count(), n);
    cookie
}

#[tokio::test]
async fn a_group_id_the_server_did_not_sign_gets_a_new_group() {
    let server = start(counter(App::builder().secret_key(KEY_A))).await;
    let addr = server.local_addr();
    let mine = group_at(addr, 2).await;
    let (id, signature) = mine.split_once('.').unwrap();

    // Well-formed ids the server never issued, bare or with a signature of another id.
    let forged_bare = GroupId::random();
    let forged_signed = format!("{}.{signature}", forged_bare.as_str());
    // The real id with a signature the server did not make (the id alone is not enough).
    let wrong_signature = format!("{id}.{}", "A".repeat(signature.len()));
    // An id signed with a key this server does not hold.
    let other_key = GroupSigner::new(KEY_B, NO_KEYS).unwrap();
    let foreign = other_key.sign(&GroupId::parse(id).unwrap()).as_str().to_string();
    for forged in [forged_bare.as_str(), &forged_signed, &wrong_signature, &foreign, id] {
        let resp = get(addr, &[&format!("lvt_group={forged}")]).await;
        let issued = resp
            .new_group_cookie()
            .unwrap_or_else(|| panic!("{forged} was accepted"));
        assert_eq!(resp.count(), 0, "{forged} reached a group with data");
        assert_ne!(issued.split('.').next(), Some(forged.split('.').next().unwrap()));
        // The new cookie is the server's: it works, and it is not the victim's group.
        let again = get(addr, &[&format!("lvt_group={issued}")]).await;
        assert_eq!(again.new_group_cookie(), None);
        assert_eq!(again.count(), 0);
    }
    // The same holds for a POST: the forged cookie's group is not the one changed.
    let resp = http(
        addr,
        format!("POST /c HTTP/1.1\r\nCookie: lvt_group={wrong_signature}"),
        "inc=",
    )
    .await;
    assert_eq!(resp.status, 303);
    assert!(resp.new_group_cookie().is_some());
    assert_eq!(get(addr, &[&format!("lvt_group={mine}")]).await.count(), 2);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_valid_cookie_among_several_is_kept() {
    let server = start(counter(App::builder().secret_key(KEY_A))).await;
    let addr = server.local_addr();
    let mine = group_at(addr, 3).await;
    let forged = GroupId::random();
    let cases = [
        vec![format!("lvt_group=bad; lvt_group={mine}")],
        vec![format!("a=1; lvt_group={}; b=2; lvt_group={mine}", forged.as_str())],
        vec![format!("lvt_group={mine}; lvt_group=bad")],
        // Two Cookie headers.
        vec!["theme=dark; lvt_group=bad".to_string(), format!("lvt_group={mine}")],
    ];
    for cookies in cases {
        let refs: Vec<&str> = cookies.iter().map(String::as_str).collect();
        let resp = get(addr, &refs).await;
        assert_eq!(resp.new_group_cookie(), None, "{cookies:?}");
        assert_eq!(resp.count(), 3, "{cookies:?}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn previous_keys_read_and_are_re_signed_and_retired_keys_do_not() {
    let store: Arc<dyn PersistStore> = Arc::new(MemoryStore::new());
    let old = start(counter(App::builder().shared_store(store.clone()).secret_key(KEY_A))).await;
    let signed_a = group_at(old.local_addr(), 4).await;
    old.shutdown().await.unwrap();

    // Rotation: B signs, A still reads.
    let rotated = counter(
        App::builder()
            .shared_store(store.clone())
            .secret_key(KEY_B)
            .previous_secret_keys([KEY_A]),
    );
    let server = start(rotated).await;
    let addr = server.local_addr();
    let resp = get(addr, &[&format!("lvt_group={signed_a}")]).await;
    assert_eq!(resp.count(), 4, "a cookie signed with the previous key still reads");
    let signed_b = resp.new_group_cookie().expect("re-signed with the current key");
    assert_ne!(signed_b, signed_a);
    assert_eq!(signed_b.split('.').next(), signed_a.split('.').next(), "same group");
    let resp = get(addr, &[&format!("lvt_group={signed_b}")]).await;
    assert_eq!(resp.new_group_cookie(), None);
    assert_eq!(resp.count(), 4);
    server.shutdown().await.unwrap();

    // A retired: its cookies get a new group; B's still read.
    let server = start(counter(App::builder().shared_store(store.clone()).secret_key(KEY_B))).await;
    let addr = server.local_addr();
    let resp = get(addr, &[&format!("lvt_group={signed_a}")]).await;
    assert!(resp.new_group_cookie().is_some());
    assert_eq!(resp.count(), 0);
    assert_eq!(get(addr, &[&format!("lvt_group={signed_b}")]).await.count(), 4);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn keys_from_the_builder_are_checked() {
    let err = App::builder().secret_key("too short").build().unwrap_err();
    assert!(err.is_config(), "{err}");
    assert!(err.to_string().contains("at least 32"), "{err}");
    let err = App::builder()
        .secret_key(KEY_A)
        .previous_secret_keys(["short"])
        .build()
        .unwrap_err();
    assert!(err.is_config(), "{err}");
}

/// A fresh directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lvt-groups-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn the_generated_key_survives_a_restart_on_sled() {
    let dir = TempDir::new("restart");
    let open = || livetemplate::store::SledStore::open(&dir.0).unwrap();
    let server = start(counter(App::builder().store(open()))).await;
    let cookie = group_at(server.local_addr(), 5).await;
    server.shutdown().await.unwrap();

    // A new process on the same data: the key came from the store, the cookie still works.
    let server = start(counter(App::builder().store(open()))).await;
    let resp = get(server.local_addr(), &[&format!("lvt_group={cookie}")]).await;
    assert_eq!(
        resp.new_group_cookie(),
        None,
        "the cookie from before the restart is valid"
    );
    assert_eq!(resp.count(), 5, "and reaches its persisted data");
    server.shutdown().await.unwrap();

    // The key is random per store, not a constant: another store refuses the cookie.
    if std::env::var_os(livetemplate_core::group::SECRET_KEY_ENV).is_none() {
        let other = TempDir::new("other");
        let store = livetemplate::store::SledStore::open(&other.0).unwrap();
        let server = start(counter(App::builder().store(store))).await;
        let resp = get(server.local_addr(), &[&format!("lvt_group={cookie}")]).await;
        assert!(resp.new_group_cookie().is_some());
        server.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_key_configured_after_a_generated_one_keeps_the_sessions() {
    if std::env::var_os(livetemplate_core::group::SECRET_KEY_ENV).is_some() {
        return; // the first start must generate its key
    }
    let dir = TempDir::new("configured-later");
    let open = || livetemplate::store::SledStore::open(&dir.0).unwrap();
    let server = start(counter(App::builder().store(open()))).await;
    let cookie = group_at(server.local_addr(), 3).await;
    server.shutdown().await.unwrap();

    // The operator follows the log's advice and sets a key: the generated one still reads.
    let server = start(counter(App::builder().store(open()).secret_key(KEY_A))).await;
    let addr = server.local_addr();
    let resp = get(addr, &[&format!("lvt_group={cookie}")]).await;
    assert_eq!(resp.count(), 3, "the session and its data are kept");
    let signed = resp.new_group_cookie().expect("re-signed with the configured key");
    assert_eq!(signed.split('.').next(), cookie.split('.').next(), "same group");
    let again = get(addr, &[&format!("lvt_group={signed}")]).await;
    assert_eq!(again.new_group_cookie(), None);
    assert_eq!(again.count(), 3);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn groups_from_before_signed_cookies_are_re_signed_once() {
    let store: Arc<dyn PersistStore> = Arc::new(MemoryStore::new());
    let app = Arc::new(counter(App::builder().shared_store(store.clone()).secret_key(KEY_A)));
    // A group of the old kind (43 characters, no signature) with data, and one without.
    let legacy = GroupId::parse("b2xkLXN0eWxlLWdyb3VwLWlkLW9mLTMyLWJ5dGVzISE").unwrap();
    let empty = GroupId::parse("ZW1wdHktb2xkLXN0eWxlLWdyb3VwLWlkLTMyYnl0ZXM").unwrap();
    let mut page = TestPage::connect(app.clone(), "/c", legacy.clone()).await.unwrap();
    page.act("inc", serde_json::Value::Null).await;
    drop(page);

    let server = Server::start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(), app).unwrap();
    let addr = server.local_addr();
    let resp = get(addr, &[&format!("lvt_group={}", legacy.as_str())]).await;
    assert_eq!(resp.count(), 1, "the old group is kept");
    let signed = resp.new_group_cookie().expect("re-issued with a signature");
    assert_eq!(signed.split('.').next(), Some(legacy.as_str()));
    assert_eq!(get(addr, &[&format!("lvt_group={signed}")]).await.count(), 1);
    // Only once: the bare id again (a copy, or one planted in another browser) is refused.
    let resp = get(addr, &[&format!("lvt_group={}", legacy.as_str())]).await;
    assert_eq!(resp.count(), 0);
    assert!(resp.new_group_cookie().is_some());
    // An old id without data is not taken either.
    let resp = get(addr, &[&format!("lvt_group={}", empty.as_str())]).await;
    assert_ne!(resp.new_group_cookie().unwrap().split('.').next(), Some(empty.as_str()));
    server.shutdown().await.unwrap();

    // With the switch off, none is taken.
    let other = GroupId::parse("YW5vdGhlci1vbGQtZ3JvdXAtaWQtd2l0aC1kYXRhISE").unwrap();
    let app = Arc::new(counter(
        App::builder()
            .shared_store(store.clone())
            .secret_key(KEY_A)
            .config(|c| c.adopt_unsigned_groups = false),
    ));
    let mut page = TestPage::connect(app.clone(), "/c", other.clone()).await.unwrap();
    page.act("inc", serde_json::Value::Null).await;
    drop(page);
    let server = Server::start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(), app).unwrap();
    let resp = get(server.local_addr(), &[&format!("lvt_group={}", other.as_str())]).await;
    assert_eq!(resp.count(), 0);
    server.shutdown().await.unwrap();
}

/// `LVT_SECRET_KEY` is read by `App::build`; a test cannot set the variable in its own process
/// (other tests run beside it), so each case runs this file's `env_child` in a child process.
#[test]
fn keys_from_the_environment_are_used_and_checked() {
    let cases = [
        ("short", "too-short-key"),
        ("rotation", &*format!("{KEY_B}, {KEY_A}")),
        ("empty", "  "),
        ("empty_entry", &*format!("{KEY_B},,{KEY_A}")),
        ("builder_wins", "too-short-but-ignored"),
    ];
    for (case, value) in cases {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "env_child", "--ignored", "--test-threads=1"])
            .env("LVT_SECRET_KEY", value)
            .env("LVT_TEST_ENV_CASE", case)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{case}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("1 passed"), "{case}: the child ran nothing: {text}");
    }
}

#[tokio::test]
#[ignore = "run by keys_from_the_environment_are_used_and_checked with LVT_SECRET_KEY set"]
async fn env_child() {
    let Ok(case) = std::env::var("LVT_TEST_ENV_CASE") else {
        return; // run directly (--include-ignored): nothing to check
    };
    let g = GroupId::random();
    let old = GroupSigner::new(KEY_A, NO_KEYS).unwrap();
    let current = GroupSigner::new(KEY_B, NO_KEYS).unwrap();
    match case.as_str() {
        "short" => {
            let err = App::builder().build().unwrap_err();
            assert!(err.is_config(), "{err}");
            let text = err.to_string();
            assert!(
                text.contains("LVT_SECRET_KEY") && text.contains("at least 32"),
                "{text}"
            );
        }
        "rotation" => {
            let app = App::builder().build().unwrap();
            let signer = app.group_signer().await.unwrap();
            assert_eq!(signer.sign(&g), current.sign(&g), "the first key signs");
            let read = signer.verify(old.sign(&g).as_str());
            assert_eq!(read, livetemplate_core::group::CookieGroup::PreviousKey(g));
        }
        "empty" => {
            // Counts as unset: the key is generated (and kept in the store).
            let app = App::builder().build().unwrap();
            let signer = app.group_signer().await.unwrap();
            assert_ne!(signer.sign(&g), current.sign(&g));
        }
        "empty_entry" => assert!(App::builder().build().unwrap_err().is_config()),
        "builder_wins" => {
            let app = App::builder().secret_key(KEY_B).build().unwrap();
            assert_eq!(app.group_signer().await.unwrap().sign(&g), current.sign(&g));
        }
        other => panic!("unknown case {other}"),
    }
}
