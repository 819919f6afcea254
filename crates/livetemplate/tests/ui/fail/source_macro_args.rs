use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(
    source = "{% macro badge(label, count) %}<b>{{ label }}: {{ count }}</b>{% endmacro %}\n<p>{{ badge(title) }}</p>",
    ext = "html"
)]
pub struct Page {
    pub title: String,
}

fn main() {}
