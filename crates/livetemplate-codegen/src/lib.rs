//! The code generation behind `livetemplate-macros`, as an ordinary library so it can be
//! tested without a compiler in the loop (askama's `askama_derive` split).
//!
//! - [`derive_live_state`]: `#[derive(LiveState)]`. Reads `askama.toml` (the `config`
//!   module: template directories and delimiters), reads the template, flattens `extends`,
//!   `block`, `include`, `import` and macro calls (scoped as askama scopes them) into one
//!   source (the `template` module), checks it, wraps every expression, branch and loop in
//!   markers, and generates the askama templates and the `LiveState` impl.
//! - [`actions`]: `#[actions]` on an impl block, generating the `Controller` impl (or, for a
//!   read-only page, `IntoController`).
//!
//! Both take and return [`proc_macro2::TokenStream`]s; errors come back as
//! `compile_error!` tokens, so the proc-macro shell only converts types. The marker codes and
//! the action-name rule come from `livetemplate-contract`, which the runtime uses too.

mod actions;
mod askama_check;
mod check;
mod config;
mod live_state;
mod template;

use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;

/// Expand `#[derive(LiveState)]` on `input`, finding templates under `root` (the user crate's
/// `CARGO_MANIFEST_DIR`: `root/templates`, or the `dirs` of `root/askama.toml`).
///
/// Returns the generated items, or `compile_error!` invocations naming every mistake (in the
/// user's template file and line where the mistake is in a template). What askama's own
/// code generator rejects (`{{ loop.revindex }}`, a macro called with too few arguments) is
/// found by running it on the template as written, once, when `root` is the crate askama
/// reads (`CARGO_MANIFEST_DIR`, as in the compiler); with another `root` it surfaces from the
/// generated templates instead.
///
/// ```
/// let input: proc_macro2::TokenStream = quote::quote! {
///     #[lvt(source = "<p>{{ n }}</p>", ext = "html")]
///     struct Counter { n: i64 }
/// };
/// let out = livetemplate_codegen::derive_live_state(std::path::Path::new("."), input).to_string();
/// assert!(out.contains("impl __lvt :: LiveState for Counter"));
/// ```
pub fn derive_live_state(root: &Path, input: TokenStream) -> TokenStream {
    match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => live_state::derive(root, input).unwrap_or_else(|e| e.to_compile_error()),
        Err(e) => e.to_compile_error(),
    }
}

/// Expand `#[actions]` (with its arguments `args`) on the impl block `input`: a `Controller`
/// impl, or, for a block with no action and no hook (and no `state = ...`), an
/// `IntoController<S>` impl for every state `S` (a read-only page).
///
/// ```
/// let args = proc_macro2::TokenStream::new();
/// let input = quote::quote! {
///     impl Ctl {
///         async fn save_notes(&self, s: &mut S, ctx: &mut Context) -> Result<()> { Ok(()) }
///     }
/// };
/// let out = livetemplate_codegen::actions(args, input).to_string();
/// assert!(out.contains("\"save_notes\""));
/// ```
pub fn actions(args: TokenStream, input: TokenStream) -> TokenStream {
    match syn::parse2::<syn::ItemImpl>(input) {
        Ok(item) => actions::expand(args, item).unwrap_or_else(|e| e.to_compile_error()),
        Err(e) => e.to_compile_error(),
    }
}

/// The directory templates are looked up from: `CARGO_MANIFEST_DIR` of the crate being
/// compiled, else the current directory.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()))
}
