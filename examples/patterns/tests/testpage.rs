//! `TestPage`'s selectors on the pattern pages: clicks, submits and key presses built from the
//! rendered HTML as the browser client builds them, the no-JS POST, pushes by kind, and the
//! messages a test gets when a selector or a binding is wrong.

#![allow(clippy::unwrap_used)]

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use livetemplate::prelude::*;
use livetemplate::testing::{PostOutcome, PushKind, TestPage};
use livetemplate::{App, GroupId};
use serde_json::{Value, json};

/// The pattern pages, as `example-patterns` serves them, with an in-memory store.
fn app() -> Arc<App> {
    Arc::new(example_patterns::pages::register(App::builder()).build().unwrap())
}

async fn open(app: &Arc<App>, url: &str) -> TestPage {
    TestPage::connect(app.clone(), url, GroupId::random()).await.unwrap()
}

/// The message of the panic `f` raises.
fn panic_of(f: impl FnOnce()) -> String {
    let err = std::panic::catch_unwind(AssertUnwindSafe(f)).expect_err("no panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[tokio::test]
async fn counter_buttons_are_clicked_by_selector() {
    let app = app();
    let mut page = open(&app, "/counter").await;
    // `<form method="POST"><button name="increment">`: the click submits the form, the
    // button's name is the action.
    page.click("button[name=increment]").await;
    let frame = page.click("button[name=increment]").await;
    assert_eq!(frame.error(), None);
    assert!(page.has_element("#count", Some("2")), "{}", page.html());
    page.click("button[name=decrement]").await;
    assert_eq!(page.render("#count"), r#"<strong id="count">1</strong>"#);
    assert!(!page.has_element("#count", Some("2")));
    assert!(!page.has_element(".no-such-thing", None));

    // A selector that matches nothing: the message names it and shows the HTML.
    let msg = panic_of(|| drop(page.click("button[name=reset]")));
    assert!(
        msg.contains("no element matches `button[name=reset]`") && msg.contains("name=\"increment\""),
        "{msg}"
    );
    // Several matches.
    let msg = panic_of(|| drop(page.click("form button")));
    assert!(msg.contains("matches 2 elements"), "{msg}");
    // An element without a binding.
    let msg = panic_of(|| drop(page.click("#count")));
    assert!(msg.contains("has no `lvt-click`"), "{msg}");
    // Nothing was sent by the failed calls.
    assert!(page.has_element("#count", Some("1")));
}

#[tokio::test]
async fn the_no_js_post_runs_the_pressed_button_and_redirects() {
    let app = app();
    let mut page = open(&app, "/counter").await;
    let outcome = page.post("button[name=increment]", Value::Null).await;
    assert_eq!(outcome, PostOutcome::Redirect("/counter".into()));
    page.follow(&outcome).await.unwrap();
    assert!(page.has_element("#count", Some("1")), "{}", page.html());

    // `/url-params`: the action's push_patch decides where the 303 goes.
    let mut page = open(&app, "/url-params").await;
    let outcome = page.post("button[name=lastPage]", Value::Null).await;
    assert_eq!(outcome.location(), Some("/url-params?page=5"));
    page.follow(&outcome).await.unwrap();
    assert_eq!(page.url(), "/url-params?page=5");
    assert!(page.has_element("#page", Some("5")), "{}", page.html());
    assert!(page.follow(&PostOutcome::Redirect("/nowhere".into())).await.is_err());
}

#[tokio::test]
async fn patch_links_are_followed_by_selector() {
    let app = app();
    let mut page = open(&app, "/url-params").await;
    assert!(!page.has_element("#prev", None));
    page.click("#next").await;
    assert_eq!(page.url(), "/url-params?page=2");
    assert!(page.has_element("#page", Some("2")));
    assert!(page.has_element("#items li", Some("Item 6")), "{}", page.html());
    page.click("a#prev").await;
    assert_eq!(page.url(), "/url-params?page=1");
    // Live, the button runs `last_page`, whose push_patch moves the address.
    page.click("button[name=lastPage]").await;
    assert_eq!(page.url(), "/url-params?page=5");
}

#[tokio::test]
async fn component_forms_go_to_their_instance() {
    let app = app();
    let mut page = open(&app, "/components").await;
    // The button is inside `<div lvt-component="second">`: the action goes to that instance.
    page.click("[lvt-component=second] button[name=inc]").await;
    page.click("[lvt-component=second] button[name=inc]").await;
    page.click("[lvt-component=first] button[name=inc]").await;
    assert!(
        page.has_element("[lvt-component=second] .count", Some("2")),
        "{}",
        page.html()
    );
    assert!(page.has_element("#total", Some("3")));
    // Typed text replaces the field's value; the hidden `lvt-target` field is sent as rendered.
    let frame = page
        .submit("[lvt-component=first] button[name=rename]", json!({"name": "Ann"}))
        .await;
    assert_eq!(frame.error(), None);
    assert!(
        page.has_element("[lvt-component=first] h4", Some("First: Ann")),
        "{}",
        page.html()
    );

    // A field the form does not have, and a hidden field a user cannot change.
    let msg = panic_of(|| drop(page.submit("[lvt-component=first] button[name=rename]", json!({"title": "x"}))));
    assert!(
        msg.contains("has no field named `title`") && msg.contains("its fields: lvt-target, name"),
        "{msg}"
    );
    let msg = panic_of(|| {
        drop(page.submit(
            "[lvt-component=first] button[name=rename]",
            json!({"lvt-target": "second"}),
        ))
    });
    assert!(msg.contains("hidden field"), "{msg}");

    // Without JavaScript the `lvt-target` field routes the POST to the instance.
    let outcome = page.post("[lvt-component=third] button[name=inc]", Value::Null).await;
    assert_eq!(outcome, PostOutcome::Redirect("/components".into()));
    page.follow(&outcome).await.unwrap();
    assert!(
        page.has_element("[lvt-component=third] .count", Some("1")),
        "{}",
        page.html()
    );
}

#[tokio::test]
async fn a_stream_page_sends_and_deletes_through_its_forms() {
    let app = app();
    let mut page = open(&app, "/streams").await;
    page.submit("button[name=send]", json!({"text": "hello"})).await;
    page.submit("button[name=send]", json!({"text": "world"})).await;
    assert!(page.has_element("#feed li .text", Some("hello")), "{}", page.html());
    // The newest first; its Delete button carries the item's id as its value.
    let frame = page.click("#feed li:first-child button[name=delete]").await;
    assert_eq!(frame.error(), None);
    assert!(!page.has_element("#feed li .text", Some("world")), "{}", page.html());
    assert!(page.has_element("#feed li .text", Some("hello")));
}

#[tokio::test]
async fn presence_changes_arrive_as_presence_pushes() {
    let app = app();
    let mut watcher = open(&app, "/presence").await;
    let mut joiner = open(&app, "/presence").await;
    joiner.submit("button[name=join]", json!({"name": "Bea"})).await;
    assert!(joiner.has_element("#me", Some("Bea")));
    let frame = watcher
        .next_push_of(PushKind::Presence, Duration::from_secs(5))
        .await
        .expect("a presence push");
    assert_eq!(frame.pushed_by(), Some("presence"));
    assert!(frame.is(PushKind::Diff));
    assert!(watcher.has_element("#members li", Some("Bea")), "{}", watcher.html());
    // No navigation came; nothing was lost waiting for one.
    assert!(
        watcher
            .next_push_of(PushKind::Navigation, Duration::from_millis(200))
            .await
            .is_none()
    );
    // She leaves: the watcher's list follows.
    joiner.close().await;
    watcher
        .next_push_of(PushKind::Presence, Duration::from_secs(5))
        .await
        .expect("a presence push");
    assert!(!watcher.has_element("#members li", Some("Bea")), "{}", watcher.html());
}

// A page of this test's own, for bindings the pattern pages do not use, and for the message
// when a template names an action the page does not have.

/// Todos with a draft, a tag and an urgency.
#[derive(LiveState, Clone, Default, Debug)]
#[lvt(
    source = r#"<ul id="todos">{% for t in todos %}<li lvt-click="remove" lvt-value-title="{{ t }}">{{ t }}</li>{% endfor %}</ul>
<input id="new" name="title" value="{{ draft }}" lvt-keydown="add" lvt-key="Enter">
<form lvt-change="draft" lvt-submit="add"><input name="title" value="{{ draft }}"><select name="tag"><option>home</option><option selected>work</option></select><label><input type="checkbox" name="urgent" value="yes"> urgent</label></form>
<p id="last">{{ last }}</p>
<button id="typo" lvt-click="remvoe">x</button>
<button id="plain" name="nothing">y</button>
<form method="POST" id="old"><button name="clearAll">Clear</button></form>"#,
    ext = "html"
)]
pub struct Todos {
    /// The todos' titles.
    pub todos: Vec<String>,
    /// The title being typed.
    pub draft: String,
    /// What the last `add` received: tag, urgency, key.
    pub last: String,
}

/// The actions of [`Todos`].
#[derive(Debug)]
pub struct TodosController;

#[actions]
impl TodosController {
    async fn add(&self, state: &mut Todos, ctx: &mut Context) -> Result<()> {
        // From the form, `title`; from Enter in the input, the field's `value`.
        let title = match ctx.get_string("title") {
            t if t.is_empty() => ctx.get_string("value"),
            t => t,
        };
        state.last = format!(
            "{} {} {}",
            ctx.get_string("tag"),
            ctx.get_string("urgent"),
            ctx.get_string("key")
        );
        state.todos.push(title);
        state.draft.clear();
        Ok(())
    }

    async fn draft(&self, state: &mut Todos, ctx: &mut Context) -> Result<()> {
        state.draft = ctx.get_string("title");
        Ok(())
    }

    async fn remove(&self, state: &mut Todos, ctx: &mut Context) -> Result<()> {
        let title = ctx.get_string("title");
        state.todos.retain(|t| *t != title);
        Ok(())
    }
}

#[tokio::test]
async fn keys_values_and_form_fields_reach_the_actions() {
    let mut page = TestPage::mount(TodosController, Todos::default()).await.unwrap();
    // lvt-change: the form's fields with the typed text.
    page.change("form[lvt-change]", json!({"title": "milk"})).await;
    assert_eq!(
        page.render("#new"),
        r#"<input id="new" name="title" value="milk" lvt-keydown="add" lvt-key="Enter">"#
    );
    // Enter in the bound input: `key` and the field's value.
    page.keydown("#new", "Enter").await;
    assert!(page.has_element("#todos li", Some("milk")));
    assert!(page.has_element("#last", Some("Enter")), "{}", page.html());
    // Another key: the client would send nothing.
    let msg = panic_of(|| drop(page.keydown("#new", "a")));
    assert!(msg.contains("`lvt-key=\"Enter\"`: key `a` sends nothing"), "{msg}");
    // Submit: the selected option and a checked box.
    page.submit("form[lvt-change]", json!({"title": "bread", "urgent": true}))
        .await;
    assert!(page.has_element("#last", Some("work yes")), "{}", page.html());
    let msg = panic_of(|| drop(page.submit("form[lvt-change]", json!({"tag": "office"}))));
    assert!(
        msg.contains("`tag` cannot be `office`; its choices: home, work"),
        "{msg}"
    );
    // lvt-value-* of the clicked element.
    page.click("#todos li:first-child").await;
    assert!(!page.has_element("#todos li", Some("milk")), "{}", page.html());
    assert!(page.has_element("#todos li", Some("bread")));
}

#[tokio::test]
async fn a_binding_that_names_no_action_fails_the_test() {
    let mut page = TestPage::mount(TodosController, Todos::default()).await.unwrap();
    let msg = panic_of(|| drop(page.click("#typo")));
    assert!(
        msg.contains("click on `#typo` sends action `remvoe`, which is no action of the page /test")
            && msg.contains("its actions: add, draft, remove"),
        "{msg}"
    );
    // A form button whose name is no action: live, the test fails; without JavaScript the
    // server answers 422 with the same list.
    let msg = panic_of(|| drop(page.click("#old button")));
    assert!(
        msg.contains("sends action `clearAll`, which is no action of the page /test"),
        "{msg}"
    );
    let PostOutcome::Failed { status, message, html } = page.post("#old", Value::Null).await else {
        panic!("the POST succeeded")
    };
    assert_eq!(status, 422);
    assert!(message.contains("one of: add, draft, remove"), "{message}");
    assert!(html.contains(r#"<ul id="todos">"#), "{html}");
    // A button outside any form does nothing on a click.
    let msg = panic_of(|| drop(page.click("#plain")));
    assert!(msg.contains("a click sends nothing"), "{msg}");
}

#[tokio::test]
#[should_panic(expected = "no element matches `#missing`")]
async fn a_selector_that_matches_nothing_panics_at_the_call() {
    let mut page = TestPage::mount(TodosController, Todos::default()).await.unwrap();
    page.click("#missing").await;
}

// Component instances: one the page renders from the start, one only after an action.

/// A counter component with a button that names no action of it.
#[derive(LiveState, Clone, Default, Debug)]
#[lvt(
    source = r#"<b class="n">{{ n }}</b><button class="inc" lvt-click="inc">+</button><button class="typo" lvt-click="incr">?</button>"#,
    ext = "html"
)]
pub struct Tally {
    /// The count.
    pub n: i64,
}

/// The actions of [`Tally`].
#[derive(Debug)]
pub struct TallyComponent;

#[actions(component)]
impl TallyComponent {
    async fn update(&self, _state: &mut Tally, _inputs: &(), _ctx: &mut Context) -> Result<()> {
        Ok(())
    }

    async fn inc(&self, state: &mut Tally, _ctx: &mut Context) -> Result<()> {
        state.n += 1;
        Ok(())
    }
}

/// A page with tally `a`, and tally `b` once `show` ran.
#[derive(LiveState, Clone, Default, Debug)]
#[lvt(
    source = r#"{{ live_component::<TallyComponent>("a", ()) }}{% if shown %}{{ live_component::<TallyComponent>("b", ()) }}{% endif %}<button id="show" lvt-click="show">show</button>"#,
    ext = "html"
)]
pub struct Tallies {
    /// Whether tally `b` is shown.
    pub shown: bool,
}

/// The actions of [`Tallies`].
#[derive(Debug)]
pub struct TalliesController;

#[actions]
impl TalliesController {
    async fn show(&self, state: &mut Tallies, _ctx: &mut Context) -> Result<()> {
        state.shown = true;
        Ok(())
    }
}

#[tokio::test]
async fn component_bindings_are_checked_against_the_instances_actions() {
    let mut page = TestPage::mount(TalliesController, Tallies::default()).await.unwrap();
    page.click("[lvt-component=a] .inc").await;
    assert!(page.has_element("[lvt-component=a] .n", Some("1")), "{}", page.html());
    // An instance rendered when the connection opened: checked at the call.
    let msg = panic_of(|| drop(page.click("[lvt-component=a] .typo")));
    assert!(
        msg.contains("sends action `incr`, which is no action of component instance `a` of /test")
            && msg.contains("its actions: inc"),
        "{msg}"
    );
    // One added by an action since: checked on the server's answer.
    page.click("#show").await;
    page.click("[lvt-component=b] .inc").await;
    assert!(page.has_element("[lvt-component=b] .n", Some("1")), "{}", page.html());
    let late = tokio::spawn(async move {
        page.click("[lvt-component=b] .typo").await;
    });
    let msg = late.await.unwrap_err().into_panic();
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("click on `[lvt-component=b] .typo` sends action `incr`: action `incr` not found on"),
        "{msg}"
    );
}

#[tokio::test]
async fn pushes_that_arrive_before_an_answer_are_kept() {
    let app = app();
    let mut ann = open(&app, "/chat").await;
    let mut bob = open(&app, "/chat").await;
    ann.submit("button[name=join]", json!({"username": "ann"})).await;
    bob.submit("button[name=join]", json!({"username": "bob"})).await;
    ann.submit("button[name=send]", json!({"text": "hi bob"})).await;
    // Ann's message reaches Bob's connection while he types his own.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let frame = bob.submit("button[name=send]", json!({"text": "hi ann"})).await;
    assert_eq!(frame.error(), None);
    assert!(bob.has_element("#messages .text", Some("hi bob")), "{}", bob.html());
    // The push came before the answer: it was applied, and is kept.
    let push = bob.next_push(Duration::ZERO).await.expect("the kept push");
    assert_eq!(push.pushed_by(), Some("new_message"));
    assert!(push.is(PushKind::Diff) && !push.is(PushKind::Presence));
    // Ann gets Bob's message as a pushed diff.
    let push = ann
        .next_push_of(PushKind::Diff, Duration::from_secs(5))
        .await
        .expect("bob's message");
    assert_eq!(push.pushed_by(), Some("new_message"));
    assert!(ann.has_element("#messages .text", Some("hi ann")), "{}", ann.html());
}

#[tokio::test]
async fn navigate_and_push_navigate_move_the_test_page_to_the_other_page() {
    let app = app();
    let mut page = open(&app, "/navigation").await;
    page.click("button[name=increment]").await;
    assert!(page.has_element("#count", Some("1")), "{}", page.html());

    // An `lvt-navigate` link's frame: the other page's whole tree replaces the HTML.
    let frame = page.navigate("/navigation/details").await;
    assert_eq!(frame.error(), None, "{}", frame.text());
    assert!(frame.json().get("navigate").is_some(), "{}", frame.text());
    assert_eq!(page.url(), "/navigation/details");
    assert!(page.has_element("#details-title", Some("Details")), "{}", page.html());
    assert!(!page.has_element("#count", None));
    // The new page's buttons are checked against the new page's actions.
    page.click("button[name=ping]").await;
    assert!(page.has_element("#pings", Some("1")), "{}", page.html());
    let msg = panic_of(|| drop(page.click("button[name=increment]")));
    assert!(msg.contains("no element matches"), "{msg}");

    // `push_navigate` from an action: back home, with a flash and the persisted count.
    let frame = page.click("button[name=backHome]").await;
    assert_eq!(
        frame.json().get("navigate").and_then(Value::as_str),
        Some("/navigation"),
        "{}",
        frame.text()
    );
    assert!(frame.json().get("flash").is_some(), "{}", frame.text());
    assert_eq!(page.url(), "/navigation");
    assert!(page.has_element("#count", Some("1")), "{}", page.html());

    // A reconnect opens the page the test page is on now.
    page.reconnect().await.unwrap();
    assert!(page.has_element("#count", Some("1")), "{}", page.html());

    // A path outside the app: a redirect, and the page stays.
    let frame = page.navigate("/no-such-page").await;
    assert_eq!(
        frame.json().get("redirect").and_then(Value::as_str),
        Some("/no-such-page"),
        "{}",
        frame.text()
    );
    assert_eq!(page.url(), "/navigation");
}
