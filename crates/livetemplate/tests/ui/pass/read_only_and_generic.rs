use livetemplate::prelude::*;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ text }}</p>", ext = "html")]
pub struct About {
    pub text: String,
}

/// A read-only page: no action, no hook.
pub struct AboutCtl;

#[actions(state = About)]
impl AboutCtl {}

/// A generic controller.
pub struct Setter<S>(std::marker::PhantomData<fn() -> S>);

pub trait HasText {
    fn set_text(&mut self, text: String);
}

impl HasText for About {
    fn set_text(&mut self, text: String) {
        self.text = text;
    }
}

#[actions]
impl<S: LiveState + HasText> Setter<S> {
    async fn set_text(&self, state: &mut S, ctx: &mut Context) -> Result<()> {
        state.set_text(ctx.get_string("text"));
        Ok(())
    }
}

fn main() {
    assert!(livetemplate::Controller::action_names(&AboutCtl).is_empty());
    let setter = Setter::<About>(std::marker::PhantomData);
    assert_eq!(livetemplate::Controller::action_names(&setter), &["set_text"]);
}
