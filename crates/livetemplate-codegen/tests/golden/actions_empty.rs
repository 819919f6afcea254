impl About {}
const _: () = {
    use ::livetemplate::__private as __lvt;
    impl<__LvtState: __lvt::LiveState> __lvt::IntoController<__LvtState> for About
    where
        About: ::core::marker::Send + ::core::marker::Sync + 'static,
    {
        type Controller = __lvt::ReadOnly<Self, __LvtState>;
        fn into_controller(self) -> Self::Controller {
            __lvt::ReadOnly::new(self)
        }
    }
};
