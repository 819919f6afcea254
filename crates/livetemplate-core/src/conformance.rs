//! The conformance suite every [`PersistStore`] passes: what the engine relies on a store for.

use crate::group::GroupId;
use crate::store::{Fields, PersistStore};

/// Check that `store` behaves as the engine relies on, panicking (with what went wrong) at the
/// first difference: call it from a test of a new store.
///
/// It checks, on groups of its own (so a store that holds other data passes too): a page
/// never saved loads empty; a save of several fields is read back whole; a later save of some
/// fields keeps the others; pages and groups are apart; any bytes (empty, every byte value,
/// 64 KiB) and the engine's key forms (`field@shape`, `field@quarantine1`, non-ASCII) round
/// trip; the server's own group (`_lvt`) is a group like the others; concurrent saves of
/// different fields of one page both stay; `flush` succeeds. What it cannot see from outside
/// is the store's own promise: `save` returns only once the write is durable.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # mod livetemplate { pub mod store { pub use livetemplate_core::MemoryStore; } pub use livetemplate_core::testing; }
/// use livetemplate::store::MemoryStore;
/// use livetemplate::testing::store_conformance;
/// store_conformance(&MemoryStore::new()).await;
/// # }
/// ```
///
/// # Panics
/// When the store does not conform, or returns an error.
pub async fn store_conformance(store: &dyn PersistStore) {
    let group = GroupId::random();
    let other = GroupId::random();
    let sorted = |mut fields: Fields| {
        fields.sort();
        fields
    };
    let load = |g: &GroupId, page: &'static str| {
        let g = g.clone();
        async move {
            match store.load(&g, page).await {
                Ok(fields) => sorted(fields),
                Err(err) => panic!("load({g:?}, {page}) failed: {err}"),
            }
        }
    };
    let save = |g: &GroupId, page: &'static str, fields: Vec<(&'static str, Vec<u8>)>| {
        let g = g.clone();
        async move {
            if let Err(err) = store.save(&g, page, &fields).await {
                panic!("save({g:?}, {page}) failed: {err}");
            }
        }
    };
    let own = |pairs: &[(&str, &[u8])]| -> Fields {
        let mut v: Fields = pairs.iter().map(|(k, b)| ((*k).to_string(), b.to_vec())).collect();
        v.sort();
        v
    };

    expect(load(&group, "/a").await, own(&[]), "a page never saved must load empty");

    save(&group, "/a", vec![("x", b"1".to_vec()), ("y", Vec::new())]).await;
    expect(
        load(&group, "/a").await,
        own(&[("x", b"1"), ("y", b"")]),
        "every field of one save must be read back (an empty value too)",
    );

    save(&group, "/a", vec![("x", b"2".to_vec())]).await;
    expect(
        load(&group, "/a").await,
        own(&[("x", b"2"), ("y", b"")]),
        "a save must replace the fields it names and keep the others",
    );

    expect(load(&group, "/b").await, own(&[]), "pages of one group must be apart");
    expect(load(&other, "/a").await, own(&[]), "groups must be apart");

    let every_byte: Vec<u8> = (0..=255u8).collect();
    let big = vec![0xa5u8; 64 * 1024];
    save(
        &group,
        "/bytes?q=1",
        vec![
            ("bytes", every_byte.clone()),
            ("big", big.clone()),
            ("bytes@shape", b"{}".to_vec()),
            ("bytes@quarantine1", vec![0xff, 0x00]),
            ("champ_é", b"\xc3".to_vec()),
        ],
    )
    .await;
    expect(
        load(&group, "/bytes?q=1").await,
        own(&[
            ("big", &big),
            ("bytes", &every_byte),
            ("bytes@quarantine1", &[0xff, 0x00]),
            ("bytes@shape", b"{}"),
            ("champ_é", b"\xc3"),
        ]),
        "values must round trip byte for byte, and names as given",
    );

    let server = GroupId::server();
    save(
        &server,
        "lvt:conformance",
        vec![("k", group.as_str().as_bytes().to_vec())],
    )
    .await;
    expect(
        load(&server, "lvt:conformance").await,
        own(&[("k", group.as_str().as_bytes())]),
        "the server's own group must be stored like any other",
    );

    let (one, two) = (
        save(&other, "/c", vec![("left", b"l".to_vec())]),
        save(&other, "/c", vec![("right", b"r".to_vec())]),
    );
    tokio::join!(one, two);
    expect(
        load(&other, "/c").await,
        own(&[("left", b"l"), ("right", b"r")]),
        "concurrent saves of different fields of one page must both stay",
    );

    if let Err(err) = store.flush().await {
        panic!("flush failed: {err}");
    }
}

/// Panic with `what` and a short account of how `got` differs from `want` (field by field;
/// long values by length and first differing byte, never printed whole).
fn expect(got: Fields, want: Fields, what: &str) {
    if got == want {
        return;
    }
    let show = |v: &[u8]| {
        if v.is_empty() {
            "an empty value (0 bytes)".to_string()
        } else if v.len() <= 32 {
            format!("{v:?} ({} bytes)", v.len())
        } else {
            format!("{} bytes", v.len())
        }
    };
    let mut lines = Vec::new();
    for (name, value) in &want {
        match got.iter().find(|(n, _)| n == name) {
            None => lines.push(format!("field `{name}` is missing (expected {})", show(value))),
            Some((_, v)) if v != value => {
                let at = v
                    .iter()
                    .zip(value.iter())
                    .position(|(a, b)| a != b)
                    .unwrap_or(v.len().min(value.len()));
                lines.push(format!(
                    "field `{name}`: got {}, expected {} (first difference at byte {at})",
                    show(v),
                    show(value)
                ));
            }
            Some(_) => {}
        }
    }
    for (name, value) in &got {
        if !want.iter().any(|(n, _)| n == name) {
            lines.push(format!("field `{name}` should not be there (holds {})", show(value)));
        }
    }
    panic!("{what}:\n  {}", lines.join("\n  "));
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::fmt;
    use std::sync::Mutex;

    use super::*;
    use crate::BoxFuture;
    use crate::error::Result;
    use crate::store::MemoryStore;

    /// A store whose save replaces the page's fields instead of updating them.
    #[derive(Default)]
    struct Forgetful(Mutex<HashMap<(GroupId, String), Fields>>);

    impl fmt::Debug for Forgetful {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Forgetful")
        }
    }

    impl PersistStore for Forgetful {
        fn load<'a>(&'a self, group: &'a GroupId, page: &'a str) -> BoxFuture<'a, Result<Fields>> {
            let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            let fields = map.get(&(group.clone(), page.to_string())).cloned().unwrap_or_default();
            Box::pin(async move { Ok(fields) })
        }

        fn save<'a>(
            &'a self,
            group: &'a GroupId,
            page: &'a str,
            fields: &'a [(&'a str, Vec<u8>)],
        ) -> BoxFuture<'a, Result<()>> {
            let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            let fields = fields.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect();
            map.insert((group.clone(), page.to_string()), fields);
            Box::pin(async { Ok(()) })
        }
    }

    /// What [`Mangling`] does to the fields of a save.
    type Mangle = for<'f> fn(&[(&'f str, Vec<u8>)]) -> Vec<(&'f str, Vec<u8>)>;

    /// The memory store, with every save's fields first passed through `mangle`.
    #[derive(Debug)]
    struct Mangling {
        inner: MemoryStore,
        mangle: Mangle,
    }

    impl Mangling {
        fn new(mangle: Mangle) -> Self {
            Mangling {
                inner: MemoryStore::new(),
                mangle,
            }
        }
    }

    impl PersistStore for Mangling {
        fn load<'a>(&'a self, group: &'a GroupId, page: &'a str) -> BoxFuture<'a, Result<Fields>> {
            self.inner.load(group, page)
        }

        fn save<'a>(
            &'a self,
            group: &'a GroupId,
            page: &'a str,
            fields: &'a [(&'a str, Vec<u8>)],
        ) -> BoxFuture<'a, Result<()>> {
            let mangled = (self.mangle)(fields);
            Box::pin(async move { self.inner.save(group, page, &mangled).await })
        }
    }

    /// The message `store_conformance` panics with on `store`.
    async fn failure_of(store: Mangling) -> String {
        let panic = tokio::spawn(async move { store_conformance(&store).await })
            .await
            .unwrap_err()
            .into_panic();
        panic.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[tokio::test]
    async fn a_difference_in_a_long_value_is_told_in_one_line() {
        // A store that cuts values at 60,000 bytes.
        let msg = failure_of(Mangling::new(|fields| {
            fields
                .iter()
                .map(|(k, v)| (*k, v[..v.len().min(60_000)].to_vec()))
                .collect()
        }))
        .await;
        assert!(
            msg.contains("field `big`: got 60000 bytes, expected 65536 bytes (first difference at byte 60000)"),
            "{msg}"
        );
        assert!(msg.len() < 400, "{} bytes: {msg}", msg.len());
    }

    #[tokio::test]
    async fn a_missing_empty_value_reads_as_such() {
        // A store that drops empty values on save.
        let msg = failure_of(Mangling::new(|fields| {
            fields.iter().filter(|(_, v)| !v.is_empty()).cloned().collect()
        }))
        .await;
        assert!(msg.contains("is missing (expected an empty value (0 bytes))"), "{msg}");
        assert!(!msg.contains("[]"), "{msg}");
    }

    #[tokio::test]
    async fn the_memory_store_conforms() {
        store_conformance(&MemoryStore::new()).await;
    }

    #[tokio::test]
    #[should_panic(expected = "a save must replace the fields it names and keep the others")]
    async fn a_store_that_forgets_fields_does_not() {
        store_conformance(&Forgetful::default()).await;
    }
}
