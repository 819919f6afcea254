use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_unclosed.html")]
pub struct List {
    pub items: Vec<String>,
}

fn main() {}
