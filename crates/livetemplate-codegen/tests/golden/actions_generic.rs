impl<S: LiveState + Default> Ctl<S>
where
    S: Clone,
{
    async fn reset(&self, s: &mut S, ctx: &mut Context) -> Result<()> {
        *s = S::default();
        Ok(())
    }
}
const _: () = {
    use ::livetemplate::__private as __lvt;
    impl<S: LiveState + Default> __lvt::Controller for Ctl<S>
    where
        S: Clone,
    {
        type State = S;
        fn action_names(&self) -> &'static [&'static str] {
            &["reset"]
        }
        fn server_actions(&self) -> &'static [&'static str] {
            &[]
        }
        fn call<'a>(
            &'a self,
            name: &'a str,
            state: &'a mut S,
            ctx: &'a mut __lvt::Context,
        ) -> __lvt::BoxFuture<'a, __lvt::Result<()>> {
            match name {
                "reset" => ::std::boxed::Box::pin(<Ctl<S>>::reset(self, state, ctx)),
                _ => {
                    let known = <Self as __lvt::Controller>::action_names(self);
                    let err = __lvt::unknown_action(name, ctx.page(), known);
                    ::std::boxed::Box::pin(async move {
                        ::core::result::Result::Err(err)
                    })
                }
            }
        }
    }
};
