use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_nosuch_macro.html")]
pub struct Page {
    pub title: String,
}

fn main() {}
