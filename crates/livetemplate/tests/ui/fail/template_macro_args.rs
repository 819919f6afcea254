use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_macro_args.html")]
pub struct Page {
    pub title: String,
}

fn main() {}
