impl AboutCtl {}
const _: () = {
    use ::lt::__private as __lvt;
    impl __lvt::Controller for AboutCtl {
        type State = About;
        fn action_names(&self) -> &'static [&'static str] {
            &[]
        }
        fn server_actions(&self) -> &'static [&'static str] {
            &[]
        }
        fn call<'a>(
            &'a self,
            name: &'a str,
            state: &'a mut About,
            ctx: &'a mut __lvt::Context,
        ) -> __lvt::BoxFuture<'a, __lvt::Result<()>> {
            match name {
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
