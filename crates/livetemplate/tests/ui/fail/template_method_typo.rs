use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>\n{{ self.dubble() }}</p>", ext = "html")]
pub struct Todos {
    pub items: Vec<String>,
    pub n: i64,
}

impl Todos {
    pub fn double(&self) -> i64 {
        self.n * 2
    }
}

fn main() {}
