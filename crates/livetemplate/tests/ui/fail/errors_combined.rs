use livetemplate::prelude::*;

// Every attribute mistake is reported at once, not one per build.
#[derive(LiveState, Clone, Default)]
#[lvt(sauce = "<p>{{ count }}</p>")]
pub struct Counter {
    #[lvt(persits)]
    pub count: i64,
    #[lvt(skip)]
    pub other: i64,
}

fn main() {}
