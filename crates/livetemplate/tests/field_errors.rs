//! Errors per field through the real wire format: `Err(FieldErrors)` fills the state's
//! `#[lvt(errors)]` field with the errors of the fields the user used (`_unused_*`), the reply
//! carries the diff and the message, `Ok` clears the errors of its data's fields, persisted
//! fields go back to their saved values while the others keep what the action set, a
//! component's errors field works the same, and a failed no-JS POST carries the page rendered
//! around the state the action left.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::GroupId;
use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
use serde_json::{Value, json};

#[derive(serde::Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Form {
    pub email: String,
    pub name: String,
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<form><input name="email" value="{{ form.email }}">{% if let Some(e) = errors.get("email") %}<em id="email">{{ e }}</em>{% endif %}<input name="name" value="{{ form.name }}">{% if let Some(e) = errors.get("name") %}<em id="name">{{ e }}</em>{% endif %}</form><p>{{ saves }}</p>"#,
    ext = "html"
)]
pub struct Signup {
    pub form: Form,
    #[lvt(errors)]
    pub errors: FieldErrors,
    #[lvt(persist)]
    pub saves: i64,
}

fn check(form: &Form) -> std::result::Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    if !form.email.contains('@') {
        errors.add("email", "must contain @");
    }
    if form.name.is_empty() {
        errors.add("name", "is required");
    }
    errors.check(())
}

pub struct Ctrl;

#[actions]
impl Ctrl {
    async fn validate(&self, s: &mut Signup, ctx: &mut Context) -> Result<()> {
        s.saves += 1;
        s.form = ctx.bind()?;
        check(&s.form)?;
        Ok(())
    }
    async fn click(&self, _s: &mut Signup, _ctx: &mut Context) -> Result<()> {
        Ok(())
    }
    /// Sets an error itself and succeeds: the error stays.
    async fn taken(&self, s: &mut Signup, _ctx: &mut Context) -> Result<()> {
        s.errors.add("email", "is taken");
        Ok(())
    }
    async fn used(&self, _s: &mut Signup, ctx: &mut Context) -> Result<()> {
        Err(Error::msg(format!(
            "email used: {}, name used: {}",
            ctx.used("email"),
            ctx.used("name")
        )))
    }
    async fn go_home(&self, _s: &mut Signup, ctx: &mut Context) -> Result<()> {
        ctx.push_patch("?")
    }
}

#[tokio::test]
async fn errors_show_for_used_fields_and_clear_on_success() {
    let mut page = TestPage::mount(Ctrl, Signup::default()).await.unwrap();
    // Email typed (bad), name untouched: only the email's error.
    let f = page
        .act("validate", json!({"email": "ada", "name": "", "_unused_name": ""}))
        .await;
    assert_eq!(f.error().as_deref(), Some("email: must contain @"), "{}", f.text());
    assert!(
        f.json().get("d").is_some(),
        "the diff comes with the error: {}",
        f.text()
    );
    let html = page.html();
    assert!(html.contains(r#"<em id="email">must contain @</em>"#), "{html}");
    assert!(!html.contains(r#"id="name""#), "{html}");
    assert!(html.contains(r#"value="ada""#), "the typed value is kept: {html}");
    assert!(
        html.contains("<p>0</p>"),
        "the persisted field is back to its saved value: {html}"
    );

    // `_unused_` keys never reach the action's data.
    let f = page
        .act("used", json!({"email": "", "_unused_email": "", "name": "x"}))
        .await;
    assert_eq!(f.error().as_deref(), Some("email used: false, name used: true"));

    // An unrelated action keeps the errors.
    page.act("click", Value::Null).await;
    assert!(page.html().contains(r#"<em id="email">"#));

    // Both used, both bad; then the email passes: its error goes, the name's stays.
    page.act("validate", json!({"email": "ada", "name": ""})).await;
    assert!(page.html().contains(r#"<em id="name">is required</em>"#));
    let f = page.act("validate", json!({"email": "ada@x", "name": ""})).await;
    assert_eq!(f.error().as_deref(), Some("name: is required"));
    let html = page.html();
    assert!(
        !html.contains(r#"<em id="email">"#) && html.contains(r#"<em id="name">"#),
        "{html}"
    );

    // Nothing used fails: no message, no error shown; still not saved.
    let f = page
        .act(
            "validate",
            json!({"email": "", "name": "", "_unused_email": "", "_unused_name": ""}),
        )
        .await;
    assert_eq!(f.error(), None, "{}", f.text());
    assert!(!page.html().contains("<em"), "{}", page.html());
    assert!(page.html().contains("<p>0</p>"));

    // Success: saved, errors of its fields gone.
    page.act("validate", json!({"email": "ada", "name": ""})).await;
    let f = page.act("validate", json!({"email": "ada@x", "name": "Ada"})).await;
    assert_eq!(f.error(), None);
    let html = page.html();
    assert!(!html.contains("<em"), "{html}");
    assert!(html.contains("<p>1</p>"), "{html}");

    // An action that sets an error itself and succeeds keeps it.
    page.act("taken", json!({"email": "ada@x"})).await;
    assert!(
        page.html().contains(r#"<em id="email">is taken</em>"#),
        "{}",
        page.html()
    );
}

#[tokio::test]
async fn push_patch_to_an_empty_query_is_the_page_path() {
    let mut page = TestPage::mount(Ctrl, Signup::default()).await.unwrap();
    let f = page.act("go_home", Value::Null).await;
    assert_eq!(f.json()["patch"], "/test", "{}", f.text());
}

/// Without an errors field: the message still lists only the used fields.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p lvt-error-message></p><p lvt-error-message>{{ 1 }}</p>", ext = "html")]
pub struct Plain {}

pub struct PlainCtrl;

#[actions]
impl PlainCtrl {
    async fn validate(&self, _s: &mut Plain, _ctx: &mut Context) -> Result<()> {
        let errors: FieldErrors = [("a", "bad a"), ("b", "bad b")].into_iter().collect();
        Err(errors.into())
    }
}

#[tokio::test]
async fn a_page_without_errors_field_gets_the_used_fields_message() {
    let mut page = TestPage::mount(PlainCtrl, Plain::default()).await.unwrap();
    let f = page.act("validate", json!({"a": "", "b": "", "_unused_b": ""})).await;
    assert_eq!(f.error().as_deref(), Some("a: bad a"));
    let f = page.act("validate", json!({"a": "", "b": ""})).await;
    assert_eq!(f.error().as_deref(), Some("a: bad a; b: bad b"));
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<form lvt-change="check"><input name="code" value="{{ code }}">{% if let Some(e) = errors.get("code") %}<em>{{ e }}</em>{% endif %}</form>"#,
    ext = "html"
)]
pub struct Coupon {
    pub code: String,
    #[lvt(errors)]
    pub errors: FieldErrors,
}

pub struct CouponComponent;

#[actions(component)]
impl CouponComponent {
    async fn update(&self, _state: &mut Coupon, _inputs: &String, _ctx: &mut Context) -> Result<()> {
        Ok(())
    }
    async fn check(&self, state: &mut Coupon, ctx: &mut Context) -> Result<()> {
        state.code = ctx.get_string("code");
        if state.code != "LIVE" {
            let mut errors = FieldErrors::new();
            errors.add("code", "unknown code");
            return Err(errors.into());
        }
        Ok(())
    }
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(
    source = r#"<div>{{ live_component::<CouponComponent>("c", String::new()) }}</div>"#,
    ext = "html"
)]
pub struct Shop {}

pub struct ShopCtrl;

#[actions]
impl ShopCtrl {}

#[tokio::test]
async fn a_components_errors_field_shows_its_errors() {
    let mut page = TestPage::mount(ShopCtrl, Shop::default()).await.unwrap();
    let f = page.act_on("c", "check", json!({"code": "nope"})).await;
    assert_eq!(f.error().as_deref(), Some("code: unknown code"), "{}", f.text());
    let html = page.html();
    assert!(
        html.contains("<em>unknown code</em>") && html.contains(r#"value="nope""#),
        "{html}"
    );
    let f = page.act_on("c", "check", json!({"code": "LIVE"})).await;
    assert_eq!(f.error(), None);
    assert!(!page.html().contains("<em>"), "{}", page.html());
    // Touched by nobody yet: nothing shown.
    let f = page
        .act_on("c", "check", json!({"code": "x", "_unused_code": ""}))
        .await;
    assert_eq!(f.error(), None);
    assert!(!page.html().contains("<em>"));
}

#[tokio::test]
async fn a_failed_post_carries_the_page_around_the_state_it_left() {
    let app = App::builder().page("/s", Ctrl, Signup::default()).build().unwrap();
    let req = livetemplate_core::Request {
        path: "/s".into(),
        query: String::new(),
        group: GroupId::random(),
    };
    let fields = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let err = app
        .post(&req, "validate", &fields(&[("email", "ada"), ("name", "")]))
        .await
        .unwrap_err();
    let page = err.failed_page().expect("the page rendered around the failed state");
    assert!(page.contains(r#"value="ada""#), "{page}");
    assert!(
        page.contains(r#"<em id="email">must contain @</em>"#) && page.contains(r#"<em id="name">"#),
        "{page}"
    );
    assert!(page.contains("<p>0</p>"), "nothing saved: {page}");
    assert!(err.shown_in_page());
    // Not a FieldErrors: the page, and the transport adds the banner.
    let err = app.post(&req, "used", &fields(&[("email", "a")])).await.unwrap_err();
    assert!(err.failed_page().is_some() && !err.shown_in_page());
    // Nothing was kept for the group.
    let html = app.render_page(&req, "/c.js").await.unwrap().unwrap();
    assert!(!html.contains("<em") && !html.contains(r#"value="ada""#), "{html}");
    let nav = app.post(&req, "go_home", &[]).await.unwrap();
    assert_eq!(nav.as_deref(), Some("/s"));
}

#[tokio::test]
async fn an_empty_error_message_element_is_hidden_in_the_servers_html() {
    let plain = Plain::default().render_html().unwrap();
    assert_eq!(plain, "<p lvt-error-message hidden></p><p lvt-error-message>1</p>");
    let page = TestPage::mount(PlainCtrl, Plain::default()).await.unwrap();
    assert_eq!(page.html(), plain, "the live tree and the plain render agree");
}

#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub sizes: Vec<String>,
}

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ tags.join(\",\") }}|{{ sizes.join(\",\") }}</p>", ext = "html")]
pub struct Tags {
    pub tags: Vec<String>,
    pub sizes: Vec<String>,
}

pub struct TagsCtrl;

#[actions]
impl TagsCtrl {
    async fn filter(&self, s: &mut Tags, ctx: &mut Context) -> Result<()> {
        let f: Filter = ctx.bind()?;
        s.tags = f.tags;
        s.sizes = f.sizes;
        Ok(())
    }
}

#[tokio::test]
async fn a_name_with_brackets_binds_as_a_list_even_of_one_on_both_paths() {
    // The live path: the browser client sends the name as it is.
    let mut page = TestPage::mount(TagsCtrl, Tags::default()).await.unwrap();
    let f = page
        .act("filter", json!({"tags[]": "red", "sizes[]": "M", "_unused_tags[]": ""}))
        .await;
    assert_eq!(f.error(), None, "{}", f.text());
    assert_eq!(page.html(), "<p>red|M</p>");
    // Without `[]`, one value is a string, which a `Vec` does not take.
    let f = page.act("filter", json!({"sizes": "M"})).await;
    assert!(f.error().unwrap().contains("invalid type: string"), "{}", f.text());
    page.act("filter", json!({"tags[]": ["red", "blue"], "sizes": ["S", "M"]}))
        .await;
    assert_eq!(page.html(), "<p>red,blue|S,M</p>");
    // The no-JS path.
    let app = App::builder().page("/t", TagsCtrl, Tags::default()).build().unwrap();
    let req = livetemplate_core::Request {
        path: "/t".into(),
        query: String::new(),
        group: GroupId::random(),
    };
    let fields = vec![
        ("tags[]".to_string(), "red".to_string()),
        ("sizes[]".to_string(), "L".to_string()),
    ];
    app.post(&req, "filter", &fields).await.unwrap();
    let html = app.render_page(&req, "/c.js").await.unwrap().unwrap();
    assert!(html.contains("<p>red|L</p>"), "{html}");
}
