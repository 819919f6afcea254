//! A tree's statics are checked against the last ones built on the thread (the previous
//! page's root, the previous item of a loop) instead of copied. Pages whose text starts the
//! same but then differs (in a literal, or in the number of slots) must still each get their
//! own statics, in whatever order they are rendered.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ a }}</p><i>{{ b }}</i>", ext = "html")]
pub struct Two {
    pub a: String,
    pub b: String,
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ a }}</p><i>x</i>", ext = "html")]
pub struct Fewer {
    pub a: String,
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ a }}</p><i>{{ b }}</i><u>{{ b }}</u>", ext = "html")]
pub struct More {
    pub a: String,
    pub b: String,
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ a }}</q>", ext = "html")]
pub struct Differs {
    pub a: String,
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = "<ul>{% for r in rows %}<li data-key=\"{{ r.0 }}\">{{ r.1 }}{% if r.1.is_empty() %}<em>empty</em>{% else %}<b>{{ r.1 }}</b>{% endif %}</li>{% endfor %}</ul>",
    ext = "html"
)]
pub struct Rows {
    pub rows: Vec<(u32, String)>,
}

fn check<S: LiveState>(s: &S) {
    let tree = s.render_tree().unwrap();
    assert_eq!(tree.to_html(), s.render_html().unwrap());
}

#[test]
fn pages_sharing_a_prefix_keep_their_own_statics() {
    let two = Two {
        a: "1".into(),
        b: "2".into(),
    };
    let fewer = Fewer { a: "<&>".into() };
    let more = More {
        a: "p".into(),
        b: "q".into(),
    };
    let differs = Differs { a: "</i>".into() };
    // Every ordered pair, twice, so each page follows each other one.
    for _ in 0..2 {
        for i in 0..4 {
            for j in 0..4 {
                for k in [i, j] {
                    match k {
                        0 => check(&two),
                        1 => check(&fewer),
                        2 => check(&more),
                        _ => check(&differs),
                    }
                }
            }
        }
    }
}

#[test]
fn loop_items_share_statics_and_trees_recycle_buffers() {
    let rows: Vec<(u32, String)> = (0..50)
        .map(|i| (i, if i % 3 == 0 { String::new() } else { format!("r{i}") }))
        .collect();
    let page = Rows { rows };
    let tree = page.render_tree().unwrap();
    assert_eq!(tree.to_html(), page.render_html().unwrap());
    // One entry for the root, the items and each branch body, not one per item.
    assert!(tree.statics.len() <= 4, "{} statics", tree.statics.len());
    let arenas = (tree.text.as_ptr(), tree.dyns.as_ptr(), tree.items.as_ptr());
    drop(tree);
    // The next tree built on this thread takes the dropped one's buffers: no new arenas.
    let again = page.render_tree().unwrap();
    assert_eq!((again.text.as_ptr(), again.dyns.as_ptr(), again.items.as_ptr()), arenas);
    drop(again);
    // The next tree reuses the dropped one's buffers and is still right.
    for n in [0, 1, 50, 7] {
        let p = Rows {
            rows: page.rows[..n].to_vec(),
        };
        let t = p.render_tree().unwrap();
        assert_eq!(t.to_html(), p.render_html().unwrap());
    }
}
