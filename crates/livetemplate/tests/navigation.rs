//! Actions that send the browser elsewhere or push events to client hooks.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations)]

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;
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
        r#"{"r":1,"d":{"0":1},"patch":"?page=1","events":[["paged",{"page":1}]]}"#
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

/// A page whose state follows its URL through `handle_params`: after mount, on `lvt-patch`
/// links, back/forward (`TestPage::patch`), and on an action's `push_patch`.
#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ page }}/{{ calls }}</p>", ext = "html")]
pub struct Params {
    pub page: i64,
    /// How many times handle_params ran on this view.
    pub calls: i64,
}

pub struct ParamsCtrl;

#[actions]
impl ParamsCtrl {
    async fn handle_params(&self, s: &mut Params, ctx: &mut Context) -> Result<()> {
        s.calls += 1;
        match ctx.param("page").map(|p| p.parse::<i64>()) {
            None => s.page = 1,
            Some(Ok(p)) if p > 0 => s.page = p,
            Some(_) => return Err(Error::msg("no such page")),
        }
        Ok(())
    }
    async fn last(&self, _s: &mut Params, ctx: &mut Context) -> Result<()> {
        ctx.push_patch("?page=99")
    }
}

#[tokio::test]
async fn handle_params_follows_the_url() {
    let app = std::sync::Arc::new(
        App::builder()
            .page("/list", ParamsCtrl, Params::default())
            .build()
            .unwrap(),
    );
    let mut page = TestPage::connect(app, "/list?page=3", livetemplate::GroupId::random())
        .await
        .unwrap();
    assert_eq!(page.html(), "<p>3/1</p>", "after mount");
    // An lvt-patch link: no new connection, the state follows, only the change is sent.
    let f = page.patch("?page=4").await;
    assert_eq!(f.text(), r#"{"r":1,"d":{"0":4,"1":2}}"#);
    assert_eq!(page.url(), "/list?page=4");
    // Back to the first URL.
    page.patch("/list?page=3").await;
    assert_eq!(page.html(), "<p>3/3</p>");
    // An action's push_patch runs handle_params for the new URL in the same step.
    let f = page.act("last", Value::Null).await;
    assert_eq!(f.text(), r#"{"r":3,"d":{"0":99,"1":4},"patch":"?page=99"}"#);
    assert_eq!(page.url(), "/list?page=99");
    // A failing handle_params leaves the state as it was and reports the error.
    let f = page.patch("?page=x").await;
    assert_eq!(f.error().as_deref(), Some("no such page"));
    assert_eq!(page.html(), "<p>99/4</p>");
    // A new connection (a reload) runs it after mount, for the URL in the address bar.
    page.patch("?page=7").await;
    page.reconnect().await.unwrap();
    assert_eq!(page.html(), "<p>7/1</p>");
    // A URL it refuses fails the page's mount, as any mount error does.
    let app = page.app().clone();
    let err = TestPage::connect(app, "/list?page=x", livetemplate::GroupId::random()).await;
    assert!(err.is_err());
}
