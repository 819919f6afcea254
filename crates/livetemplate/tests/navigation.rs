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
