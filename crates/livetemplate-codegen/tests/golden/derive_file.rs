const _: () = {
    use ::livetemplate::__private as __lvt;
    use ::livetemplate::__private::askama::Template;
    const _: &[u8] = ::core::include_bytes!(
        "$GOLDEN/templates/page.html"
    );
    const _: &[u8] = ::core::include_bytes!(
        "$GOLDEN/templates/macros.html"
    );
    const _: &[u8] = ::core::include_bytes!(
        "$GOLDEN/templates/layout.html"
    );
    #[derive(Template)]
    #[template(
        source = "{% macro __lvt_s0_badge(label) %}<b>{{ self.__lvt_m(1)|safe }}{{ label }}{{ self.__lvt_m(2)|safe }}</b>{% endmacro %}<title>{# #}{# #}{{ self.__lvt_m(1)|safe }}{{ title }}{{ self.__lvt_m(2)|safe }} · {# #}{# #}App{# #}{# #}{# #}{# #}</title>\n<main>{# #}{# #}{{ self.__lvt_m(6)|safe }}{% for t in todos %}{{ self.__lvt_m(7)|safe }}<li data-key=\"{{ self.__lvt_m(1)|safe }}{{ t }}{{ self.__lvt_m(2)|safe }}\">{% call __lvt_s0_badge(t) %}{% endcall %}</li>{% endfor %}{{ self.__lvt_m(9)|safe }}{# #}{# #}</main>",
        ext = "html",
        askama = __lvt::askama
    )]
    struct TodosTemplate<'a> {
        __lvt_state: &'a Todos,
        __lvt_cell: &'a __lvt::MarkQueue,
    }
    impl<'a> ::core::ops::Deref for TodosTemplate<'a> {
        type Target = Todos;
        fn deref(&self) -> &Todos {
            self.__lvt_state
        }
    }
    impl<'a> TodosTemplate<'a> {
        #[inline]
        fn __lvt_m(&self, code: u32) -> __lvt::Mark<'a> {
            __lvt::Mark::new(self.__lvt_cell, code)
        }
    }
    impl __lvt::LiveState for Todos {
        fn render_tree(&self) -> __lvt::Result<__lvt::Tree> {
            let cell = __lvt::MarkQueue::new();
            let marked = TodosTemplate {
                __lvt_state: self,
                __lvt_cell: &cell,
            };
            let mut sink = __lvt::TreeSink::new(&cell);
            __lvt::askama::Template::render_into(&marked, &mut sink)?;
            sink.finish()
        }
        fn render_html(&self) -> __lvt::Result<::std::string::String> {
            let cell = __lvt::MarkQueue::new();
            let marked = TodosTemplate {
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
