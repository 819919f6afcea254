use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ label }}</p>", ext = "html")]
pub struct Counter {
    pub label: String,
}

pub struct CounterComponent;

#[actions(component)]
impl CounterComponent {
    // The inputs must be taken by reference, between the state and the context.
    async fn update(&self, state: &mut Counter, ctx: &mut Context) -> Result<()> {
        state.label = ctx.get_string("label");
        Ok(())
    }
}

fn main() {}
