//! `#[actions]`: turns an impl block's async methods into a `Controller`.

use livetemplate_contract::normalize_action;
use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ItemImpl, LitStr, Path, Type};

const HOOKS: &[&str] = &["mount", "handle_params", "on_connect", "on_disconnect"];

fn state_type(arg: &FnArg) -> Option<&Type> {
    match arg {
        FnArg::Typed(pt) => match &*pt.ty {
            Type::Reference(r) if r.mutability.is_some() => Some(&r.elem),
            _ => None,
        },
        FnArg::Receiver(_) => None,
    }
}

/// Reads and removes the `#[lvt(...)]` attributes of an action method: returns whether it
/// is `#[lvt(server)]` (reachable from the server only).
fn take_lvt_attrs(f: &mut syn::ImplItemFn, errors: &mut Vec<syn::Error>) -> bool {
    let mut server = false;
    let mut kept = Vec::with_capacity(f.attrs.len());
    for attr in std::mem::take(&mut f.attrs) {
        if !attr.path().is_ident("lvt") {
            kept.push(attr);
            continue;
        }
        let res = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("server") {
                server = true;
                Ok(())
            } else {
                Err(meta.error("unknown `lvt` key on an action; expected `server`"))
            }
        });
        if let Err(e) = res {
            errors.push(e);
        }
    }
    f.attrs = kept;
    server
}

/// The return type written as `ty`, when it is certainly not `Result<()>` of livetemplate: a
/// `Result` whose value is not `()` or whose error is not an `Error`, an `Option`, a
/// reference, a tuple, an array. Other names (an alias of the user's, `Result<()>` of some
/// `use`) are left to the type checker.
fn not_unit_result(ty: &Type) -> Option<String> {
    let shown = || {
        let s = quote!(#ty).to_string();
        s.replace(" :: ", "::")
            .replace(" < ", "<")
            .replace(" >", ">")
            .replace(" ,", ",")
            .replace("& ", "&")
    };
    let path = match ty {
        Type::Path(p) if p.qself.is_none() => &p.path,
        Type::Paren(p) => return not_unit_result(&p.elem),
        Type::Reference(_) | Type::Tuple(_) | Type::Array(_) | Type::Slice(_) | Type::Ptr(_) | Type::Never(_) => {
            return Some(shown());
        }
        _ => return None,
    };
    let last = path.segments.last()?;
    let args: Vec<&syn::GenericArgument> = match &last.arguments {
        syn::PathArguments::AngleBracketed(a) => a.args.iter().collect(),
        _ => Vec::new(),
    };
    let is_unit =
        |a: &syn::GenericArgument| matches!(a, syn::GenericArgument::Type(Type::Tuple(t)) if t.elems.is_empty());
    let is_error = |a: &syn::GenericArgument| matches!(a, syn::GenericArgument::Type(Type::Path(p)) if p.path.segments.last().is_some_and(|s| s.ident == "Error"));
    let wrong = match last.ident.to_string().as_str() {
        "Option" | "bool" | "String" | "Vec" | "Box" => true,
        "Result" => match args.as_slice() {
            [v] => !is_unit(v),
            [v, e] => !is_unit(v) || !is_error(e),
            _ => false,
        },
        _ => false,
    };
    wrong.then(shown)
}

pub(crate) fn expand(args: TokenStream, mut item: ItemImpl) -> syn::Result<TokenStream> {
    let mut krate: Path = syn::parse_quote!(::livetemplate);
    let mut declared_state: Option<Type> = None;
    let mut component = false;
    if !args.is_empty() {
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("component") {
                component = true;
                Ok(())
            } else if meta.path.is_ident("crate") {
                let s: LitStr = meta.value()?.parse()?;
                krate = s.parse()?;
                Ok(())
            } else if meta.path.is_ident("state") {
                declared_state = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error("unknown `actions` argument; expected `component`, `state = Type` or `crate = \"...\"`"))
            }
        });
        syn::parse::Parser::parse2(parser, args)?;
    }
    let mut errors: Vec<syn::Error> = Vec::new();
    let mut state: Option<Type> = declared_state;
    let mut actions = Vec::new();
    let mut server_only = Vec::new();
    let mut hooks = Vec::new();
    // A component's `update` hook: its inputs type.
    let mut update: Option<Type> = None;
    for it in &mut item.items {
        let ImplItem::Fn(f) = it else { continue };
        let server = take_lvt_attrs(f, &mut errors);
        let f = &*f;
        let name = f.sig.ident.to_string();
        let inputs: Vec<&FnArg> = f.sig.inputs.iter().collect();
        if component && name == "update" {
            match component_update(f) {
                Ok((st, inputs_ty)) => {
                    match &state {
                        None => state = Some(st.clone()),
                        Some(prev) if quote!(#prev).to_string() != quote!(#st).to_string() => {
                            errors.push(syn::Error::new(
                                st.span(),
                                format!("`update` must take the actions' state type (`{}`)", quote!(#prev)),
                            ));
                        }
                        _ => {}
                    }
                    update = Some(inputs_ty);
                }
                Err(e) => errors.push(e),
            }
            continue;
        }
        if component && matches!(name.as_str(), "handle_params" | "on_connect" | "on_disconnect") {
            errors.push(syn::Error::new(
                f.sig.ident.span(),
                format!(
                    "`{name}` is a page hook; a component has `mount(state, ctx)` and `update(state, inputs, ctx)` only"
                ),
            ));
            continue;
        }
        if f.sig.asyncness.is_none() {
            // A method shaped like an action but not async would silently never be callable.
            let looks_like_action = inputs.len() == 3
                && matches!(inputs[2], FnArg::Typed(pt) if quote!(#pt).to_string().contains("Context"));
            if looks_like_action {
                errors.push(syn::Error::new(
                    f.sig.fn_token.span(),
                    format!("action `{name}` must be `async fn`"),
                ));
            }
            continue;
        }
        let ok_shape = inputs.len() == 3
            && matches!(inputs[0], FnArg::Receiver(r) if r.reference.is_some() && r.mutability.is_none());
        if ok_shape && matches!(f.sig.output, syn::ReturnType::Default) {
            errors.push(syn::Error::new(
                f.sig.ident.span(),
                format!("action `{name}` must return `Result<()>` (`livetemplate::Result<()>`)"),
            ));
        }
        if ok_shape
            && let syn::ReturnType::Type(_, ty) = &f.sig.output
            && let Some(found) = not_unit_result(ty)
        {
            errors.push(syn::Error::new_spanned(
                ty,
                format!(
                    "action `{name}` must return `Result<()>` of the prelude (`std::result::Result<(), livetemplate::Error>`), not `{found}`; turn another error into an `Error` with `?` or `Error::msg`"
                ),
            ));
        }
        let st = if ok_shape { state_type(inputs[1]) } else { None };
        let Some(st) = st else {
            errors.push(syn::Error::new(
                f.sig.inputs.span(),
                format!(
                    "action `{name}` must take `(&self, state: &mut State, ctx: &mut Context)` and return `Result<()>`"
                ),
            ));
            continue;
        };
        match &state {
            None => state = Some(st.clone()),
            Some(prev) if quote!(#prev).to_string() != quote!(#st).to_string() => {
                errors.push(syn::Error::new(
                    st.span(),
                    format!("all actions must take the same state type (`{}`)", quote!(#prev)),
                ));
            }
            _ => {}
        }
        if HOOKS.contains(&name.as_str()) {
            if server {
                errors.push(syn::Error::new(
                    f.sig.ident.span(),
                    format!("`{name}` is a lifecycle hook, not an action: `#[lvt(server)]` does not apply"),
                ));
            }
            hooks.push(f.sig.ident.clone());
        } else {
            if server {
                server_only.push(LitStr::new(&normalize_action(&name), f.sig.ident.span()));
            }
            actions.push((normalize_action(&name), f.sig.ident.clone()));
        }
    }
    if let Some(first) = errors.first().cloned() {
        return Err(errors.into_iter().skip(1).fold(first, |mut a, e| {
            a.combine(e);
            a
        }));
    }
    let Some(state) = state else {
        // No action and no hook names the page's state type: a read-only page, whose state
        // type the page learns from its initial state.
        if component {
            return Err(syn::Error::new(
                item.self_ty.span(),
                "a component needs an action or a hook taking its state (`&mut State`)",
            ));
        }
        return Ok(expand_read_only(&krate, item));
    };
    let self_ty = &item.self_ty;
    let names: Vec<LitStr> = actions.iter().map(|(n, i)| LitStr::new(n, i.span())).collect();
    let idents: Vec<_> = actions.iter().map(|(_, i)| i.clone()).collect();
    let hook_fns = hooks.iter().map(|h| {
        quote! {
            fn #h<'a>(&'a self, state: &'a mut #state, ctx: &'a mut __lvt::Context) -> __lvt::BoxFuture<'a, __lvt::Result<()>> {
                ::std::boxed::Box::pin(<#self_ty>::#h(self, state, ctx))
            }
        }
    });
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let component_impl = component.then(|| {
        let inputs_ty = update.clone().unwrap_or_else(|| syn::parse_quote!(()));
        let update_fn = update.as_ref().map(|inputs_ty| {
            quote! {
                fn update<'a>(
                    &'a self,
                    state: &'a mut #state,
                    inputs: &'a #inputs_ty,
                    ctx: &'a mut __lvt::Context,
                ) -> __lvt::BoxFuture<'a, __lvt::Result<()>> {
                    ::std::boxed::Box::pin(<#self_ty>::update(self, state, inputs, ctx))
                }
            }
        });
        let create = quote::quote_spanned!(self_ty.span()=> Self);
        let state_check = quote::quote_spanned!(state.span()=> __lvt::component_state::<#state>);
        quote! {
            const _: fn() = #state_check;

            impl #impl_generics __lvt::Component for #self_ty #where_clause {
                type Inputs = #inputs_ty;

                fn create() -> Self {
                    #create
                }

                #update_fn
            }
        }
    });
    Ok(quote! {
        #item

        const _: () = {
            use #krate::__private as __lvt;

            impl #impl_generics __lvt::Controller for #self_ty #where_clause {
                type State = #state;

                fn action_names(&self) -> &'static [&'static str] {
                    &[#(#names),*]
                }

                fn server_actions(&self) -> &'static [&'static str] {
                    &[#(#server_only),*]
                }

                fn call<'a>(
                    &'a self,
                    name: &'a str,
                    state: &'a mut #state,
                    ctx: &'a mut __lvt::Context,
                ) -> __lvt::BoxFuture<'a, __lvt::Result<()>> {
                    match name {
                        #(#names => ::std::boxed::Box::pin(<#self_ty>::#idents(self, state, ctx)),)*
                        _ => {
                            let known = <Self as __lvt::Controller>::action_names(self);
                            let err = __lvt::unknown_action(name, ctx.page(), known);
                            ::std::boxed::Box::pin(async move { ::core::result::Result::Err(err) })
                        }
                    }
                }

                #(#hook_fns)*
            }

            #component_impl
        };
    })
}

/// The state and inputs types of a component's `update` hook, which must be
/// `async fn update(&self, state: &mut S, inputs: &I, ctx: &mut Context) -> Result<()>`.
fn component_update(f: &syn::ImplItemFn) -> syn::Result<(Type, Type)> {
    let wrong = || {
        syn::Error::new(
            f.sig.span(),
            "a component's `update` must be `async fn update(&self, state: &mut State, inputs: &Inputs, ctx: &mut Context) -> Result<()>`",
        )
    };
    let inputs: Vec<&FnArg> = f.sig.inputs.iter().collect();
    if f.sig.asyncness.is_none() || inputs.len() != 4 || matches!(f.sig.output, syn::ReturnType::Default) {
        return Err(wrong());
    }
    if !matches!(inputs[0], FnArg::Receiver(r) if r.reference.is_some() && r.mutability.is_none()) {
        return Err(wrong());
    }
    let state = state_type(inputs[1]).ok_or_else(wrong)?.clone();
    let inputs_ty = match inputs[2] {
        FnArg::Typed(pt) => match &*pt.ty {
            Type::Reference(r) if r.mutability.is_none() => (*r.elem).clone(),
            _ => {
                return Err(syn::Error::new(
                    pt.ty.span(),
                    "`update` takes its inputs by shared reference: `inputs: &Inputs`",
                ));
            }
        },
        FnArg::Receiver(_) => return Err(wrong()),
    };
    if state_type(inputs[3]).is_none() {
        return Err(wrong());
    }
    Ok((state, inputs_ty))
}

/// An impl block with no action and no hook (and no `state = ...`): the type runs a read-only
/// page of any state, through `IntoController<S>` and the `ReadOnly` controller.
fn expand_read_only(krate: &Path, item: ItemImpl) -> TokenStream {
    let self_ty = &item.self_ty;
    let mut generics = item.generics.clone();
    generics.params.push(syn::parse_quote!(__LvtState: __lvt::LiveState));
    generics
        .make_where_clause()
        .predicates
        .push(syn::parse_quote!(#self_ty: ::core::marker::Send + ::core::marker::Sync + 'static));
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    quote! {
        #item

        const _: () = {
            use #krate::__private as __lvt;

            impl #impl_generics __lvt::IntoController<__LvtState> for #self_ty #where_clause {
                type Controller = __lvt::ReadOnly<Self, __LvtState>;

                fn into_controller(self) -> Self::Controller {
                    __lvt::ReadOnly::new(self)
                }
            }
        };
    }
}
