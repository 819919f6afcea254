use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(template = "no_such_page.html")]
pub struct Counter {
    pub count: i64,
}

fn main() {}
