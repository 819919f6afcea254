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

    /// Only a background task may run this.
    #[lvt(server)]
    async fn tick(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
        state.count += 10;
        Ok(())
    }
}

fn main() {
    let c = CounterController;
    assert_eq!(livetemplate::Controller::action_names(&c), &["increment", "tick"]);
    assert_eq!(livetemplate::Controller::server_actions(&c), &["tick"]);
}
