//! `#[actions] impl About {}`, with no action, no hook and no `state = ...`: a read-only page
//! whose state type comes from the initial state given to `page` or `TestPage::mount`.

use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<h1>{{ title }}</h1>", ext = "html")]
pub struct AboutState {
    pub title: String,
}

pub struct About;

#[actions]
impl About {}

/// A generic read-only page, with a helper method that is not an action.
pub struct Static<T>(T);

#[actions]
impl<T: Send + Sync + 'static> Static<T> {
    fn helper(&self) -> &T {
        &self.0
    }
}

fn main() {
    let app = App::builder()
        .page("/about", About, AboutState::default())
        .page("/static", Static(1u8), AboutState { title: "s".into() })
        .build()
        .unwrap();
    assert!(app.route("/about").is_some());
    assert!(app.route("/static").is_some());
    assert_eq!(*Static(2u8).helper(), 2);
    let _ = livetemplate::testing::TestPage::mount(About, AboutState::default());
}
