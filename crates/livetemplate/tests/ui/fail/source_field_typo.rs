use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ count }}</p>\n<p>{{ cuont }}</p>", ext = "html")]
pub struct Counter {
    pub count: i64,
}

fn main() {}
