use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ n }}</p>\n{% call forms::field(n) %}{% endcall %}", ext = "html")]
pub struct Page {
    pub n: i64,
}

fn main() {}
