const _: () = {
    use ::livetemplate::__private as __lvt;
    const _: &[u8] = ::core::include_bytes!(
        "$GOLDEN/custom_syntax/tpl/square.html"
    );
    struct TodosTemplate<'a> {
        __lvt_state: &'a Todos,
        __lvt_cell: &'a __lvt::MarkQueue,
    }
    #[allow(
        clippy::init_numbered_fields,
        non_shorthand_field_patterns,
        clippy::suspicious_else_formatting,
        dead_code,
        non_camel_case_types,
        non_snake_case,
        clippy::double_parens,
        clippy::identity_op,
        clippy::into_iter_on_ref,
        clippy::needless_borrow,
        clippy::needless_borrows_for_generic_args,
        clippy::nonminimal_bool,
        clippy::op_ref,
        clippy::useless_conversion,
        unused_braces,
        unused_parens,
    )]
    const _: () = {
        use __lvt::askama as askama;
        #[automatically_derived]
        impl<'a> askama::Template for TodosTemplate<'a> {
            fn render_into_with_values(
                &self,
                __askama_writer: &mut dyn askama::helpers::core::fmt::Write,
                __askama_values: &dyn askama::Values,
            ) -> askama::Result<()> {
                #[allow(unused_imports)]
                use askama::{
                    filters::{AutoEscape as _, WriteWritable as _},
                    helpers::{ResultConverter as _, core::fmt::Write as _},
                };
                const _: &[askama::helpers::core::primitive::u8] = askama::helpers::core::include_bytes!(
                    "$GOLDEN/custom_syntax/askama.toml"
                );
                __askama_writer.write_str("<p>{{ not a tag }} {% neither %}</p>
<h1>")?;
                match (
                    &(askama::filters::safe(self.__lvt_m(1), askama::filters::Html)?),
                    &((&&askama::filters::AutoEscaper::new(
                        &(self.title),
                        askama::filters::Html,
                    ))
                        .askama_auto_escape()?),
                    &(askama::filters::safe(self.__lvt_m(2), askama::filters::Html)?),
                    &(askama::filters::safe(self.__lvt_m(6), askama::filters::Html)?),
                ) {
                    (__askama_expr3, __askama_expr4, __askama_expr5, __askama_expr7) => {
                        (&&&askama::filters::Writable(__askama_expr3))
                            .askama_write(__askama_writer, __askama_values)?;
                        (&&&askama::filters::Writable(__askama_expr4))
                            .askama_write(__askama_writer, __askama_values)?;
                        (&&&askama::filters::Writable(__askama_expr5))
                            .askama_write(__askama_writer, __askama_values)?;
                        __askama_writer.write_str("</h1>")?;
                        (&&&askama::filters::Writable(__askama_expr7))
                            .askama_write(__askama_writer, __askama_values)?;
                    }
                }
                let __askama_iter = (&self.todos).into_iter();
                for (t, __askama_item) in askama::helpers::TemplateLoop::new(
                    __askama_iter,
                ) {
                    match (
                        &(askama::filters::safe(
                            self.__lvt_m(7),
                            askama::filters::Html,
                        )?),
                        &(askama::filters::safe(
                            self.__lvt_m(1),
                            askama::filters::Html,
                        )?),
                        &((&&askama::filters::AutoEscaper::new(
                            &(askama::filters::upper(&(t))?),
                            askama::filters::Html,
                        ))
                            .askama_auto_escape()?),
                        &(askama::filters::safe(
                            self.__lvt_m(2),
                            askama::filters::Html,
                        )?),
                        &(askama::filters::safe(self.__lvt_m(3), askama::filters::Html)?),
                    ) {
                        (
                            __askama_expr0,
                            __askama_expr2,
                            __askama_expr3,
                            __askama_expr4,
                            __askama_expr5,
                        ) => {
                            (&&&askama::filters::Writable(__askama_expr0))
                                .askama_write(__askama_writer, __askama_values)?;
                            __askama_writer.write_str("<li>")?;
                            (&&&askama::filters::Writable(__askama_expr2))
                                .askama_write(__askama_writer, __askama_values)?;
                            (&&&askama::filters::Writable(__askama_expr3))
                                .askama_write(__askama_writer, __askama_values)?;
                            (&&&askama::filters::Writable(__askama_expr4))
                                .askama_write(__askama_writer, __askama_values)?;
                            (&&&askama::filters::Writable(__askama_expr5))
                                .askama_write(__askama_writer, __askama_values)?;
                        }
                    }
                    if askama::helpers::as_bool(&(t.is_empty())) {
                        match (
                            &(askama::filters::safe(
                                self.__lvt_m(4),
                                askama::filters::Html,
                            )?),
                        ) {
                            (__askama_expr0,) => {
                                (&&&askama::filters::Writable(__askama_expr0))
                                    .askama_write(__askama_writer, __askama_values)?;
                            }
                        }
                        __askama_writer.write_str("empty")?;
                    }
                    match (
                        &(askama::filters::safe(
                            self.__lvt_m(5),
                            askama::filters::Html,
                        )?),
                    ) {
                        (__askama_expr0,) => {
                            (&&&askama::filters::Writable(__askama_expr0))
                                .askama_write(__askama_writer, __askama_values)?;
                        }
                    }
                    __askama_writer.write_str("</li>")?;
                }
                match (
                    &(askama::filters::safe(self.__lvt_m(9), askama::filters::Html)?),
                ) {
                    (__askama_expr0,) => {
                        (&&&askama::filters::Writable(__askama_expr0))
                            .askama_write(__askama_writer, __askama_values)?;
                    }
                }
                __askama_writer.write_str("[[ raw ]]")?;
                askama::Result::Ok(())
            }
            const SIZE_HINT: askama::helpers::core::primitive::usize = 122usize;
        }
        /// Implement the [`format!()`][askama::helpers::std::format] trait for [`TodosTemplate`]
        ///
        /// Please be aware of the rendering performance notice in the [`Template`][askama::Template] trait.
        #[automatically_derived]
        impl<'a> askama::helpers::core::fmt::Display for TodosTemplate<'a> {
            #[inline]
            fn fmt(
                &self,
                f: &mut askama::helpers::core::fmt::Formatter<'_>,
            ) -> askama::helpers::core::fmt::Result {
                askama::Template::render_into(self, f)
                    .map_err(|_| askama::helpers::core::fmt::Error)
            }
        }
        #[automatically_derived]
        impl<'a> askama::FastWritable for TodosTemplate<'a> {
            #[inline]
            fn write_into(
                &self,
                dest: &mut dyn askama::helpers::core::fmt::Write,
                values: &dyn askama::Values,
            ) -> askama::Result<()> {
                askama::Template::render_into_with_values(self, dest, values)
            }
        }
    };
    #[allow(
        clippy::init_numbered_fields,
        non_shorthand_field_patterns,
        clippy::suspicious_else_formatting,
        dead_code,
        non_camel_case_types,
        non_snake_case,
        clippy::double_parens,
        clippy::identity_op,
        clippy::into_iter_on_ref,
        clippy::needless_borrow,
        clippy::needless_borrows_for_generic_args,
        clippy::nonminimal_bool,
        clippy::op_ref,
        clippy::useless_conversion,
        unused_braces,
        unused_parens,
    )]
    const _: () = {
        use __lvt::askama as askama;
        impl<'a> TodosTemplate<'a> {
            #[inline]
            fn __lvt_render_plain(
                &self,
                __askama_writer: &mut dyn askama::helpers::core::fmt::Write,
                __askama_values: &dyn askama::Values,
            ) -> askama::Result<()> {
                #[allow(unused_imports)]
                use askama::{
                    filters::{AutoEscape as _, WriteWritable as _},
                    helpers::{ResultConverter as _, core::fmt::Write as _},
                };
                const _: &[askama::helpers::core::primitive::u8] = askama::helpers::core::include_bytes!(
                    "$GOLDEN/custom_syntax/askama.toml"
                );
                __askama_writer.write_str("<p>{{ not a tag }} {% neither %}</p>
<h1>")?;
                match (
                    &((&&askama::filters::AutoEscaper::new(
                        &(self.title),
                        askama::filters::Html,
                    ))
                        .askama_auto_escape()?),
                ) {
                    (__askama_expr3,) => {
                        (&&&askama::filters::Writable(__askama_expr3))
                            .askama_write(__askama_writer, __askama_values)?;
                    }
                }
                __askama_writer.write_str("</h1>")?;
                let __askama_iter = (&self.todos).into_iter();
                for (t, __askama_item) in askama::helpers::TemplateLoop::new(
                    __askama_iter,
                ) {
                    __askama_writer.write_str("<li>")?;
                    match (
                        &((&&askama::filters::AutoEscaper::new(
                            &(askama::filters::upper(&(t))?),
                            askama::filters::Html,
                        ))
                            .askama_auto_escape()?),
                    ) {
                        (__askama_expr1,) => {
                            (&&&askama::filters::Writable(__askama_expr1))
                                .askama_write(__askama_writer, __askama_values)?;
                        }
                    }
                    if askama::helpers::as_bool(&(t.is_empty())) {
                        __askama_writer.write_str("empty")?;
                    }
                    __askama_writer.write_str("</li>")?;
                }
                __askama_writer.write_str("[[ raw ]]")?;
                askama::Result::Ok(())
            }
            const __LVT_PLAIN_HINT: askama::helpers::core::primitive::usize = 83usize;
            #[inline]
            fn __lvt_plain_hint(&self) -> usize {
                Self::__LVT_PLAIN_HINT
            }
        }
    };
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
            __lvt::askama::Template::render_into_with_values(
                &marked,
                &mut sink,
                &__lvt::MarkValues(&cell),
            )?;
            sink.finish()
        }
        fn render_html(&self) -> __lvt::Result<::std::string::String> {
            let cell = __lvt::MarkQueue::new();
            let plain = TodosTemplate {
                __lvt_state: self,
                __lvt_cell: &cell,
            };
            let mut out = ::std::string::String::with_capacity(plain.__lvt_plain_hint());
            plain.__lvt_render_plain(&mut out, __lvt::askama::NO_VALUES)?;
            ::core::result::Result::Ok(out)
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
