const _: () = {
    use ::livetemplate::__private as __lvt;
    use ::livetemplate::__private::askama::Template;
    #[derive(Template)]
    #[template(
        source = "<p>{{ self.__lvt_m(1)|safe }}{{ tag.label() }}{{ self.__lvt_m(2)|safe }} {{ self.__lvt_m(1)|safe }}{{ Tagged::<T>::kind() }}{{ self.__lvt_m(2)|safe }}</p>",
        ext = "html",
        askama = __lvt::askama
    )]
    struct TaggedTemplate<'a, T: Label>
    where
        T: Clone,
    {
        __lvt_state: &'a Tagged<T>,
        __lvt_cell: &'a __lvt::MarkQueue,
    }
    impl<'a, T: Label> ::core::ops::Deref for TaggedTemplate<'a, T>
    where
        T: Clone,
    {
        type Target = Tagged<T>;
        fn deref(&self) -> &Tagged<T> {
            self.__lvt_state
        }
    }
    impl<'a, T: Label> TaggedTemplate<'a, T>
    where
        T: Clone,
    {
        #[inline]
        fn __lvt_m(&self, code: u32) -> __lvt::Mark<'a> {
            __lvt::Mark::new(self.__lvt_cell, code)
        }
    }
    impl<T: Label> __lvt::LiveState for Tagged<T>
    where
        T: Clone,
    {
        fn render_tree(&self) -> __lvt::Result<__lvt::Tree> {
            let cell = __lvt::MarkQueue::new();
            let marked = TaggedTemplate {
                __lvt_state: self,
                __lvt_cell: &cell,
            };
            let mut sink = __lvt::TreeSink::new(&cell);
            __lvt::askama::Template::render_into(&marked, &mut sink)?;
            sink.finish()
        }
        fn render_html(&self) -> __lvt::Result<::std::string::String> {
            let cell = __lvt::MarkQueue::new();
            let marked = TaggedTemplate {
                __lvt_state: self,
                __lvt_cell: &cell,
            };
            ::core::result::Result::Ok(__lvt::askama::Template::render(&marked)?)
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
