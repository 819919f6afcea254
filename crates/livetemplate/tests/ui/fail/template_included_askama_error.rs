use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_include_bad.html")]
pub struct Page {
    pub title: String,
}

fn main() {}
