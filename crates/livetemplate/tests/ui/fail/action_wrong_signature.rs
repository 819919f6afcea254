use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ count }}</p>", ext = "html")]
pub struct Counter {
    pub count: i64,
}

pub struct CounterController;

#[actions]
impl CounterController {
    async fn increment(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        Ok(())
    }

    async fn reset(&self, state: &mut Counter) -> Result<()> {
        state.count = 0;
        Ok(())
    }
}

fn main() {}
