use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ self.0 }}</p>", ext = "html")]
pub struct Counter(i64);

fn main() {}
