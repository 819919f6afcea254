use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ count }}</p>", ext = "html")]
pub struct Counter {
    pub count: i64,
}

pub struct CounterController;

#[actions]
impl CounterController {
    async fn increment(&self, state: &mut Counter, _ctx: &mut Context) -> std::result::Result<(), String> {
        state.count += 1;
        Ok(())
    }
}

fn main() {}
