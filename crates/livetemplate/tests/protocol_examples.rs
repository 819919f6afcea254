//! The exact frames quoted in docs/protocol.md. If one of these changes, update the doc.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use serde_json::{Value, json};

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<p>Count: {{ count }}</p>{% if count > 1 %}<b>many</b>{% endif %}<ul>{% for t in todos %}<li data-key="{{ t }}">{{ t }}</li>{% endfor %}</ul>"#,
    ext = "html"
)]
pub struct Demo {
    pub count: i64,
    pub todos: Vec<String>,
}

pub struct DemoCtrl;

#[actions]
impl DemoCtrl {
    async fn increment(&self, state: &mut Demo, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        Ok(())
    }
    async fn add(&self, state: &mut Demo, ctx: &mut Context) -> Result<()> {
        let at = ctx.get_int("at") as usize;
        state.todos.insert(at.min(state.todos.len()), ctx.get_string("title"));
        Ok(())
    }
    async fn reverse(&self, state: &mut Demo, _ctx: &mut Context) -> Result<()> {
        state.todos.reverse();
        Ok(())
    }
    async fn fail(&self, _state: &mut Demo, _ctx: &mut Context) -> Result<()> {
        Err(Error::msg("title is required"))
    }
    async fn crash(&self, state: &mut Demo, _ctx: &mut Context) -> Result<()> {
        state.todos.clear();
        panic!("a bug");
    }
}

#[tokio::test]
async fn frames_in_the_protocol_doc() {
    let start = Demo {
        count: 0,
        todos: vec!["milk".into(), "eggs".into()],
    };
    let mut page = TestPage::mount(DemoCtrl, start).await.unwrap();
    let frames = [
        page.last_frame().text().to_string(),
        page.act("increment", Value::Null).await.text().to_string(),
        page.act("increment", Value::Null).await.text().to_string(),
        page.act("add", json!({"title": "tea", "at": "1"}))
            .await
            .text()
            .to_string(),
        page.act("reverse", Value::Null).await.text().to_string(),
        page.act("fail", Value::Null).await.text().to_string(),
        page.act("nope", Value::Null).await.text().to_string(),
        page.send_raw("{\"a\":").await.text().to_string(),
        page.send_raw("{\"h\":1}").await.text().to_string(),
    ];
    let expected = [
        r#"{"v":2,"s":{"0":["<p>Count: ","</p>","<ul>","</ul>"],"1":["<li data-key=\"","\">","</li>"]},"t":{"s":0,"0":0,"1":"","2":{"s":1,"l":[["milk","milk"],["eggs","eggs"]]}}}"#,
        r#"{"r":1,"d":{"0":1}}"#,
        r#"{"r":2,"s":{"2":["<b>many</b>"]},"d":{"0":2,"1":{"s":2}}}"#,
        r#"{"r":3,"d":{"2":{"o":[["i",1,["tea","tea"]]]}}}"#,
        r#"{"r":4,"d":{"2":{"o":[["m",1,0],["m",2,0]]}}}"#,
        r#"{"r":5,"e":"title is required"}"#,
        r#"{"r":6,"e":"action `nope` not found on /test; known: increment, add, reverse, fail, crash"}"#,
        r#"{"e":"malformed frame: EOF while parsing a value at line 1 column 5"}"#,
        r#"{"h":1}"#,
    ];
    for (got, want) in frames.iter().zip(expected) {
        assert_eq!(got, want);
    }
    assert_eq!(
        page.html(),
        "<p>Count: 2</p><b>many</b><ul><li data-key=\"eggs\">eggs</li><li data-key=\"tea\">tea</li><li data-key=\"milk\">milk</li></ul>"
    );
    // An action that panics: the page is mounted again (here its initial state) and the
    // reply carries its whole tree with the generic error; the client holds every statics
    // id already, so no `s`. The reference is random: it is the only part not compared.
    let crashed = page.act("crash", Value::Null).await.text().to_string();
    let (head, reference) = crashed.split_once("(ref ").unwrap();
    assert_eq!(
        head,
        r#"{"r":7,"t":{"s":0,"0":0,"1":"","2":{"s":1,"l":[["milk","milk"],["eggs","eggs"]]}},"e":"internal error "#
    );
    assert!(reference.len() == 9 && reference.ends_with(")\"}"), "{reference}");
    assert_eq!(
        page.html(),
        "<p>Count: 0</p><ul><li data-key=\"milk\">milk</li><li data-key=\"eggs\">eggs</li></ul>"
    );
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<h1>Total: {{ total }}</h1>{{ live_component::<TallyComponent>("a", label.clone()) }}"#,
    ext = "html"
)]
pub struct Tallies {
    pub total: i64,
    pub label: String,
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = r#"<button name="inc">{{ label }}: {{ n }}</button>"#, ext = "html")]
pub struct Tally {
    pub label: String,
    pub n: i64,
}

pub struct TalliesCtrl;

#[actions]
impl TalliesCtrl {
    async fn changed(&self, state: &mut Tallies, ctx: &mut Context) -> Result<()> {
        state.total = ctx.get_int("n");
        Ok(())
    }
    async fn rename(&self, state: &mut Tallies, _ctx: &mut Context) -> Result<()> {
        state.label = "B".into();
        Ok(())
    }
}

pub struct TallyComponent;

#[actions(component)]
impl TallyComponent {
    // The inputs type is `String`: `update` takes `&Inputs`.
    #[allow(clippy::ptr_arg)]
    async fn update(&self, state: &mut Tally, inputs: &String, _ctx: &mut Context) -> Result<()> {
        state.label = inputs.clone();
        Ok(())
    }
    async fn inc(&self, state: &mut Tally, _ctx: &mut Context) -> Result<()> {
        state.n += 1;
        Ok(())
    }
    async fn report(&self, state: &mut Tally, ctx: &mut Context) -> Result<()> {
        state.n += 1;
        ctx.send_parent("changed", json!({"n": state.n}));
        Ok(())
    }
}

#[tokio::test]
async fn component_frames_in_the_protocol_doc() {
    let start = Tallies {
        total: 0,
        label: "A".into(),
    };
    let mut page = TestPage::mount(TalliesCtrl, start).await.unwrap();
    let frames = [
        page.last_frame().text().to_string(),
        page.act_on("a", "inc", Value::Null).await.text().to_string(),
        page.act_on("a", "report", Value::Null).await.text().to_string(),
        page.act("rename", Value::Null).await.text().to_string(),
        page.act_on("b", "inc", Value::Null).await.text().to_string(),
    ];
    let expected = [
        r#"{"v":2,"s":{"0":["<h1>Total: ","</h1>",""],"1":["<div lvt-component=\"","\"><button name=\"inc\">",": ","</button></div>"]},"t":{"s":0,"0":0,"1":{"c":1}},"c":{"1":{"s":1,"0":"a","1":"A","2":0}}}"#,
        r#"{"r":1,"c":{"1":{"2":1}}}"#,
        r#"{"r":2,"d":{"0":2},"c":{"1":{"2":2}}}"#,
        r#"{"r":3,"c":{"1":{"1":"B"}}}"#,
        r#"{"r":4,"e":"no component `b` on /test"}"#,
    ];
    for (got, want) in frames.iter().zip(expected) {
        assert_eq!(got, want);
    }
    assert_eq!(
        page.html(),
        r#"<h1>Total: 2</h1><div lvt-component="a"><button name="inc">B: 2</button></div>"#
    );
}

// --- Streams ("Streams" in docs/protocol.md) -------------------------------------------------

#[derive(Clone, Debug)]
pub struct Msg {
    pub id: u32,
    pub text: String,
}

#[derive(LiveState, Clone, Debug)]
#[lvt(
    source = r#"<ul>{% for m in messages %}<li id="{{ m.dom_id }}">{{ m.text }}</li>{% endfor %}</ul>"#,
    ext = "html"
)]
pub struct Feed {
    pub messages: Stream<Msg>,
    pub next: u32,
}

pub struct FeedCtrl;

#[actions]
impl FeedCtrl {
    async fn mount(&self, state: &mut Feed, _ctx: &mut Context) -> Result<()> {
        state.messages.insert(Msg {
            id: 1,
            text: "hi".into(),
        });
        state.messages.insert(Msg {
            id: 2,
            text: "yo".into(),
        });
        state.next = 3;
        Ok(())
    }

    async fn prepend(&self, state: &mut Feed, ctx: &mut Context) -> Result<()> {
        let text = ctx.get_string("text");
        state.messages.insert_at(0, Msg { id: state.next, text });
        state.next += 1;
        Ok(())
    }

    async fn edit(&self, state: &mut Feed, ctx: &mut Context) -> Result<()> {
        let id = ctx.get_int("id") as u32;
        state.messages.update(Msg {
            id,
            text: ctx.get_string("text"),
        });
        Ok(())
    }

    async fn remove(&self, state: &mut Feed, ctx: &mut Context) -> Result<()> {
        state.messages.delete_by_dom_id(&format!("m-{}", ctx.get_int("id")));
        Ok(())
    }

    async fn clear(&self, state: &mut Feed, _ctx: &mut Context) -> Result<()> {
        state.messages.reset();
        state.messages.insert(Msg {
            id: 9,
            text: "new".into(),
        });
        Ok(())
    }
}

#[tokio::test]
async fn stream_frames_in_the_protocol_doc() {
    let start = Feed {
        messages: Stream::new(|m: &Msg| format!("m-{}", m.id)).limit(-3),
        next: 0,
    };
    let mut page = TestPage::mount(FeedCtrl, start).await.unwrap();
    let frames = [
        page.last_frame().text().to_string(),
        page.act("prepend", json!({"text": "first!"})).await.text().to_string(),
        page.act("edit", json!({"id": "2", "text": "yo!"}))
            .await
            .text()
            .to_string(),
        page.act("remove", json!({"id": "1"})).await.text().to_string(),
        page.act("clear", Value::Null).await.text().to_string(),
    ];
    let expected = [
        r#"{"v":2,"s":{"0":["<ul>","</ul>"],"1":["<li id=\"","\">","</li>"]},"t":{"s":0,"0":{"s":1,"x":[["i",-1,"m-1",["m-1","hi"]],["i",-1,"m-2",["m-2","yo"]]],"n":-3}}}"#,
        r#"{"r":1,"d":{"0":{"s":1,"x":[["i",0,"m-3",["m-3","first!"]]],"n":-3}}}"#,
        r#"{"r":2,"d":{"0":{"s":1,"x":[["i",-1,"m-2",["m-2","yo!"]]],"n":-3}}}"#,
        r#"{"r":3,"d":{"0":{"x":[["d","m-1"]],"n":-3}}}"#,
        r#"{"r":4,"d":{"0":{"s":1,"x":[["r"],["i",-1,"m-9",["m-9","new"]]],"n":-3}}}"#,
    ];
    for (got, want) in frames.iter().zip(expected) {
        assert_eq!(got, want);
    }
    assert_eq!(page.html(), "<ul><li id=\"m-9\">new</li></ul>");
}
