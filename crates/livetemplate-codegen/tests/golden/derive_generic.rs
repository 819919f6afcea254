const _: () = {
    use ::livetemplate::__private as __lvt;
    #[derive(__lvt::askama::Template)]
    #[template(
        source = "<p>{{ self.__lvt_m(1)|safe }}{{ tag.label() }}{{ self.__lvt_m(2)|safe }} {{ self.__lvt_m(1)|safe }}{{ Tagged::<T>::kind() }}{{ self.__lvt_m(2)|safe }}</p>",
        ext = "html",
        askama = __lvt::askama
    )]
    struct __LvtMarkedTagged<'a, T: Label>
    where
        T: Clone,
    {
        __lvt_state: &'a Tagged<T>,
        __lvt_cell: &'a __lvt::MarkQueue,
    }
    impl<'a, T: Label> ::core::ops::Deref for __LvtMarkedTagged<'a, T>
    where
        T: Clone,
    {
        type Target = Tagged<T>;
        fn deref(&self) -> &Tagged<T> {
            self.__lvt_state
        }
    }
    impl<'a, T: Label> __LvtMarkedTagged<'a, T>
    where
        T: Clone,
    {
        #[inline]
        fn __lvt_m(&self, code: u32) -> __lvt::Mark<'a> {
            __lvt::Mark::new(self.__lvt_cell, code)
        }
    }
    #[derive(__lvt::askama::Template)]
    #[template(
        source = "<p>{{ tag.label() }} {{ Tagged::<T>::kind() }}</p>",
        ext = "html",
        askama = __lvt::askama
    )]
    struct __LvtPlainTagged<'a, T: Label>
    where
        T: Clone,
    {
        __lvt_state: &'a Tagged<T>,
    }
    impl<'a, T: Label> ::core::ops::Deref for __LvtPlainTagged<'a, T>
    where
        T: Clone,
    {
        type Target = Tagged<T>;
        fn deref(&self) -> &Tagged<T> {
            self.__lvt_state
        }
    }
    impl<T: Label> __lvt::LiveState for Tagged<T>
    where
        T: Clone,
    {
        fn render_tree(&self) -> __lvt::Result<__lvt::Tree> {
            let cell = __lvt::MarkQueue::new();
            let marked = __LvtMarkedTagged {
                __lvt_state: self,
                __lvt_cell: &cell,
            };
            let mut sink = __lvt::TreeSink::new(&cell);
            __lvt::askama::Template::render_into(&marked, &mut sink)?;
            sink.finish()
        }
        fn render_html(&self) -> __lvt::Result<::std::string::String> {
            let plain = __LvtPlainTagged {
                __lvt_state: self,
            };
            ::core::result::Result::Ok(__lvt::askama::Template::render(&plain)?)
        }
        fn persisted_fields() -> &'static [&'static str] {
            &[]
        }
        fn encode_field(
            &self,
            name: &str,
        ) -> ::core::option::Option<__lvt::Result<::std::vec::Vec<u8>>> {
            match name {
                _ => ::core::option::Option::None,
            }
        }
        fn decode_field(&mut self, name: &str, bytes: &[u8]) -> __lvt::Result<()> {
            let _ = bytes;
            match name {
                _ => {
                    ::core::result::Result::Err(
                        __lvt::decode_error(
                            ::std::format!("no persisted field `{}`", name),
                        ),
                    )
                }
            }
        }
    }
};
