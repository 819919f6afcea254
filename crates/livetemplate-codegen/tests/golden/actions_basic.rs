impl Ctl {
    async fn mount(&self, s: &mut S, ctx: &mut Context) -> Result<()> {
        Ok(())
    }
    async fn saveNotes(&self, s: &mut S, ctx: &mut Context) -> Result<()> {
        Ok(())
    }
    async fn tick(&self, s: &mut S, ctx: &mut Context) -> Result<()> {
        Ok(())
    }
    fn helper(&self) -> u8 {
        1
    }
}
const _: () = {
    use ::livetemplate::__private as __lvt;
    impl __lvt::Controller for Ctl {
        type State = S;
        fn action_names(&self) -> &'static [&'static str] {
            &["save_notes", "tick"]
        }
        fn server_actions(&self) -> &'static [&'static str] {
            &["tick"]
        }
        fn call<'a>(
            &'a self,
            name: &'a str,
            state: &'a mut S,
            ctx: &'a mut __lvt::Context,
        ) -> __lvt::BoxFuture<'a, __lvt::Result<()>> {
            match name {
                "save_notes" => {
                    ::std::boxed::Box::pin(<Ctl>::saveNotes(self, state, ctx))
                }
                "tick" => ::std::boxed::Box::pin(<Ctl>::tick(self, state, ctx)),
                _ => {
                    let known = <Self as __lvt::Controller>::action_names(self);
                    let err = __lvt::unknown_action(name, ctx.page(), known);
                    ::std::boxed::Box::pin(async move {
                        ::core::result::Result::Err(err)
                    })
                }
            }
        }
        fn mount<'a>(
            &'a self,
            state: &'a mut S,
            ctx: &'a mut __lvt::Context,
        ) -> __lvt::BoxFuture<'a, __lvt::Result<()>> {
            ::std::boxed::Box::pin(<Ctl>::mount(self, state, ctx))
        }
    }
};
