use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<ul>{% for x in n %}<li>{{ x }}</li>{% endfor %}</ul>", ext = "html")]
pub struct Counter {
    pub n: i64,
}

fn main() {}
