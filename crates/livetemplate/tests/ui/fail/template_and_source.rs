use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_todos.html", source = "<p>{{ count }}</p>")]
pub struct Counter {
    pub count: i64,
}

fn main() {}
