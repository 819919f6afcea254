//! Streams end to end: random insert / insert_at / update / delete / reset / limit sequences
//! over several actions. After every step the HTML the client rebuilds from the frames equals
//! a model list kept by the test (the browser's semantics, written here independently),
//! rendered the same way; in the keyed (`<li id="…">`) and the unkeyed layout. The server
//! holds no item after a frame, and its memory does not grow with the items it streamed.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::Controller;
use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Clone, Debug, PartialEq)]
pub struct Msg {
    pub id: u32,
    pub text: String,
}

fn dom_id(m: &Msg) -> String {
    format!("m-{}", m.id)
}

/// The keyed layout: each item's root carries its DOM id.
#[derive(LiveState, Clone)]
#[lvt(
    source = "<h1>{{ title }}</h1><ul>{% for m in messages %}<li id=\"{{ m.dom_id }}\">{{ m.text }}</li>{% endfor %}</ul><p>{{ title }}</p>",
    ext = "html"
)]
pub struct Keyed {
    pub title: String,
    pub messages: Stream<Msg>,
}

/// The unkeyed layout: items carry no id; one has a nested branch.
#[derive(LiveState, Clone)]
#[lvt(
    source = "<div>{% for m in self.messages %}<p>{{ m.text }}{% if m.id % 2 == 0 %}<b>even</b>{% endif %}</p>{% endfor %}</div>",
    ext = "html"
)]
pub struct Unkeyed {
    pub title: String,
    pub messages: Stream<Msg>,
}

impl Default for Keyed {
    fn default() -> Self {
        Keyed {
            title: String::new(),
            messages: Stream::new(dom_id),
        }
    }
}

impl Default for Unkeyed {
    fn default() -> Self {
        Unkeyed {
            title: String::new(),
            messages: Stream::new(dom_id),
        }
    }
}

/// One operation of the test's sequences.
#[derive(Clone, Debug)]
pub enum Op {
    Insert(u32),
    InsertAt(i64, u32),
    Update(u32),
    Delete(u32),
    Reset,
    Limit(i64),
    Title,
}

/// Both states through one set of actions.
pub trait Streamy: LiveState + Default {
    fn stream(&mut self) -> &mut Stream<Msg>;
    fn title(&mut self) -> &mut String;
    fn item_html(m: &Msg) -> String;
    fn page_html(title: &str, items: &str) -> String;
}

impl Streamy for Keyed {
    fn stream(&mut self) -> &mut Stream<Msg> {
        &mut self.messages
    }
    fn title(&mut self) -> &mut String {
        &mut self.title
    }
    fn item_html(m: &Msg) -> String {
        format!("<li id=\"m-{}\">{}</li>", m.id, m.text)
    }
    fn page_html(title: &str, items: &str) -> String {
        format!("<h1>{title}</h1><ul>{items}</ul><p>{title}</p>")
    }
}

impl Streamy for Unkeyed {
    fn stream(&mut self) -> &mut Stream<Msg> {
        &mut self.messages
    }
    fn title(&mut self) -> &mut String {
        &mut self.title
    }
    fn item_html(m: &Msg) -> String {
        let even = if m.id.is_multiple_of(2) { "<b>even</b>" } else { "" };
        format!("<p>{}{even}</p>", m.text)
    }
    fn page_html(_: &str, items: &str) -> String {
        format!("<div>{items}</div>")
    }
}

pub struct Ctl<S>(std::marker::PhantomData<S>);

fn msg(id: u32, version: u32) -> Msg {
    Msg {
        id,
        text: format!("t{id}v{version}"),
    }
}

fn apply_to_stream(s: &mut Stream<Msg>, title: &mut String, op: &Op, version: u32) {
    match op {
        Op::Insert(id) => s.insert(msg(*id, version)),
        Op::InsertAt(at, id) => s.insert_at(*at, msg(*id, version)),
        Op::Update(id) => s.update(msg(*id, version)),
        Op::Delete(id) => s.delete_by_dom_id(&format!("m-{id}")),
        Op::Reset => s.reset(),
        Op::Limit(n) => s.set_limit(*n),
        Op::Title => title.push('!'),
    }
}

impl<S: Streamy> Controller for Ctl<S> {
    type State = S;
    fn action_names(&self) -> &'static [&'static str] {
        &["step"]
    }
    fn call<'a>(
        &'a self,
        _name: &'a str,
        state: &'a mut S,
        ctx: &'a mut Context,
    ) -> livetemplate::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let step: Vec<Value> = serde_json::from_value(ctx.data().get("ops").cloned().unwrap_or_default())
                .map_err(|e| Error::msg(e.to_string()))?;
            let version = ctx.data().get("v").and_then(Value::as_u64).unwrap_or(0) as u32;
            for op in step {
                let op = decode(&op);
                let mut title = std::mem::take(state.title());
                apply_to_stream(state.stream(), &mut title, &op, version);
                *state.title() = title;
            }
            Ok(())
        })
    }
}

fn encode(op: &Op) -> Value {
    match op {
        Op::Insert(id) => json!(["insert", id]),
        Op::InsertAt(at, id) => json!(["insert_at", at, id]),
        Op::Update(id) => json!(["update", id]),
        Op::Delete(id) => json!(["delete", id]),
        Op::Reset => json!(["reset"]),
        Op::Limit(n) => json!(["limit", n]),
        Op::Title => json!(["title"]),
    }
}

fn decode(v: &Value) -> Op {
    let n = |i: usize| v.get(i).and_then(Value::as_i64).unwrap_or(0);
    match v.get(0).and_then(Value::as_str).unwrap_or("") {
        "insert" => Op::Insert(n(1) as u32),
        "insert_at" => Op::InsertAt(n(1), n(2) as u32),
        "update" => Op::Update(n(1) as u32),
        "delete" => Op::Delete(n(1) as u32),
        "reset" => Op::Reset,
        "limit" => Op::Limit(n(1)),
        _ => Op::Title,
    }
}

/// The browser's list, as the protocol defines it: ops in order, then the limit after each
/// frame.
#[derive(Default, Debug)]
struct Model {
    items: Vec<Msg>,
    limit: Option<i64>,
    title: String,
}

impl Model {
    fn step(&mut self, ops: &[Op], version: u32) {
        for op in ops {
            match op {
                Op::Insert(id) | Op::Update(id) => self.put(-1, msg(*id, version)),
                Op::InsertAt(at, id) => self.put(*at, msg(*id, version)),
                Op::Delete(id) => self.items.retain(|m| m.id != *id),
                Op::Reset => self.items.clear(),
                Op::Limit(n) => self.limit = (*n != 0).then_some(*n),
                Op::Title => self.title.push('!'),
            }
        }
        if let Some(n) = self.limit {
            let keep = n.unsigned_abs() as usize;
            if self.items.len() > keep {
                if n > 0 {
                    self.items.truncate(keep);
                } else {
                    self.items.drain(..self.items.len() - keep);
                }
            }
        }
    }

    fn put(&mut self, at: i64, m: Msg) {
        if let Some(i) = self.items.iter().position(|x| x.id == m.id) {
            self.items[i] = m;
        } else {
            let at = if at < 0 {
                self.items.len()
            } else {
                (at as usize).min(self.items.len())
            };
            self.items.insert(at, m);
        }
    }

    fn html<S: Streamy>(&self) -> String {
        let items: String = self.items.iter().map(S::item_html).collect();
        S::page_html(&self.title, &items)
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..12).prop_map(Op::Insert),
        3 => (-1i64..6, 0u32..12).prop_map(|(at, id)| Op::InsertAt(at, id)),
        2 => (0u32..12).prop_map(Op::Update),
        2 => (0u32..12).prop_map(Op::Delete),
        1 => Just(Op::Reset),
        1 => prop_oneof![Just(0i64), -6i64..-1, 1i64..6].prop_map(Op::Limit),
        1 => Just(Op::Title),
    ]
}

async fn run<S: Streamy>(steps: Vec<Vec<Op>>) {
    let mut page = TestPage::mount(Ctl::<S>(std::marker::PhantomData), S::default())
        .await
        .unwrap();
    let mut model = Model::default();
    assert_eq!(page.html(), model.html::<S>());
    for (version, ops) in steps.iter().enumerate() {
        let version = version as u32 + 1;
        let data = json!({"ops": ops.iter().map(encode).collect::<Vec<_>>(), "v": version});
        let frame = page.act("step", data).await;
        assert!(frame.error().is_none(), "{}", frame.text());
        model.step(ops, version);
        assert_eq!(page.html(), model.html::<S>(), "after {ops:?}; frame {}", frame.text());
    }
}

fn block_on(f: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn keyed_client_equals_the_model(steps in prop::collection::vec(prop::collection::vec(op_strategy(), 0..8), 1..8)) {
        block_on(run::<Keyed>(steps));
    }

    /// Without a connection pending operations accumulate over steps; the page's plain
    /// render shows them as the first frame of a new connection builds them.
    #[test]
    fn plain_render_equals_the_first_frame(steps in prop::collection::vec(prop::collection::vec(op_strategy(), 0..8), 1..6)) {
        block_on(async {
            let mut state = Unkeyed::default();
            for (v, ops) in steps.iter().enumerate() {
                for op in ops {
                    let mut title = std::mem::take(&mut state.title);
                    apply_to_stream(&mut state.messages, &mut title, op, v as u32);
                    state.title = title;
                }
                // A no-JS post ends its step so: the limit applied, as a browser would.
                if v % 2 == 1 {
                    livetemplate::__private::LiveState::streams_limit(&mut state);
                }
            }
            let plain = state.render_html().unwrap();
            let page = TestPage::mount(Ctl::<Unkeyed>(std::marker::PhantomData), state).await.unwrap();
            assert_eq!(page.html(), plain);
        });
    }

    #[test]
    fn unkeyed_client_equals_the_model(steps in prop::collection::vec(prop::collection::vec(op_strategy(), 0..8), 1..8)) {
        block_on(run::<Unkeyed>(steps));
    }
}

/// The page rendered without a connection (the GET after a no-JS post) shows the pending
/// items, as the client would build them from `"t"`.
#[test]
fn plain_render_shows_the_pending_items_as_the_first_frame_does() {
    block_on(async {
        let mut state = Keyed {
            title: "T".into(),
            messages: Stream::new(dom_id).limit(3),
        };
        for i in 0..5 {
            state.messages.insert_at(0, msg(i, 0));
        }
        state.messages.delete_by_dom_id("m-3");
        let plain = state.render_html().unwrap();
        assert_eq!(
            plain,
            "<h1>T</h1><ul><li id=\"m-4\">t4v0</li><li id=\"m-2\">t2v0</li><li id=\"m-1\">t1v0</li></ul><p>T</p>"
        );
        let page = TestPage::mount(Ctl::<Keyed>(std::marker::PhantomData), state)
            .await
            .unwrap();
        assert_eq!(page.html(), plain);
    });
}

/// What a stream frame looks like on the wire.
#[test]
fn a_prepend_frame_carries_only_the_new_item() {
    block_on(async {
        let state = Keyed {
            title: "T".into(),
            messages: Stream::new(dom_id).limit(5000),
        };
        let mut page = TestPage::mount(Ctl::<Keyed>(std::marker::PhantomData), state)
            .await
            .unwrap();
        page.act("step", json!({"ops": [["insert", 1]], "v": 1})).await;
        let frame = page.act("step", json!({"ops": [["insert_at", 0, 2]], "v": 1})).await;
        assert_eq!(
            frame.text(),
            r#"{"r":2,"d":{"1":{"s":1,"x":[["i",0,"m-2",["m-2","t2v1"]]],"n":5000}}}"#
        );
        let frame = page.act("step", json!({"ops": [["delete", 1]], "v": 1})).await;
        assert_eq!(frame.text(), r#"{"r":3,"d":{"1":{"x":[["d","m-1"]],"n":5000}}}"#);
        let frame = page.act("step", json!({"ops": [["title"]], "v": 1})).await;
        assert_eq!(frame.text(), r#"{"r":4,"d":{"0":"T!","2":"T!"}}"#);
        assert_eq!(page.html(), "<h1>T!</h1><ul><li id=\"m-2\">t2v1</li></ul><p>T!</p>");
    });
}

/// Server memory does not grow with the items streamed: after 10,000 inserts over 100
/// actions, the kept tree is as small as after the first, and the stream holds nothing.
#[test]
fn memory_does_not_grow_with_items_streamed() {
    use livetemplate::__private::LiveState as _;
    let mut state = Keyed {
        title: "T".into(),
        messages: Stream::new(dom_id).limit(-5000),
    };
    let mut encoder = livetemplate_core::diff::Encoder::new();
    let mut kept = state.render_tree().unwrap();
    let _ = encoder.full_frame(&kept, None);
    let mut sizes = Vec::new();
    for round in 0..100u32 {
        for i in 0..100 {
            state.messages.insert(msg(round * 100 + i, round));
        }
        let tree = state.render_tree().unwrap();
        let frame = encoder.diff_frame(&kept, &tree, None).unwrap();
        assert!(frame.contains(&format!("\"m-{}\"", round * 100 + 99)));
        // What the engine does after each frame.
        state.streams_sent();
        kept = tree.without_stream_items().unwrap();
        assert_eq!(state.messages.held(), 0);
        sizes.push(kept.heap_bytes());
    }
    assert_eq!(sizes[0], sizes[99], "{sizes:?}");
    assert!(sizes[99] < 1024, "{}", sizes[99]);
}

/// A step inserting far more than the limit keeps: the server cuts its pending list on the
/// way (see `Stream::limit`), and the browser still ends with what the model shows.
#[test]
fn steps_far_over_the_limit_end_as_the_model() {
    let appends: Vec<Op> = std::iter::once(Op::Limit(-5)).chain((0..300).map(Op::Insert)).collect();
    let prepends: Vec<Op> = std::iter::once(Op::Limit(5))
        .chain((300..600).map(|i| Op::InsertAt(0, i)))
        .chain([Op::Delete(599), Op::Delete(3)])
        .collect();
    block_on(run::<Keyed>(vec![
        appends.clone(),
        vec![Op::Delete(298), Op::Insert(7)],
    ]));
    block_on(run::<Unkeyed>(vec![appends, vec![Op::Reset], prepends]));
}
