use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_missing_include.html")]
pub struct Page {
    pub n: i64,
}

fn main() {}
