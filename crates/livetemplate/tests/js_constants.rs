//! The JS client's `js/src/constants.ts` against the Rust side: its close codes equal core's
//! constants and the table of docs/protocol.md; its frame keys are exactly the keys the server
//! writes and reads, and its protocol version the one the server states (found by running a
//! page, not by reading Rust source).

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use std::collections::{BTreeMap, BTreeSet};

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use serde_json::{Value, json};

fn read(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `export const CLOSE_<NAME> = <code>` lines of constants.ts.
fn ts_close_codes(ts: &str) -> BTreeMap<String, u16> {
    ts.lines()
        .filter_map(|l| l.strip_prefix("export const CLOSE_"))
        .map(|l| {
            let (name, code) = l.split_once(" = ").unwrap();
            (name.to_string(), code.trim().parse().unwrap())
        })
        .collect()
}

/// The quoted strings of `export const <name> = [ ... ] as const` in constants.ts.
fn ts_list(ts: &str, name: &str) -> BTreeSet<String> {
    let start = ts
        .find(&format!("export const {name} = ["))
        .unwrap_or_else(|| panic!("{name} missing"));
    let rest = &ts[start..];
    let list = &rest[rest.find('[').unwrap() + 1..rest.find(']').unwrap()];
    list.split(',')
        .map(|k| k.trim().trim_matches('\'').to_string())
        .filter(|k| !k.is_empty())
        .collect()
}

#[test]
fn close_codes_match_core_and_the_protocol_doc() {
    use livetemplate_core::app::{CLOSE_ERROR, CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_BIG};
    let ts = ts_close_codes(&read("js/src/constants.ts"));
    for (name, code) in [
        ("NORMAL", CLOSE_NORMAL),
        ("GOING_AWAY", CLOSE_GOING_AWAY),
        ("POLICY", CLOSE_POLICY),
        ("TOO_BIG", CLOSE_TOO_BIG),
        ("ERROR", CLOSE_ERROR),
    ] {
        assert_eq!(ts.get(name), Some(&code), "CLOSE_{name} in js/src/constants.ts");
    }
    // The transport's own codes (1002, 1003, 1007) are private to livetemplate-hyper: the
    // protocol doc's table is where they are promised, so every code there is in the TS file
    // and every TS code but 1000 (normal, not an error) is in the table.
    let doc = read("docs/protocol.md");
    let section = &doc[doc.find("## Connection-level errors").unwrap()..];
    let table = &section[section.find("| code |").unwrap()..];
    let table = &table[..table.find("\n\n").unwrap()];
    let documented: BTreeSet<u16> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect();
    let in_ts: BTreeSet<u16> = ts.values().copied().filter(|&c| c != CLOSE_NORMAL).collect();
    assert_eq!(
        in_ts, documented,
        "close codes of js/src/constants.ts vs docs/protocol.md"
    );
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ n }}</p>{{ live_component::<KeyPart>(\"k\", ()) }}", ext = "html")]
pub struct Keys {
    pub n: i64,
}

/// A component, so frames carry `"c"`.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<b>{{ n }}</b>", ext = "html")]
pub struct Part {
    pub n: i64,
}

pub struct KeyPart;

#[actions(component)]
impl KeyPart {
    async fn bump(&self, s: &mut Part, _ctx: &mut Context) -> Result<()> {
        s.n += 1;
        Ok(())
    }
}

pub struct KeysCtrl;

#[actions]
impl KeysCtrl {
    async fn add(&self, s: &mut Keys, ctx: &mut Context) -> Result<()> {
        s.n += ctx.get_int("by");
        Ok(())
    }
    async fn fail(&self, _s: &mut Keys, _ctx: &mut Context) -> Result<()> {
        Err(Error::msg("no"))
    }
    async fn go(&self, s: &mut Keys, ctx: &mut Context) -> Result<()> {
        s.n += 1;
        ctx.push_patch("?n=1")?;
        ctx.push_event("went", ())
    }
    async fn leave(&self, _s: &mut Keys, ctx: &mut Context) -> Result<()> {
        ctx.redirect("/elsewhere")
    }
    async fn titled(&self, _s: &mut Keys, ctx: &mut Context) -> Result<()> {
        ctx.set_title("Keys");
        ctx.put_flash("info", "titled");
        Ok(())
    }
}

fn keys(frame: &str) -> BTreeSet<String> {
    match serde_json::from_str::<Value>(frame).unwrap() {
        Value::Object(m) => m.keys().cloned().collect(),
        other => panic!("frame is not an object: {other}"),
    }
}

#[tokio::test]
async fn frame_keys_match_what_the_server_writes_and_reads() {
    let ts = read("js/src/constants.ts");
    let mut page = TestPage::mount(KeysCtrl, Keys::default()).await.unwrap();

    // Client keys: each frame below uses only keys the server reads, and each is understood.
    let mut client = BTreeSet::new();
    let hello = page.last_frame().json();
    let version = ts
        .lines()
        .find_map(|l| l.strip_prefix("export const PROTOCOL_VERSION = "))
        .expect("PROTOCOL_VERSION in js/src/constants.ts");
    assert_eq!(
        hello["v"].to_string(),
        version.trim(),
        "PROTOCOL_VERSION of js/src/constants.ts"
    );
    let mut server = keys(page.last_frame().text());
    for (sent, check) in [
        (
            json!({"a": "add", "d": {"by": 5}, "r": 41}),
            json!({"r": 41, "d": {"0": 5}}),
        ),
        (json!({"p": "/test?x=1", "r": 42}), json!({"r": 42})),
        (json!({"h": 1}), json!({"h": 1})),
        (
            json!({"n": "/nowhere", "r": 44}),
            json!({"r": 44, "redirect": "/nowhere"}),
        ),
    ] {
        client.extend(keys(&sent.to_string()));
        let got = page.send_raw(&sent.to_string()).await;
        assert_eq!(got.json(), check, "answer to {sent}");
        server.extend(keys(got.text()));
    }
    // "t": the component instance an action goes to; no instance has this id, which the answer says.
    let sent = json!({"a": "add", "r": 43, "t": "nope"});
    client.extend(keys(&sent.to_string()));
    let got = page.send_raw(&sent.to_string()).await;
    let error = got.json()["e"].as_str().unwrap_or_default().to_string();
    assert!(
        error.contains("no component `nope`"),
        "answer to {sent}: {}",
        got.text()
    );
    assert_eq!(
        client,
        ts_list(&ts, "CLIENT_KEYS"),
        "CLIENT_KEYS of js/src/constants.ts"
    );

    for action in ["fail", "go", "leave", "titled"] {
        server.extend(keys(page.act(action, Value::Null).await.text()));
    }
    // A live navigation (to the page itself): the new page's frame.
    let navigated = page.send_raw(&json!({"n": "/test", "r": 45}).to_string()).await;
    assert_eq!(navigated.json()["navigate"], "/test", "{}", navigated.text());
    server.extend(keys(navigated.text()));
    assert_eq!(
        server,
        ts_list(&ts, "SERVER_KEYS"),
        "SERVER_KEYS of js/src/constants.ts"
    );
}

#[test]
fn the_unused_prefix_is_the_servers() {
    let ts = read("js/src/constants.ts");
    let line = format!("export const UNUSED = '{}'", livetemplate_core::context::UNUSED_PREFIX);
    assert!(ts.contains(&line), "constants.ts lacks `{line}`");
}
