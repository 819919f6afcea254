//! Scenario: a feed on a `Stream`, one message appended, with 10 messages already sent vs
//! 10,000. Times the server's work for the action as a live connection does it: the insert,
//! the render of the new tree, the diff into a frame, then dropping the sent item (the
//! stream's pending ops and the kept tree's stream items). The server holds no sent item, so
//! both should cost the same.
//!
//! Run with: `cargo bench -p livetemplate-benches --bench stream_insert`

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use livetemplate::prelude::*;
use livetemplate_benches::criterion_config;
use livetemplate_core::diff::Encoder;
use livetemplate_core::tree::Tree;

#[derive(Clone, Debug)]
pub struct Message {
    pub id: u64,
    pub user: String,
    pub text: String,
}

#[derive(LiveState, Clone, Debug)]
#[lvt(
    source = r#"<h1>{{ title }}</h1><p>{{ sent }} messages sent</p><div id="messages">{% for m in messages %}<p id="{{ m.dom_id }}"><strong>{{ m.user }}:</strong> <span>{{ m.text }}</span></p>{% endfor %}</div>"#,
    ext = "html"
)]
pub struct Feed {
    pub title: String,
    pub sent: u64,
    pub messages: Stream<Message>,
}

/// A connection that has sent `already` messages, one action each.
struct Conn {
    state: Feed,
    tree: Tree,
    encoder: Encoder,
}

impl Conn {
    fn new(already: u64) -> Conn {
        let state = Feed {
            title: "Feed".into(),
            sent: 0,
            messages: Stream::new(|m: &Message| format!("m-{}", m.id)).limit(-20_000),
        };
        let tree = state.render_tree().unwrap();
        let mut encoder = Encoder::new();
        let _ = encoder.full_frame(&tree, None);
        let mut conn = Conn { state, tree, encoder };
        for id in 1..=already {
            conn.step(id);
        }
        conn
    }

    /// One action: append message `id`, render, diff, drop what was sent.
    fn step(&mut self, id: u64) -> String {
        self.state.sent = id;
        self.state.messages.insert(Message {
            id,
            user: "alice".into(),
            text: format!("message number {id}, a line of chat"),
        });
        let mut tree = self.state.render_tree().unwrap();
        let frame = self.encoder.diff_frame(&self.tree, &tree, Some(1)).unwrap();
        self.state.streams_sent();
        if let Some(kept) = tree.without_stream_items() {
            tree = kept;
            self.encoder.forget_unique_lists();
        }
        self.tree = tree;
        frame
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("stream_insert");
    for already in [10u64, 10_000] {
        let mut conn = Conn::new(already);
        assert_eq!(conn.state.messages.held(), 0);
        // Every iteration sends message `already + 1` again (the client would replace it in
        // place), so the count of messages sent before stays `already`.
        group.bench_function(format!("after_{already}_sent"), |b| {
            b.iter(|| black_box(conn.step(already + 1)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = bench
}
criterion_main!(benches);
