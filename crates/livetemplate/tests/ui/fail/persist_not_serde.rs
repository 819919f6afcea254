use livetemplate::prelude::*;

#[derive(Clone, Default)]
pub struct Opaque(u8);

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ count }}</p>", ext = "html")]
pub struct Counter {
    pub count: i64,
    #[lvt(persist)]
    pub opaque: Opaque,
}

fn main() {}
