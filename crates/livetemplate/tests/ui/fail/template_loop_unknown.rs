use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_loop_unknown.html")]
pub struct Todos {
    pub items: Vec<String>,
}

fn main() {}
