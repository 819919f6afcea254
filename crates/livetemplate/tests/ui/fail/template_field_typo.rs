use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_typo.html")]
pub struct Todos {
    pub title: String,
    pub items: Vec<String>,
}

fn main() {}
