use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ count }}</p>", ext = "html")]
pub struct Counter {
    #[lvt(persistent)]
    pub count: i64,
}

fn main() {}
