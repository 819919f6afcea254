use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_self_typo.html")]
pub struct Page {
    pub title: String,
}

fn main() {}
