use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_import_member.html")]
pub struct Page {
    pub title: String,
}

fn main() {}
