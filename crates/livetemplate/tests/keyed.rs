//! Keyed loop diffs: each edit of a keyed list is sent as the matching list operation, and
//! the rebuilt HTML always equals askama's render.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
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

/// After the first diff, a list's keys are known unique from the diff before; edits are then
/// matched by guesses and scans. Many random edits in a row on one connection: the page is
/// always right, and a list with a repeated key is never sent as keyed moves.
#[tokio::test]
async fn long_edit_sequences_stay_right_and_repeats_fall_back() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |m: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % m.max(1)
    };
    let mut ids: Vec<String> = (0..12).map(|i| format!("k{i}")).collect();
    let start = Table {
        rows: rows(&ids.iter().map(String::as_str).collect::<Vec<_>>()),
    };
    // Far more actions than a browser could send this fast: TestPage lifts the rate limit.
    let mut page = TestPage::mount(TableCtrl, start).await.expect("mount");
    let mut next = 100;
    for step in 0..400 {
        match rnd(8) {
            0 => {
                ids.insert(rnd(ids.len() + 1), format!("k{next}"));
                next += 1;
            }
            1 if !ids.is_empty() => {
                ids.remove(rnd(ids.len()));
            }
            2 if ids.len() > 1 => {
                let (a, b) = (rnd(ids.len()), rnd(ids.len()));
                ids.swap(a, b);
            }
            3 => ids.reverse(),
            4 if !ids.is_empty() => {
                // A repeated key: an existing one copied elsewhere.
                let k = ids[rnd(ids.len())].clone();
                ids.insert(rnd(ids.len() + 1), k);
            }
            5 => {
                // Two new items with the same new key.
                ids.insert(rnd(ids.len() + 1), format!("k{next}"));
                ids.insert(rnd(ids.len() + 1), format!("k{next}"));
                next += 1;
            }
            6 if !ids.is_empty() => {
                let from = rnd(ids.len());
                let k = ids.remove(from);
                ids.insert(rnd(ids.len() + 1), k);
            }
            _ => {
                // Back to unique keys.
                let mut seen = std::collections::HashSet::new();
                ids.retain(|k| seen.insert(k.clone()));
            }
        }
        let after = rows(&ids.iter().map(String::as_str).collect::<Vec<_>>());
        let frame = page.act("set", json!({ "rows": after.clone() })).await;
        assert!(frame.error().is_none(), "{}", frame.text());
        let expected = Table { rows: after }.render_html().expect("render");
        assert_eq!(page.html(), expected, "step {step}: {}", frame.text());
        let mut seen = std::collections::HashSet::new();
        let repeated = !ids.iter().all(|k| seen.insert(k));
        if repeated {
            let text = frame.text();
            assert!(
                !text.contains("[\"m\"") && !text.contains("[\"o\""),
                "step {step}: {text}"
            );
        }
    }
}

/// Items keyed by `id` alone (no `data-key`), the key made of literal text and a slot.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<ul>{% for r in rows %}<li class="row" id="row-{{ r.id }}" title="{{ r.label }}">{{ r.label }}</li>{% endfor %}</ul>"#,
    ext = "html"
)]
pub struct IdList {
    pub rows: Vec<Row>,
}

/// `data-key` last in the tag, after an `id` and another slot.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<ul>{% for r in rows %}<li id="x{{ r.id }}" class="{{ r.label }}" data-key="{{ r.id }}">{{ r.label }}</li>{% endfor %}</ul>"#,
    ext = "html"
)]
pub struct KeyLast {
    pub rows: Vec<Row>,
}

pub struct IdListCtrl;

#[actions]
impl IdListCtrl {
    async fn set(&self, state: &mut IdList, ctx: &mut Context) -> Result<()> {
        state.rows = serde_json::from_value(ctx.data()["rows"].clone()).map_err(|e| Error::msg(e.to_string()))?;
        Ok(())
    }
}

pub struct KeyLastCtrl;

#[actions]
impl KeyLastCtrl {
    async fn set(&self, state: &mut KeyLast, ctx: &mut Context) -> Result<()> {
        state.rows = serde_json::from_value(ctx.data()["rows"].clone()).map_err(|e| Error::msg(e.to_string()))?;
        Ok(())
    }
}

/// The list ops of `set` on `page` (which holds `TEN`), checking the HTML against `expected`.
async fn set_ops(page: &mut TestPage, after: Vec<Row>, expected: String) -> Vec<Value> {
    let frame = page.act("set", json!({ "rows": after })).await;
    assert!(frame.error().is_none(), "{}", frame.text());
    assert_eq!(page.html(), expected, "frame: {}", frame.text());
    frame.json()["d"]["0"]["o"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn keys_from_id_or_a_late_data_key_diff_by_key() {
    // "b" moves to the end, then "x" goes in at 3.
    let moved: Vec<&str> = ["a", "c", "d", "e", "f", "g", "h", "i", "j", "b"].to_vec();
    let mut inserted = moved.clone();
    inserted.insert(3, "x");

    let mut page = TestPage::mount(IdListCtrl, IdList { rows: rows(&TEN) }).await.unwrap();
    let ops = set_ops(
        &mut page,
        rows(&moved),
        IdList { rows: rows(&moved) }.render_html().unwrap(),
    )
    .await;
    assert_eq!(ops, [json!(["m", 1, 9])]);
    let ops = set_ops(
        &mut page,
        rows(&inserted),
        IdList { rows: rows(&inserted) }.render_html().unwrap(),
    )
    .await;
    assert_eq!(ops, [json!(["i", 3, ["x", "row x", "row x"]])]);

    let mut page = TestPage::mount(KeyLastCtrl, KeyLast { rows: rows(&TEN) })
        .await
        .unwrap();
    let ops = set_ops(
        &mut page,
        rows(&moved),
        KeyLast { rows: rows(&moved) }.render_html().unwrap(),
    )
    .await;
    assert_eq!(ops, [json!(["m", 1, 9])]);
    let ops = set_ops(
        &mut page,
        rows(&inserted),
        KeyLast { rows: rows(&inserted) }.render_html().unwrap(),
    )
    .await;
    assert_eq!(ops, [json!(["i", 3, ["x", "row x", "x", "row x"]])]);
}
