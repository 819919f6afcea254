use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
pub struct Counter {
    pub count: i64,
}

fn main() {}
