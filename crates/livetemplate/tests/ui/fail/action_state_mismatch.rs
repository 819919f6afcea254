use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ count }}</p>", ext = "html")]
pub struct Counter {
    pub count: i64,
}

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ name }}</p>", ext = "html")]
pub struct Other {
    pub name: String,
}

pub struct CounterController;

#[actions]
impl CounterController {
    async fn increment(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        Ok(())
    }

    async fn rename(&self, state: &mut Other, _ctx: &mut Context) -> Result<()> {
        state.name.clear();
        Ok(())
    }
}

fn main() {}
