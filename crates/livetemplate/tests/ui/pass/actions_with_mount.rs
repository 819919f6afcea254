use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use livetemplate_core::Controller;
use livetemplate::prelude::*;
use serde::de::value::MapDeserializer;

#[derive(LiveState, Clone, Default)]
#[lvt(source = "<p>{{ count }} {{ notes }}</p>", ext = "html")]
pub struct Counter {
    #[lvt(persist)]
    pub count: i64,
    pub notes: String,
}

pub struct CounterController {
    start: i64,
}

#[actions]
impl CounterController {
    async fn mount(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
        state.count = self.start;
        Ok(())
    }

    async fn increment(&self, state: &mut Counter, _ctx: &mut Context) -> Result<()> {
        state.count += 1;
        Ok(())
    }

    #[allow(non_snake_case)]
    async fn saveNotes(&self, state: &mut Counter, ctx: &mut Context) -> Result<()> {
        state.notes = ctx.get_string("notes");
        Ok(())
    }

    // Not async: an ordinary method, not an action.
    fn helper(&self) -> i64 {
        self.start
    }
}

/// The actions here never wait, so polling with a no-op waker finishes them.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// A JSON object of string fields, built through serde (this crate has no serde_json).
fn object<T: serde::de::DeserializeOwned>(pairs: &[(&'static str, &'static str)]) -> T {
    let de = MapDeserializer::<_, serde::de::value::Error>::new(pairs.iter().copied());
    T::deserialize(de).expect("a JSON object")
}

fn main() {
    let controller = CounterController { start: 10 };
    assert_eq!(controller.helper(), 10);
    // `mount` is a hook, not an action; `saveNotes` is called `save_notes`.
    assert_eq!(controller.action_names(), &["increment", "save_notes"]);

    let mut state = Counter::default();
    let mut ctx = Context::for_test(Default::default());
    block_on(controller.mount(&mut state, &mut ctx)).unwrap();
    assert_eq!(state.count, 10);
    block_on(controller.call("increment", &mut state, &mut ctx)).unwrap();
    assert_eq!(state.count, 11);

    let mut ctx = Context::for_test(object(&[("notes", "buy milk")]));
    block_on(controller.call("save_notes", &mut state, &mut ctx)).unwrap();
    assert_eq!(state.notes, "buy milk");
    assert_eq!(state.render_html().unwrap(), "<p>11 buy milk</p>");

    let err = block_on(controller.call("mount", &mut state, &mut ctx)).unwrap_err();
    assert!(
        err.is_unknown_action(),
        "a hook must not be callable as an action: {err}"
    );
    assert!(err.to_string().contains("increment"), "{err}");
}
