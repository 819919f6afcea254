//! The public API of `livetemplate` changes only on purpose: the items rustdoc lists for the
//! crate (`all.html` of `cargo doc`) must equal `tests/public-api.txt`.
//!
//! After a deliberate change, regenerate the list with
//! `LVT_BLESS=1 cargo test -p livetemplate --test public_api` and review the diff.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Items of the crate as rustdoc lists them in `all.html`, one path a line, sorted.
fn documented_items(target: &Path) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = Command::new(cargo)
        .args(["doc", "--no-deps", "--offline", "-q", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTDOCFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo doc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(target.join("doc/livetemplate/all.html")).unwrap();
    let mut items: Vec<String> = html
        .split("<li><a href=\"")
        .skip(1)
        .filter_map(|rest| {
            let (href, rest) = rest.split_once("\">")?;
            if href.starts_with('#') {
                return None; // a section heading
            }
            let (name, _) = rest.split_once("</a>")?;
            // `struct.App.html` → `struct App`: the kind is part of the API.
            let kind = href.rsplit('/').next()?.split('.').next()?;
            Some(format!("{kind} {name}"))
        })
        .collect();
    items.sort();
    items
}

#[test]
fn the_public_api_is_the_checked_in_list() {
    // A target directory of its own: the one running this test may be locked by cargo.
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("public-api");
    let items = documented_items(&target);
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/public-api.txt");
    let text = items.join("\n") + "\n";
    if std::env::var_os("LVT_BLESS").is_some() {
        std::fs::write(&list, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&list).unwrap_or_default();
    assert_eq!(
        text,
        expected,
        "the public API of livetemplate changed; if on purpose, regenerate {} with LVT_BLESS=1",
        list.display()
    );
    // Nothing of the engine's insides is documented, whatever the list says.
    for internal in [
        "Tree",
        "Encoder",
        "TreeSink",
        "Node",
        "Page",
        "LiveConnection",
        "ServerFrame",
        "run_connection",
        // What only a transport uses: hidden from the umbrella along with the methods
        // that take or return it.
        "PageRoute",
        "Services",
        "Request",
        "ResolvedGroup",
        "GroupSigner",
        "Asset",
        "Effects",
        "PersistSlot",
        "Push",
    ] {
        assert!(
            !items.iter().any(|i| i.rsplit([' ', ':']).next() == Some(internal)),
            "`{internal}`, an internal of livetemplate_core, is public API of livetemplate"
        );
    }
    let outside = items
        .iter()
        .filter(|i| !i.contains(" prelude::") && !i.contains(" testing::"))
        .count();
    assert!(
        outside <= 40,
        "{outside} public items outside prelude and testing (at most 40)"
    );
}
