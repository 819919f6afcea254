use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<h1>{{ title|shout }}</h1>", ext = "html")]
pub struct Page {
    pub title: String,
}

fn main() {}
