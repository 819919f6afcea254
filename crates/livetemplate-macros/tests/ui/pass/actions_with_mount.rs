use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use livetemplate::prelude::*;

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

/// The in-process test page never waits on I/O, so polling with a no-op waker finishes it.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn main() {
    use livetemplate::core::Controller;

    let controller = CounterController { start: 10 };
    assert_eq!(controller.helper(), 10);
    // `mount` is a hook, not an action; `saveNotes` is called `save_notes`.
    assert_eq!(controller.action_names(), &["increment", "save_notes"]);

    block_on(async {
        let mut page = TestPage::mount(controller, Counter::default())
            .await
            .unwrap();
        assert_eq!(page.html(), "<p>10 </p>");
        let frame = page.act("increment", Default::default()).await;
        assert!(frame.error().is_none(), "{}", frame.text());
        assert_eq!(page.html(), "<p>11 </p>");
        let frame = page.act("mount", Default::default()).await;
        assert!(
            frame.error().is_some(),
            "a hook must not be callable: {}",
            frame.text()
        );
    });
}
