//! Procedural macros of livetemplate: `#[derive(LiveState)]` and `#[actions]`.
//!
//! Use them through the `livetemplate` crate, which documents them.

mod actions;
mod live_state;
mod template;

use proc_macro::TokenStream;

fn debug(name: &str, ts: &proc_macro2::TokenStream) {
    if std::env::var("LIVETEMPLATE_MACROS_DEBUG").is_ok_and(|v| v == "1") {
        eprintln!("// livetemplate {name} expansion:\n{ts}");
    }
}

/// Derive `LiveState` for a struct with named fields. See the `livetemplate` crate.
#[proc_macro_derive(LiveState, attributes(lvt))]
pub fn derive_live_state(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    match live_state::derive(input) {
        Ok(ts) => {
            debug("LiveState", &ts);
            ts.into()
        }
        Err(e) => e.to_compile_error().into(),
    }
}

/// Turn an impl block's `async fn name(&self, &mut State, &mut Context) -> Result<()>` methods
/// into actions. See the `livetemplate` crate.
#[proc_macro_attribute]
pub fn actions(args: TokenStream, input: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(input as syn::ItemImpl);
    match actions::expand(args.into(), item) {
        Ok(ts) => {
            debug("actions", &ts);
            ts.into()
        }
        Err(e) => e.to_compile_error().into(),
    }
}
