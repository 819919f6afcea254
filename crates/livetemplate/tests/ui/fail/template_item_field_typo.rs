use livetemplate::prelude::*;

pub struct Todo {
    pub text: String,
}

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<ul>{% for t in items %}<li>{{ t.txet }}</li>{% endfor %}</ul>", ext = "html")]
pub struct Todos {
    pub items: std::sync::Arc<Vec<Todo>>,
}

fn main() {}
