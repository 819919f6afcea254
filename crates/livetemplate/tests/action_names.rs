//! The derive and the runtime name actions by one rule (`livetemplate_contract`): the names
//! `#[actions]` generates from method names are the runtime's normalisation of them, and
//! every spelling a browser may send reaches the same action. Also a read-only page
//! (`#[actions(state = …)]` on an empty impl) mounts and renders.

#![allow(clippy::unwrap_used)]
#![allow(missing_docs, missing_debug_implementations, non_snake_case)]

use livetemplate::prelude::*;
use livetemplate::testing::TestPage;

#[derive(LiveState, Clone, Debug, Default)]
#[lvt(source = "<p>{{ notes }} {{ temp }}</p>", ext = "html")]
pub struct Page {
    pub notes: i64,
    pub temp: i64,
}

pub struct Ctrl;

#[actions]
impl Ctrl {
    async fn saveNotes(&self, s: &mut Page, _ctx: &mut Context) -> Result<()> {
        s.notes += 1;
        Ok(())
    }

    async fn HTTPTempUp(&self, s: &mut Page, _ctx: &mut Context) -> Result<()> {
        s.temp += 1;
        Ok(())
    }
}

#[test]
fn derive_names_are_the_runtime_rule() {
    let names = livetemplate::Controller::action_names(&Ctrl);
    assert_eq!(
        names,
        &[
            livetemplate_core::state::normalize_action("saveNotes").as_str(),
            livetemplate_core::state::normalize_action("HTTPTempUp").as_str()
        ]
    );
    assert_eq!(names, &["save_notes", "http_temp_up"]);
}

#[tokio::test]
async fn every_spelling_reaches_the_action() {
    let mut page = TestPage::mount(Ctrl, Page::default()).await.unwrap();
    let spellings = [
        "saveNotes",
        "save-notes",
        "save notes",
        "save.notes",
        "save_notes",
        "SaveNotes",
    ];
    for (i, name) in spellings.iter().enumerate() {
        let f = page.act(name, serde_json::Value::Null).await;
        assert!(f.error().is_none(), "{name}: {}", f.text());
        assert_eq!(page.html(), format!("<p>{} 0</p>", i + 1), "{name}");
    }
    for name in ["httpTempUp", "http-temp-up", "http.temp.up", "HTTPTempUp"] {
        let f = page.act(name, serde_json::Value::Null).await;
        assert!(f.error().is_none(), "{name}: {}", f.text());
    }
    assert_eq!(page.html(), "<p>6 4</p>");
}

pub struct About;

#[actions(state = Page)]
impl About {}

#[tokio::test]
async fn a_read_only_page_mounts() {
    let mut page = TestPage::mount(About, Page { notes: 2, temp: 3 }).await.unwrap();
    assert_eq!(page.html(), "<p>2 3</p>");
    let f = page.act("save_notes", serde_json::Value::Null).await;
    assert!(f.error().is_some(), "a read-only page has no action: {}", f.text());
}
