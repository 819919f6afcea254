impl CounterComponent {
    async fn update(
        &self,
        s: &mut Counter,
        inputs: &CounterInputs,
        ctx: &mut Context,
    ) -> Result<()> {
        Ok(())
    }
    async fn inc(&self, s: &mut Counter, ctx: &mut Context) -> Result<()> {
        Ok(())
    }
}
const _: () = {
    use ::livetemplate::__private as __lvt;
    impl __lvt::Controller for CounterComponent {
        type State = Counter;
        fn action_names(&self) -> &'static [&'static str] {
            &["inc"]
        }
        fn server_actions(&self) -> &'static [&'static str] {
            &[]
        }
        fn call<'a>(
            &'a self,
            name: &'a str,
            state: &'a mut Counter,
            ctx: &'a mut __lvt::Context,
        ) -> __lvt::BoxFuture<'a, __lvt::Result<()>> {
            match name {
                "inc" => {
                    ::std::boxed::Box::pin(<CounterComponent>::inc(self, state, ctx))
                }
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
    const _: fn() = __lvt::component_state::<Counter>;
    impl __lvt::Component for CounterComponent {
        type Inputs = CounterInputs;
        fn create() -> Self {
            Self
        }
        fn update<'a>(
            &'a self,
            state: &'a mut Counter,
            inputs: &'a CounterInputs,
            ctx: &'a mut __lvt::Context,
        ) -> __lvt::BoxFuture<'a, __lvt::Result<()>> {
            ::std::boxed::Box::pin(<CounterComponent>::update(self, state, inputs, ctx))
        }
    }
};
