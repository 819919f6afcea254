//! Two versions of one page for the quarantine tests: `code` stored as a string, then
//! retyped to a number (which no automatic rule can map).

pub mod code1 {
    use livetemplate::prelude::*;

    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(source = "<p>{{ code }}</p>", ext = "html")]
    pub struct Code {
        #[lvt(persist)]
        pub code: String,
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn set(&self, state: &mut Code, ctx: &mut Context) -> Result<()> {
            state.code = ctx.get_string("code");
            Ok(())
        }
    }
}

pub mod code2 {
    use livetemplate::prelude::*;

    /// `code` is a number now: a stored string cannot become one without help.
    #[derive(LiveState, Clone, Debug, Default)]
    #[lvt(source = "<p>{{ code }} {{ clicks }}</p>", ext = "html")]
    pub struct Code {
        #[lvt(persist)]
        pub code: u64,
        pub clicks: u32,
    }

    #[derive(Debug)]
    pub struct Ctl;

    #[actions]
    impl Ctl {
        async fn set(&self, state: &mut Code, ctx: &mut Context) -> Result<()> {
            state.code = ctx.get_int("code") as u64;
            Ok(())
        }
        async fn click(&self, state: &mut Code, _ctx: &mut Context) -> Result<()> {
            state.clicks += 1;
            Ok(())
        }
    }
}
