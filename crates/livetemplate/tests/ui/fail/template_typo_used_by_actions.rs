use livetemplate::prelude::*;

// A template mistake is the only error: the state's uses (`#[actions]`) add none.
#[derive(LiveState, Clone, Default)]
#[lvt(template = "ui_typo.html")]
pub struct Todos {
    pub title: String,
    pub items: Vec<String>,
}

pub struct TodosController;

#[actions]
impl TodosController {
    async fn clear(&self, state: &mut Todos, _ctx: &mut Context) -> Result<()> {
        state.items.clear();
        Ok(())
    }
}

fn main() {}
