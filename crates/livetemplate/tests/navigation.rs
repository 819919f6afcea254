//! Actions that send the browser elsewhere or push events to client hooks.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;
use serde_json::{Value, json};

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ page }}</p>", ext = "html")]
pub struct Pager {
    pub page: i64,
}

pub struct Ctrl;

#[actions]
impl Ctrl {
    async fn next(&self, s: &mut Pager, ctx: &mut Context) -> Result<()> {
        s.page += 1;
        ctx.push_patch(format!("?page={}", s.page))?;
        ctx.push_event("paged", json!({"page": s.page}))?;
        Ok(())
    }
    async fn logout(&self, _s: &mut Pager, ctx: &mut Context) -> Result<()> {
        ctx.redirect("/login")
    }
    async fn evil(&self, _s: &mut Pager, ctx: &mut Context) -> Result<()> {
        ctx.redirect(ctx.get_string("to"))
    }
    async fn ping(&self, _s: &mut Pager, ctx: &mut Context) -> Result<()> {
        ctx.push_event("pong", ())
    }
}

#[tokio::test]
async fn patch_redirect_and_events_ride_on_the_reply() {
    let mut page = TestPage::mount(Ctrl, Pager::default()).await.unwrap();
    let f = page.act("next", Value::Null).await;
    assert_eq!(
        f.text(),
        r#"{"r":1,"d":{"0":"1"},"patch":"?page=1","events":[["paged",{"page":1}]]}"#
    );
    let f = page.act("ping", Value::Null).await;
    assert_eq!(f.text(), r#"{"r":2,"events":[["pong",null]]}"#);
    let f = page.act("logout", Value::Null).await;
    assert_eq!(f.text(), r#"{"r":3,"redirect":"/login"}"#);
    for bad in [
        "javascript:alert(1)",
        "//evil.example",
        "data:text/html,x",
        "/ok\nSet-Cookie: x",
    ] {
        let f = page.act("evil", json!({ "to": bad })).await;
        assert!(f.error().unwrap().contains("refusing"), "{bad}: {}", f.text());
    }
    assert_eq!(page.html(), "<p>1</p>");
}

/// A page that reads its state from the URL: `?page=` in `mount`, and `push_patch` as the
/// user pages.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ page }} {{ seen }}</p>", ext = "html")]
pub struct Paged {
    pub page: i64,
    /// What the last action read from `ctx.query()`.
    pub seen: String,
}

pub struct PagedCtrl;

#[actions]
impl PagedCtrl {
    async fn mount(&self, s: &mut Paged, ctx: &mut Context) -> Result<()> {
        s.page = ctx.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        s.seen = ctx.query().to_string();
        Ok(())
    }
    async fn next(&self, s: &mut Paged, ctx: &mut Context) -> Result<()> {
        s.seen = ctx.query().to_string();
        s.page += 1;
        ctx.push_patch(format!("?page={}&sort=a+b", s.page))
    }
    async fn look(&self, s: &mut Paged, ctx: &mut Context) -> Result<()> {
        s.seen = format!("{:?}", ctx.param("sort"));
        Ok(())
    }
}

#[tokio::test]
async fn the_url_query_reaches_mount_and_actions_and_follows_patches() {
    let app = std::sync::Arc::new(
        App::builder()
            .page("/items", PagedCtrl, Paged::default())
            .build()
            .unwrap(),
    );
    let group = livetemplate::GroupId::random();
    let mut page = TestPage::connect(app.clone(), "/items?page=4", group.clone())
        .await
        .unwrap();
    assert_eq!(page.html(), "<p>4 page=4</p>");
    page.act("next", Value::Null).await;
    assert_eq!(page.html(), "<p>5 page=4</p>");
    // Later actions see the patched URL.
    page.act("look", Value::Null).await;
    assert_eq!(page.html(), "<p>5 Some(&#34;a b&#34;)</p>");
    // A reload or reconnect opens the patched URL: mount reads it.
    page.reconnect().await.unwrap();
    assert_eq!(page.html(), "<p>5 page=5&#38;sort=a+b</p>");
    // A plain GET of another URL of the page renders that one.
    let other = TestPage::connect(app, "/items?page=9", group).await.unwrap();
    assert_eq!(other.html(), "<p>9 page=9</p>");
}
