//! `#[derive(LiveState)]`: reads the template, marks it, and generates, through askama's own
//! code generator run as a library, two renders on one wrapper struct: the marked template
//! (its `Template` impl, rendered into the live tree) and the flattened template without
//! markers (a method, for plain HTML), plus persisted-field codecs.
//!
//! The wrapper is named after the state as askama users name their template structs
//! (`TodosTemplate` for `Todos`), and both renders are spanned at the user's `template = "…"`
//! / `source = "…"`: an error the compiler finds in the template's expressions reads
//! `` no method named `x` found for reference `&TodosTemplate<'a>` ``, and, being the same
//! diagnostic in both renders, is printed once. (The wrapper cannot bear the state's own name:
//! the compiler prints a name in full, `_::Todos`, when two items of a crate share it.)

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Field, Fields, LitInt, LitStr, Path};

use crate::askama_check::{Template, askama_errors, askama_reads};
use crate::config::{Config, Delims};
use crate::template::{
    Flattener, Loader, Origin, check_names, hide_empty_error_messages, mark, read_template, replace_self,
};

struct Options {
    template: Option<LitStr>,
    source: Option<LitStr>,
    ext: Option<LitStr>,
    /// A syntax of `askama.toml` other than its default.
    syntax: Option<LitStr>,
    krate: Path,
}

fn parse_options(input: &DeriveInput, errors: &mut Vec<syn::Error>) -> Options {
    let mut opts = Options {
        template: None,
        source: None,
        ext: None,
        syntax: None,
        krate: syn::parse_quote!(::livetemplate),
    };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("lvt")) {
        let res = attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            match key.as_str() {
                "template" | "path" => opts.template = Some(meta.value()?.parse()?),
                "source" => opts.source = Some(meta.value()?.parse()?),
                "ext" => opts.ext = Some(meta.value()?.parse()?),
                "syntax" => opts.syntax = Some(meta.value()?.parse()?),
                "crate" => {
                    let s: LitStr = meta.value()?.parse()?;
                    opts.krate = s.parse()?;
                }
                _ => {
                    return Err(meta.error(format!(
                        "unknown `lvt` key `{key}`; expected one of: template, source, ext, syntax, crate"
                    )));
                }
            }
            Ok(())
        });
        if let Err(e) = res {
            errors.push(e);
        }
    }
    opts
}

/// A `#[lvt(persist)]` or `#[lvt(persist(version = N, migrate = path::to::fn))]` field.
struct Persisted<'a> {
    field: &'a Field,
    /// The version values are written as (1 unless given).
    version: u32,
    /// Turns a value of an older version (JSON) into today's.
    migrate: Option<Path>,
}

/// Parse what follows `persist` in `#[lvt(persist…)]`.
fn parse_persist<'a>(field: &'a Field, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Persisted<'a>> {
    let mut version: Option<(u32, Span)> = None;
    let mut migrate: Option<Path> = None;
    if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| {
            let key = inner.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            match key.as_str() {
                "version" => {
                    let lit: LitInt = inner.value()?.parse()?;
                    let v: u32 = lit.base10_parse()?;
                    if v == 0 {
                        return Err(syn::Error::new(lit.span(), "`version` starts at 1"));
                    }
                    version = Some((v, lit.span()));
                }
                "migrate" => migrate = Some(inner.value()?.parse()?),
                _ => {
                    return Err(inner.error(format!(
                        "unknown `persist` key `{key}`; expected `version = N` or `migrate = path::to::fn`"
                    )));
                }
            }
            Ok(())
        })?;
    }
    match (version, &migrate) {
        (Some((v, span)), None) if v > 1 => Err(syn::Error::new(
            span,
            format!(
                "`version = {v}` needs `migrate = path::to::fn`: a `fn(serde_json::Value, u32) -> Result<T, E>` that turns a value of an older version into today's"
            ),
        )),
        (None | Some((1, _)), Some(path)) => Err(syn::Error::new(
            path.span(),
            "`migrate` needs `version = N` with N of 2 or more: the version values are written as from now on",
        )),
        _ => Ok(Persisted {
            field,
            version: version.map_or(1, |(v, _)| v),
            migrate,
        }),
    }
}

/// Beside the `compile_error!`s of a rejected derive, an impl of `LiveState` that only
/// fails at run time, so each use of the state (`#[actions]`, `App::page`) does not add a
/// ``the trait bound `X: LiveState` is not satisfied`` error to the real one. None for a
/// generic type, whose bounds the stub cannot know.
fn stub_impl(input: &DeriveInput, krate: &Path) -> TokenStream {
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let name = &input.ident;
    let msg = LitStr::new(
        &format!("`{name}`'s #[derive(LiveState)] was rejected at compile time"),
        Span::call_site(),
    );
    quote! {
        const _: () = {
            use #krate::__private as __lvt;

            impl __lvt::LiveState for #name {
                fn render_tree(&self) -> __lvt::Result<__lvt::Tree> {
                    ::core::result::Result::Err(__lvt::Error::msg(#msg))
                }
                fn render_html(&self) -> __lvt::Result<::std::string::String> {
                    ::core::result::Result::Err(__lvt::Error::msg(#msg))
                }
                fn persisted_fields() -> &'static [&'static str] {
                    &[]
                }
                fn encode_field(&self, _: &str) -> ::core::option::Option<__lvt::Result<::std::vec::Vec<u8>>> {
                    ::core::option::Option::None
                }
                fn decode_field(&mut self, _: &str, _: &[u8]) -> __lvt::Result<()> {
                    ::core::result::Result::Err(__lvt::Error::msg(#msg))
                }
            }
        };
    }
}

/// True for a field type spelled `Stream<…>` (any path ending so: `livetemplate::Stream<T>`).
fn is_stream_type(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "Stream" && matches!(s.arguments, syn::PathArguments::AngleBracketed(_))))
}

/// Hide empty `lvt-error-message` elements, replace `Self` with the state type, then mark:
/// the marked source and the plain one.
fn mark_self(flat: &str, delims: &Delims, state: &str, streams: &[String]) -> Result<(String, String), String> {
    let hidden = hide_empty_error_messages(flat, delims)?;
    let flat = hidden.as_deref().unwrap_or(flat);
    let replaced = replace_self(flat, delims, state)?;
    let plain = replaced.unwrap_or_else(|| flat.to_string());
    let marked = mark(&plain, delims, streams)?;
    Ok((marked, plain))
}

/// askama's code generator, run here as a library on `input` (the wrapper struct with its
/// `#[template(…)]`), with every token of its output given `span` (the user's
/// `template = "…"` / `source = "…"`), so errors in the template's expressions point there.
fn askama_impl(input: TokenStream, span: Span) -> syn::Result<syn::File> {
    // At the attribute, but still from this macro's expansion: the compiler suggests no edit
    // of the attribute's text (a suggestion would replace the whole string).
    let span = Span::call_site().located_at(span);
    syn::parse2(respan(askama_derive::derive_template(input, TokenStream::new), span))
}

fn respan(ts: TokenStream, span: Span) -> TokenStream {
    ts.into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(g) = &tt {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// The plain template's render as an inherent method of the wrapper: askama's `impl Template`
/// for it, turned into `impl Wrapper { fn __lvt_render_plain(…); fn __lvt_plain_hint(…) }`,
/// without the `Display` and `FastWritable` impls askama adds.
///
/// Its expressions are the marked template's without the markers, checked in the same
/// context (`&self` is the wrapper in both) at the same span: an error in them is the same
/// diagnostic twice, which the compiler reports once.
fn plain_as_method(mut file: syn::File) -> syn::Result<syn::File> {
    let err = || syn::Error::new(Span::call_site(), "askama's generated code has an unexpected shape");
    for item in &mut file.items {
        let syn::Item::Const(c) = item else { continue };
        let syn::Expr::Block(block) = &mut *c.expr else {
            continue;
        };
        block.block.stmts.retain_mut(|stmt| {
            let syn::Stmt::Item(syn::Item::Impl(imp)) = stmt else {
                return true;
            };
            let is_template = imp
                .trait_
                .as_ref()
                .and_then(|(_, path, _)| path.segments.last())
                .is_some_and(|seg| seg.ident == "Template");
            if !is_template {
                return imp.trait_.is_none();
            }
            imp.trait_ = None;
            imp.attrs.retain(|a| !a.path().is_ident("automatically_derived"));
            for it in &mut imp.items {
                match it {
                    syn::ImplItem::Fn(f) if f.sig.ident == "render_into_with_values" => {
                        f.sig.ident = syn::Ident::new("__lvt_render_plain", f.sig.ident.span());
                        f.attrs.push(syn::parse_quote!(#[inline]));
                    }
                    syn::ImplItem::Const(k) if k.ident == "SIZE_HINT" => {
                        k.ident = syn::Ident::new("__LVT_PLAIN_HINT", k.ident.span());
                    }
                    _ => {}
                }
            }
            imp.items.push(syn::parse_quote! {
                #[inline]
                fn __lvt_plain_hint(&self) -> usize {
                    Self::__LVT_PLAIN_HINT
                }
            });
            true
        });
        let found = block.block.stmts.iter().any(|stmt| {
            matches!(stmt, syn::Stmt::Item(syn::Item::Impl(imp)) if imp.items.iter().any(|it| matches!(it, syn::ImplItem::Fn(f) if f.sig.ident == "__lvt_render_plain")))
        });
        if found {
            return Ok(file);
        }
    }
    Err(err())
}

pub(crate) fn derive(root: &std::path::Path, input: DeriveInput) -> syn::Result<TokenStream> {
    let mut errors: Vec<syn::Error> = Vec::new();
    let opts = parse_options(&input, &mut errors);
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => f.named.iter().collect::<Vec<_>>(),
            Fields::Unit => Vec::new(),
            Fields::Unnamed(f) => {
                errors.push(syn::Error::new(f.span(), "LiveState needs named fields"));
                Vec::new()
            }
        },
        _ => {
            errors.push(syn::Error::new(
                Span::call_site(),
                "LiveState can only be derived for structs",
            ));
            Vec::new()
        }
    };

    // Persisted fields, and the errors field.
    let mut persisted = Vec::new();
    let mut errors_field: Option<&Field> = None;
    for f in &fields {
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("lvt")) {
            let res = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("persist") {
                    if errors_field.is_some_and(|e| std::ptr::eq(e, *f)) {
                        return Err(meta.error(
                            "the `#[lvt(errors)]` field is not persisted: its errors belong to one view's form",
                        ));
                    }
                    persisted.push(parse_persist(f, &meta)?);
                    Ok(())
                } else if meta.path.is_ident("errors") {
                    if persisted.iter().any(|p| std::ptr::eq(p.field, *f)) {
                        return Err(meta.error(
                            "the `#[lvt(errors)]` field is not persisted: its errors belong to one view's form",
                        ));
                    }
                    if errors_field.is_some() {
                        return Err(meta.error("a state has at most one `#[lvt(errors)]` field"));
                    }
                    errors_field = Some(f);
                    Ok(())
                } else {
                    let key = meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
                    Err(meta.error(format!(
                        "unknown `lvt` field key `{key}`; expected `persist` or `errors`"
                    )))
                }
            });
            if let Err(e) = res {
                errors.push(e);
            }
        }
    }

    // Stream fields (of a type `Stream<…>`): their loops are stream loops.
    let stream_fields: Vec<String> = fields
        .iter()
        .filter(|f| is_stream_type(&f.ty))
        .filter_map(|f| f.ident.as_ref().map(|i| i.to_string()))
        .collect();

    // askama.toml: template directories and delimiters.
    let config = Config::read(root).unwrap_or_else(|e| {
        errors.push(syn::Error::new(Span::call_site(), e));
        Config::default()
    });
    let delims = match config.syntax(opts.syntax.as_ref().map(LitStr::value).as_deref()) {
        Ok(d) => d.clone(),
        Err(e) => {
            errors.push(syn::Error::new(
                opts.syntax.as_ref().map_or_else(Span::call_site, LitStr::span),
                e,
            ));
            Delims::default()
        }
    };

    // Template source.
    let mut loader = Loader::with_config(root, &config.dirs, delims);
    let mut marked = None;
    // `Self` in the template: the state type, with its type parameters spelled out.
    let type_params: Vec<String> = input.generics.type_params().map(|p| p.ident.to_string()).collect();
    let state_name = if type_params.is_empty() {
        name.to_string()
    } else {
        format!("{name}::<{}>", type_params.join(", "))
    };
    let mut ext = opts.ext.as_ref().map(|e| e.value());
    match (&opts.template, &opts.source) {
        (Some(t), None) => match loader.find(&t.value(), None) {
            None => errors.push(syn::Error::new(
                t.span(),
                format!("template `{}` not found (looked in {})", t.value(), loader.dirs_display()),
            )),
            Some(path) => match read_template(&path) {
                Err(e) => errors.push(syn::Error::new(t.span(), e)),
                Ok(src) => {
                    loader.files.push(path.clone());
                    if ext.is_none() {
                        ext = path.extension().map(|e| e.to_string_lossy().into_owned());
                    }
                    let origin = Origin::file(Some(&path));
                    match (Flattener { loader: &mut loader }).flatten_root(&src, &origin) {
                        Ok(flat) => match mark_self(&flat, &loader.delims, &state_name, &stream_fields) {
                            Ok(m) => marked = Some(m),
                            Err(e) => errors.push(syn::Error::new(t.span(), format!("template `{}`: {e}", t.value()))),
                        },
                        Err(e) => errors.push(syn::Error::new(t.span(), e.to_string())),
                    }
                }
            },
        },
        (None, Some(s)) => match (Flattener { loader: &mut loader }).flatten_root(&s.value(), &Origin::file(None)) {
            Ok(flat) => match mark_self(&flat, &loader.delims, &state_name, &stream_fields) {
                Ok(m) => marked = Some(m),
                Err(e) => errors.push(syn::Error::new(s.span(), format!("template source: {e}"))),
            },
            Err(e) => errors.push(syn::Error::new(s.span(), e.to_string())),
        },
        (Some(t), Some(_)) => errors.push(syn::Error::new(t.span(), "give either `template` or `source`, not both")),
        // An unknown key was reported already: a typo of `template` should not also say "missing".
        (None, None) if !errors.is_empty() => {}
        (None, None) => errors.push(syn::Error::new(
            Span::call_site(),
            "missing template: add `#[lvt(template = \"page.html\")]` (a file under templates/) or `#[lvt(source = \"...\", ext = \"html\")]`",
        )),
    }

    // The name check needs the field names: not for a tuple struct or an enum (reported).
    let named = matches!(&input.data, Data::Struct(s) if !matches!(s.fields, Fields::Unnamed(_)));
    if marked.is_some() && named {
        let field_names = fields
            .iter()
            .filter_map(|f| f.ident.as_ref())
            .map(|i| i.to_string())
            .collect();
        let span = opts
            .template
            .as_ref()
            .or(opts.source.as_ref())
            .map_or_else(Span::call_site, LitStr::span);
        for e in check_names(&loader, &field_names) {
            errors.push(syn::Error::new(span, e.to_string()));
        }
    }
    // What askama's own generator rejects, once, in the user's terms: then the wrapper is not
    // generated (it would report it again, in the flattened and marked source).
    if marked.is_some() && askama_reads(root) {
        let ext = ext.as_deref().unwrap_or("html");
        let template = match (&opts.template, &opts.source) {
            (Some(t), None) => Some(Template::Path(t)),
            (None, Some(s)) => Some(Template::Source(s, ext)),
            _ => None,
        };
        if let Some(template) = template {
            let span = opts
                .template
                .as_ref()
                .or(opts.source.as_ref())
                .map_or_else(Span::call_site, LitStr::span);
            for e in askama_errors(&loader, &template, opts.syntax.as_ref()) {
                errors.push(syn::Error::new(span, e.to_string()));
            }
        }
    }
    let mut errors = errors.into_iter();
    if let Some(first) = errors.next() {
        // In source order: the first mistake first.
        let combined = errors.fold(first, |mut acc, e| {
            acc.combine(e);
            acc
        });
        let mut out = combined.to_compile_error();
        out.extend(stub_impl(&input, &opts.krate));
        return Ok(out);
    }
    let (marked, plain) = marked.unwrap_or_default();
    let ext = ext.unwrap_or_else(|| "html".into());
    let krate = &opts.krate;
    let marked_lit = LitStr::new(&marked, Span::call_site());
    let ext_lit = LitStr::new(&ext, Span::call_site());
    let syntax_attr = opts.syntax.as_ref().map(|s| quote!(syntax = #s,));
    let deps = loader.files.iter().map(|p| {
        let p = LitStr::new(&p.to_string_lossy(), Span::call_site());
        quote!(
            const _: &[u8] = ::core::include_bytes!(#p);
        )
    });

    let names: Vec<LitStr> = persisted
        .iter()
        .filter_map(|p| p.field.ident.as_ref())
        .map(|i| LitStr::new(&i.to_string(), i.span()))
        .collect();
    let encode_arms = persisted.iter().filter_map(|p| {
        let ident = p.field.ident.as_ref()?;
        let ty = &p.field.ty;
        let version = p.version;
        let lit = LitStr::new(&ident.to_string(), ident.span());
        Some(quote_spanned! {ty.span()=>
            #lit => ::core::option::Option::Some((persisted_field::<#ty>().0)(&self.#ident, #version)),
        })
    });
    let decode_arms = persisted.iter().filter_map(|p| {
        let ident = p.field.ident.as_ref()?;
        let ty = &p.field.ty;
        let version = p.version;
        let lit = LitStr::new(&ident.to_string(), ident.span());
        Some(match &p.migrate {
            None => quote_spanned! {ty.span()=>
                #lit => (persisted_field::<#ty>().1)(&mut self.#ident, bytes, #version),
            },
            Some(path) => quote_spanned! {path.span()=>
                #lit => __lvt::decode_field_migrating::<#ty, _, _>(&mut self.#ident, bytes, #version, #path),
            },
        })
    });
    // Errors the compiler finds in the template's expressions point at the askama derive:
    // give it the span of the user's `template = "…"` / `source = "…"`.
    let template_span = opts
        .template
        .as_ref()
        .or(opts.source.as_ref())
        .map_or_else(Span::call_site, LitStr::span);
    // The codec of every persisted field, through one bounded function: a field type that is
    // not serde gets one error per missing trait (the same one at each use, which the
    // compiler reports once), saying it is "required by a bound in `persisted_field`".
    let persisted_field = (!persisted.is_empty()).then(|| {
        quote! {
            fn persisted_field<T>() -> (
                fn(&T, u32) -> __lvt::Result<::std::vec::Vec<u8>>,
                fn(&mut T, &[u8], u32) -> __lvt::Result<()>,
            )
            where
                T: __lvt::serde::Serialize + __lvt::serde::de::DeserializeOwned + 'static,
            {
                (__lvt::encode_field_version::<T>, __lvt::decode_field_version::<T>)
            }
        }
    });
    // A generic state: its parameters on the impl, and on the wrapper after its `'a`.
    let (impl_g, ty_g, where_c) = input.generics.split_for_impl();
    let mut wrapper_generics = input.generics.clone();
    wrapper_generics.params.insert(0, syn::parse_quote!('a));
    let (w_impl, w_ty, w_where) = wrapper_generics.split_for_impl();
    let w_params = &wrapper_generics;
    let wrapper = format_ident!("{}Template", name);
    // The marked template (`Template` for the wrapper) and the plain one (a method of it),
    // both from askama's generator.
    let plain_lit = LitStr::new(&plain, Span::call_site());
    // askama reads the `askama.toml` of the crate being compiled, which is `root`'s; where it
    // is not (the golden tests), it is pointed at `root`'s.
    let config = root.join("askama.toml");
    let config_attr = (!askama_reads(root) && config.is_file()).then(|| {
        let path = LitStr::new(&config.to_string_lossy(), Span::call_site());
        quote!(config = #path,)
    });
    let wrapper_input = |src: &LitStr| {
        quote! {
            #[template(source = #src, ext = #ext_lit, #syntax_attr #config_attr askama = __lvt::askama)]
            struct #wrapper #w_params #w_where {
                __lvt_state: &'a #name #ty_g,
                __lvt_cell: &'a __lvt::MarkQueue,
            }
        }
    };

    let stream_idents: Vec<&syn::Ident> = fields
        .iter()
        .filter(|f| is_stream_type(&f.ty))
        .filter_map(|f| f.ident.as_ref())
        .collect();
    let streams_sent = (!stream_idents.is_empty()).then(|| {
        quote! {
            fn streams_sent(&mut self) {
                #(self.#stream_idents.__lvt_sent();)*
            }

            fn streams_limit(&mut self) {
                #(self.#stream_idents.__lvt_apply_limit();)*
            }
        }
    });
    // The field a failed action's `FieldErrors` go to; a field of another type is an error at
    // its type ("expected `FieldErrors`").
    let errors_fn = errors_field.and_then(|f| {
        let ident = f.ident.as_ref()?;
        let ty = &f.ty;
        Some(quote_spanned! {ty.span()=>
            fn errors_field(&mut self) -> ::core::option::Option<&mut __lvt::FieldErrors> {
                let field: &mut #ty = &mut self.#ident;
                ::core::option::Option::Some(field)
            }
        })
    });
    let marked_impl = askama_impl(wrapper_input(&marked_lit), template_span)?;
    let plain_impl = plain_as_method(askama_impl(wrapper_input(&plain_lit), template_span)?)?;
    let out = quote! {
        const _: () = {
            use #krate::__private as __lvt;

            #(#deps)*

            #persisted_field

            struct #wrapper #w_params #w_where {
                __lvt_state: &'a #name #ty_g,
                __lvt_cell: &'a __lvt::MarkQueue,
            }

            #marked_impl

            #plain_impl

            impl #w_impl ::core::ops::Deref for #wrapper #w_ty #w_where {
                type Target = #name #ty_g;
                fn deref(&self) -> &#name #ty_g {
                    self.__lvt_state
                }
            }

            impl #w_impl #wrapper #w_ty #w_where {
                #[inline]
                fn __lvt_m(&self, code: u32) -> __lvt::Mark<'a> {
                    __lvt::Mark::new(self.__lvt_cell, code)
                }
            }

            impl #impl_g __lvt::LiveState for #name #ty_g #where_c {
                fn render_tree(&self) -> __lvt::Result<__lvt::Tree> {
                    let cell = __lvt::MarkQueue::new();
                    let marked = #wrapper { __lvt_state: self, __lvt_cell: &cell };
                    let mut sink = __lvt::TreeSink::new(&cell);
                    __lvt::askama::Template::render_into_with_values(&marked, &mut sink, &__lvt::MarkValues(&cell))?;
                    sink.finish()
                }

                fn render_html(&self) -> __lvt::Result<::std::string::String> {
                    let cell = __lvt::MarkQueue::new();
                    let plain = #wrapper { __lvt_state: self, __lvt_cell: &cell };
                    let mut out = ::std::string::String::with_capacity(plain.__lvt_plain_hint());
                    plain.__lvt_render_plain(&mut out, __lvt::askama::NO_VALUES)?;
                    ::core::result::Result::Ok(out)
                }

                fn persisted_fields() -> &'static [&'static str] {
                    &[#(#names),*]
                }

                #streams_sent

                #errors_fn

                fn encode_field(&self, name: &str) -> ::core::option::Option<__lvt::Result<::std::vec::Vec<u8>>> {
                    match name {
                        #(#encode_arms)*
                        _ => ::core::option::Option::None,
                    }
                }

                fn decode_field(&mut self, name: &str, bytes: &[u8]) -> __lvt::Result<()> {
                    let _ = bytes;
                    match name {
                        #(#decode_arms)*
                        _ => ::core::result::Result::Err(__lvt::decode_error(::std::format!("no persisted field `{}`", name))),
                    }
                }
            }
        };
    };
    Ok(out)
}
