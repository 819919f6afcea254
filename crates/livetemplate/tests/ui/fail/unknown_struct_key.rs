use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ count }}</p>", ext = "html", templte = "counter.html")]
pub struct Counter {
    pub count: i64,
}

fn main() {}
