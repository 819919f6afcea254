use livetemplate::prelude::*;

#[derive(LiveState, Clone)]
#[lvt(source = "<p>{{ count }}</p>", ext = "html")]
pub struct Counter {
    pub count: i64,
}

pub struct CounterComponent;

#[actions(component)]
impl CounterComponent {
    async fn inc(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        Ok(())
    }
}

fn main() {}
