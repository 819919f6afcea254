use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(
    source = "<ul>\n{% for t in items %}\n<li>{{ loop.revindex }}</li>\n{% endfor %}\n</ul>",
    ext = "html"
)]
pub struct Todos {
    pub items: Vec<String>,
}

fn main() {}
