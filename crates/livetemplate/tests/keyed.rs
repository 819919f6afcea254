//! Keyed loop diffs: each edit of a keyed list is sent as the matching list operation, and
//! the rebuilt HTML always equals askama's render.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub id: String,
    pub label: String,
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<table><tbody>{% for r in rows %}<tr data-key="{{ r.id }}"><td>{{ r.label }}</td></tr>{% endfor %}</tbody></table>"#,
    ext = "html"
)]
pub struct Table {
    pub rows: Vec<Row>,
}

pub struct TableCtrl;

#[actions]
impl TableCtrl {
    async fn set(&self, state: &mut Table, ctx: &mut Context) -> Result<()> {
        state.rows = serde_json::from_value(ctx.data()["rows"].clone()).map_err(|e| Error::msg(e.to_string()))?;
        Ok(())
    }
}

fn rows(ids: &[&str]) -> Vec<Row> {
    ids.iter()
        .map(|id| Row {
            id: id.to_string(),
            label: format!("row {id}"),
        })
        .collect()
}

/// Mount with `before`, set `after`; return the list ops sent, checking the HTML.
async fn ops_for(before: &[&str], after: Vec<Row>) -> Vec<Value> {
    let start = Table { rows: rows(before) };
    let mut page = TestPage::mount(TableCtrl, start).await.expect("mount");
    let frame = page.act("set", json!({ "rows": after.clone() })).await;
    assert!(frame.error().is_none(), "{}", frame.text());
    let expected = Table { rows: after }.render_html().expect("render");
    assert_eq!(page.html(), expected, "frame: {}", frame.text());
    let d = &frame.json()["d"];
    d.as_object()
        .and_then(|o| o.values().next())
        .and_then(|v| v.get("o"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn kinds(ops: &[Value]) -> Vec<String> {
    ops.iter().map(|op| op[0].as_str().unwrap_or("?").to_string()).collect()
}

const TEN: [&str; 10] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];

#[tokio::test]
async fn insert_front_middle_end() {
    for (at, idx) in [(0usize, 0u64), (5, 5), (10, 10)] {
        let mut ids: Vec<&str> = TEN.to_vec();
        ids.insert(at, "new");
        let ops = ops_for(&TEN, rows(&ids)).await;
        assert_eq!(kinds(&ops), ["i"], "{ops:?}");
        assert_eq!(ops[0][1], idx);
    }
}

#[tokio::test]
async fn remove_one() {
    let ids: Vec<&str> = TEN.iter().copied().filter(|k| *k != "d").collect();
    let ops = ops_for(&TEN, rows(&ids)).await;
    assert_eq!(kinds(&ops), ["r"]);
    assert_eq!(ops[0][1], 3);
}

#[tokio::test]
async fn move_one() {
    let ids = ["b", "c", "d", "e", "f", "g", "h", "a", "i", "j"];
    let ops = ops_for(&TEN, rows(&ids)).await;
    assert_eq!(kinds(&ops), ["m"], "{ops:?}");
}

#[tokio::test]
async fn swap_two() {
    let ids = ["a", "h", "c", "d", "e", "f", "g", "b", "i", "j"];
    let ops = ops_for(&TEN, rows(&ids)).await;
    assert_eq!(kinds(&ops), ["m", "m"], "{ops:?}");
}

#[tokio::test]
async fn full_reverse_is_one_rebuild() {
    let mut ids = TEN.to_vec();
    ids.reverse();
    let ops = ops_for(&TEN, rows(&ids)).await;
    assert_eq!(kinds(&ops), ["o"], "{ops:?}");
    // Every entry reuses an existing row: no row HTML is resent.
    assert!(ops[0][1].as_array().is_some_and(|a| a.iter().all(Value::is_number)));
}

#[tokio::test]
async fn update_by_key_after_move() {
    let mut after = rows(&["b", "a", "c"]);
    after[1].label = "changed".into();
    let ops = ops_for(&["a", "b", "c"], after).await;
    assert_eq!(kinds(&ops), ["m", "u"], "{ops:?}");
    assert_eq!(ops[1][1], 1, "update addresses the final position");
}

#[tokio::test]
async fn duplicate_keys_fall_back_to_positions() {
    let before = ["a", "a", "b"];
    let after = rows(&["b", "a", "a", "c"]);
    // ops_for asserts the page is right; the diff must not be keyed.
    let ops = ops_for(&before, after).await;
    assert!(!ops.is_empty());
    assert!(kinds(&ops).iter().all(|k| k == "u" || k == "i" || k == "r"), "{ops:?}");
}

#[tokio::test]
async fn one_changed_cell_in_1000_rows_is_small() {
    let ids: Vec<String> = (0..1000).map(|i| format!("r{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut after = rows(&refs);
    after[500].label = "edited".into();
    let start = Table { rows: rows(&refs) };
    let mut page = TestPage::mount(TableCtrl, start).await.expect("mount");
    let frame = page.act("set", json!({ "rows": after })).await;
    assert!(frame.len() <= 80, "{} bytes: {}", frame.len(), frame.text());
}
