use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ a.len() }} {{ b.len() }}</p>", ext = "html")]
pub struct Twice {
    #[lvt(errors)]
    pub a: FieldErrors,
    #[lvt(errors)]
    pub b: FieldErrors,
}

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ a.len() }}</p>", ext = "html")]
pub struct Persisted {
    #[lvt(persist, errors)]
    pub a: FieldErrors,
}

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ a }}</p>", ext = "html")]
pub struct WrongType {
    #[lvt(errors)]
    pub a: String,
}

fn main() {}
