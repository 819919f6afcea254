const _: () = {
    use ::livetemplate::__private as __lvt;
    use ::livetemplate::__private::askama::Template;
    #[derive(Template)]
    #[template(
        source = "<p>{{ self.__lvt_m(1)|safe }}{{ n }}{{ self.__lvt_m(2)|safe }}</p>{{ self.__lvt_m(3)|safe }}{% if on %}{{ self.__lvt_m(4)|safe }}<i>{{ self.__lvt_m(1)|safe }}{{ label|upper }}{{ self.__lvt_m(2)|safe }}</i>{% endif %}{{ self.__lvt_m(5)|safe }}{{ self.__lvt_m(6)|safe }}{% for x in xs %}{{ self.__lvt_m(7)|safe }}{{ self.__lvt_m(1)|safe }}{{ x }}{{ self.__lvt_m(2)|safe }}{% endfor %}{{ self.__lvt_m(9)|safe }}",
        ext = "html",
        askama = __lvt::askama
    )]
    struct CounterTemplate<'a> {
        __lvt_state: &'a Counter,
        __lvt_cell: &'a __lvt::MarkQueue,
    }
    impl<'a> ::core::ops::Deref for CounterTemplate<'a> {
        type Target = Counter;
        fn deref(&self) -> &Counter {
            self.__lvt_state
        }
    }
    impl<'a> CounterTemplate<'a> {
        #[inline]
        fn __lvt_m(&self, code: u32) -> __lvt::Mark<'a> {
            __lvt::Mark::new(self.__lvt_cell, code)
        }
    }
    impl __lvt::LiveState for Counter {
        fn render_tree(&self) -> __lvt::Result<__lvt::Tree> {
            let cell = __lvt::MarkQueue::new();
            let marked = CounterTemplate {
                __lvt_state: self,
                __lvt_cell: &cell,
            };
            let mut sink = __lvt::TreeSink::new(&cell);
            __lvt::askama::Template::render_into(&marked, &mut sink)?;
            sink.finish()
        }
        fn render_html(&self) -> __lvt::Result<::std::string::String> {
            let cell = __lvt::MarkQueue::new();
            let marked = CounterTemplate {
                __lvt_state: self,
                __lvt_cell: &cell,
            };
            ::core::result::Result::Ok(__lvt::askama::Template::render(&marked)?)
        }
        fn persisted_fields() -> &'static [&'static str] {
            &["n", "label"]
        }
        fn encode_field(
            &self,
            name: &str,
        ) -> ::core::option::Option<__lvt::Result<::std::vec::Vec<u8>>> {
            match name {
                "n" => {
                    ::core::option::Option::Some(
                        __lvt::encode_field_version::<i64>(&self.n, 1u32),
                    )
                }
                "label" => {
                    ::core::option::Option::Some(
                        __lvt::encode_field_version::<String>(&self.label, 2u32),
                    )
                }
                _ => ::core::option::Option::None,
            }
        }
        fn decode_field(&mut self, name: &str, bytes: &[u8]) -> __lvt::Result<()> {
            let _ = bytes;
            match name {
                "n" => __lvt::decode_field_version::<i64>(&mut self.n, bytes, 1u32),
                "label" => {
                    __lvt::decode_field_migrating::<
                        String,
                        _,
                        _,
                    >(&mut self.label, bytes, 2u32, crate::upgrade)
                }
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
