//! Flash messages: short texts by kind (`info`, `error`, any other) that an action puts for
//! the page the user sees next (see "Flash messages" in `docs/guide.md`).
//!
//! A live view keeps the group's current flash and sends the whole map in a frame's `flash`
//! key when it changes. Flash that must survive a document load (an action's `redirect`, a
//! no-JS POST's `303`) is stashed in the persist store under the group, at a reserved page key
//! that no page can name ([`STASH`]), so it works with a store shared by many nodes: the GET
//! that follows shows it and marks it shown; the live connection that page opens takes it
//! (its view starts with it) and removes it; a second GET (no JavaScript, a reload) finds it
//! shown and removes it. The store has no expiry, so a stash carries its time and is ignored
//! after [`STASH_TTL`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::group::GroupId;
use crate::store::PersistStore;

/// A group's flash: message by kind.
pub type Flash = BTreeMap<String, String>;

/// The reserved page key and field of a group's stashed flash (not a page path: those start
/// with `/`).
pub const STASH: (&str, &str) = ("lvt:flash", "m");

/// How long a stashed flash waits for the page that shows it.
pub const STASH_TTL: Duration = Duration::from_secs(60);

/// The framework's action that clears one kind (`{"kind": "info"}`), sent by the client when
/// the user dismisses a flash.
pub const CLEAR_ACTION: &str = "lvt:clear_flash";

/// Apply an action's flash changes (`Some`: put, `None`: clear) to `flash`; returns whether
/// it changed.
pub(crate) fn apply(flash: &mut Flash, ops: &[(String, Option<String>)]) -> bool {
    let before = flash.clone();
    for (kind, msg) in ops {
        match msg {
            Some(msg) => flash.insert(kind.clone(), msg.clone()),
            None => flash.remove(kind),
        };
    }
    *flash != before
}

/// The kinds an action put (its last message of each), for the page it sends the user to.
pub(crate) fn put(ops: &[(String, Option<String>)]) -> Flash {
    let mut out = Flash::new();
    apply(&mut out, ops);
    out
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn write(store: &dyn PersistStore, group: &GroupId, bytes: Vec<u8>) {
    if let Err(err) = store.save(group, STASH.0, &[(STASH.1, bytes)]).await {
        tracing::warn!(error = %err, "flash could not be kept for the next page");
    }
}

async fn read(store: &dyn PersistStore, group: &GroupId) -> Option<(Flash, bool)> {
    let fields = match store.load(group, STASH.0).await {
        Ok(fields) => fields,
        Err(err) => {
            tracing::warn!(error = %err, "stashed flash could not be read");
            return None;
        }
    };
    let bytes = fields.into_iter().find(|(n, _)| n == STASH.1)?.1;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let at = v.get("at")?.as_u64()?;
    let fresh = now_secs().saturating_sub(at) <= STASH_TTL.as_secs();
    let flash: Flash = serde_json::from_value(v.get("f")?.clone()).ok()?;
    let shown = v.get("shown").and_then(Value::as_bool).unwrap_or(false);
    (fresh && !flash.is_empty()).then_some((flash, shown))
}

fn record(flash: &Flash, shown: bool) -> Vec<u8> {
    serde_json::json!({"at": now_secs(), "f": flash, "shown": shown})
        .to_string()
        .into_bytes()
}

/// Keep `flash` for the next document load of `group` (nothing when it is empty).
pub async fn stash(store: &dyn PersistStore, group: &GroupId, flash: &Flash) {
    if !flash.is_empty() {
        write(store, group, record(flash, false)).await;
    }
}

/// For a GET: the stashed flash to show, marked shown; a stash already shown is removed and
/// nothing is shown.
pub async fn take_for_get(store: &dyn PersistStore, group: &GroupId) -> Flash {
    match read(store, group).await {
        Some((flash, false)) => {
            write(store, group, record(&flash, true)).await;
            flash
        }
        Some((_, true)) => {
            write(store, group, Vec::new()).await;
            Flash::new()
        }
        None => Flash::new(),
    }
}

/// For a live connection opened by a page: the flash its GET showed (removed from the store),
/// so the view starts with what the user sees.
pub(crate) async fn take_shown(store: &dyn PersistStore, group: &GroupId) -> Flash {
    match read(store, group).await {
        Some((flash, true)) => {
            write(store, group, Vec::new()).await;
            flash
        }
        _ => Flash::new(),
    }
}

/// `html` with each element carrying `lvt-flash="KIND"` filled: its text becomes the
/// message of that kind (escaped), or, with none, the element gets `hidden`. Such elements
/// hold only their text (the message); anything between their start tag and the next `<` is
/// replaced.
///
/// ```
/// use livetemplate_core::flash::{Flash, fill};
/// let mut flash = Flash::new();
/// flash.insert("info".into(), "Saved <3".into());
/// let html = r#"<p lvt-flash="info"></p><p lvt-flash="error"></p>"#;
/// assert_eq!(fill(html, &flash), r#"<p lvt-flash="info">Saved &lt;3</p><p lvt-flash="error" hidden></p>"#);
/// ```
pub fn fill(html: &str, flash: &Flash) -> String {
    const ATTR: &str = "lvt-flash=\"";
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(i) = rest.find(ATTR) {
        let after = &rest[i + ATTR.len()..];
        let (Some(q), Some(gt)) = (after.find('"'), after.find('>')) else {
            break;
        };
        let before = &rest[..i];
        let in_tag = before.rfind('<') > before.rfind('>') && before.ends_with(|c: char| c.is_ascii_whitespace());
        if gt < q || !in_tag {
            // Not an attribute of a start tag: leave it.
            out.push_str(&rest[..i + ATTR.len()]);
            rest = after;
            continue;
        }
        let kind = &after[..q];
        let tag_end = i + ATTR.len() + gt;
        let self_closed = rest[..tag_end].ends_with('/');
        match flash.get(kind).filter(|m| !m.is_empty()) {
            Some(msg) if !self_closed => {
                let start = rest[..tag_end].rfind('<').unwrap_or(0);
                out.push_str(&rest[..start]);
                out.push_str(&without_hidden(&rest[start..=tag_end]));
                out.push_str(&escape(msg));
                let content = &rest[tag_end + 1..];
                rest = &content[content.find('<').unwrap_or(content.len())..];
            }
            _ => {
                let head = &rest[..tag_end];
                let start = head.rfind('<').unwrap_or(0);
                let hidden = hidden_at(&head[start..]).is_some();
                out.push_str(head.strip_suffix('/').unwrap_or(head));
                if !hidden {
                    out.push_str(" hidden");
                }
                if self_closed {
                    out.push('/');
                }
                out.push('>');
                let content = &rest[tag_end + 1..];
                rest = &content[content.find('<').unwrap_or(content.len())..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where a start tag's `hidden` attribute begins (its leading space), outside quoted values.
fn hidden_at(tag: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in tag.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c.is_ascii_whitespace() => {
                let rest = &tag[i + 1..];
                if rest.len() >= 6
                    && rest[..6].eq_ignore_ascii_case("hidden")
                    && (rest.len() == 6
                        || rest[6..].starts_with(|c: char| c.is_ascii_whitespace() || matches!(c, '>' | '/' | '=')))
                {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// A start tag without its `hidden` attribute (a bare one).
fn without_hidden(tag: &str) -> String {
    match hidden_at(tag) {
        Some(i) => {
            let mut after = &tag[i + 1 + 6..];
            // `hidden="hidden"` or `hidden=''`: the value goes too.
            if let Some(v) = after.strip_prefix('=') {
                let end = match v.chars().next() {
                    Some(q @ ('"' | '\'')) => v[1..].find(q).map_or(v.len(), |e| e + 2),
                    _ => v.find(|c: char| c.is_ascii_whitespace() || c == '>').unwrap_or(v.len()),
                };
                after = &v[end..];
            }
            format!("{}{}", &tag[..i], after)
        }
        None => tag.to_string(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[test]
    fn fill_sets_text_and_hides_the_rest() {
        let mut flash = Flash::new();
        flash.insert("error".into(), "No & no".into());
        let html = "<div lvt-flash=\"info\" hidden>old</div><p class=\"x\" lvt-flash=\"error\" hidden>old text</p>";
        assert_eq!(
            fill(html, &flash),
            "<div lvt-flash=\"info\" hidden></div><p class=\"x\" lvt-flash=\"error\">No &amp; no</p>"
        );
        assert_eq!(
            fill("<p>lvt-flash=\"a\" text</p>", &flash),
            "<p>lvt-flash=\"a\" text</p>"
        );
    }

    #[tokio::test]
    async fn a_stash_is_shown_once_then_taken_by_the_connection() {
        let store = MemoryStore::new();
        let group = GroupId::random();
        let mut flash = Flash::new();
        flash.insert("info".into(), "Saved".into());
        stash(&store, &group, &flash).await;
        assert!(take_shown(&store, &group).await.is_empty(), "not shown yet");
        assert_eq!(take_for_get(&store, &group).await, flash);
        assert_eq!(take_shown(&store, &group).await, flash);
        assert!(take_for_get(&store, &group).await.is_empty());
        // Without a connection, the next GET removes it.
        stash(&store, &group, &flash).await;
        assert_eq!(take_for_get(&store, &group).await, flash);
        assert!(take_for_get(&store, &group).await.is_empty());
        assert!(take_for_get(&store, &group).await.is_empty());
    }
}
