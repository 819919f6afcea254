use livetemplate::prelude::*;

fn upgrade(old: serde_json::Value, _from: u32) -> Result<i64, String> {
    old.as_i64().ok_or_else(|| "not a number".to_string())
}

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ a }} {{ b }} {{ c }} {{ d }}</p>", ext = "html")]
pub struct Counter {
    #[lvt(persist(versoin = 2))]
    pub a: i64,
    #[lvt(persist(version = 2))]
    pub b: i64,
    #[lvt(persist(migrate = upgrade))]
    pub c: i64,
    #[lvt(persist(version = 0, migrate = upgrade))]
    pub d: i64,
}

fn main() {}
