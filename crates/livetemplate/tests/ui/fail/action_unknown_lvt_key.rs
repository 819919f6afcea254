use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ count }}</p>", ext = "html")]
pub struct Counter {
    pub count: i64,
}

pub struct CounterController;

#[actions]
impl CounterController {
    #[lvt(hidden)]
    async fn tick(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        Ok(())
    }

    #[lvt(server)]
    async fn mount(&self, _state: &mut Counter, _ctx: &mut Context) -> Result<()> {
        Ok(())
    }
}

fn main() {}
