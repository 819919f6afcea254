//! Procedural macros of livetemplate: `#[derive(LiveState)]` and `#[actions]`.
//!
//! A thin shell: the lexer, markers and code generation live in `livetemplate-codegen`, an
//! ordinary library with its own tests. Use the macros through the `livetemplate` crate,
//! which documents them. `LIVETEMPLATE_MACROS_DEBUG=1` prints each expansion.

use proc_macro::TokenStream;

fn debug(name: &str, ts: &proc_macro2::TokenStream) {
    if std::env::var("LIVETEMPLATE_MACROS_DEBUG").is_ok_and(|v| v == "1") {
        eprintln!("// livetemplate {name} expansion:\n{ts}");
    }
}

/// Derive `LiveState` for a struct with named fields. See the `livetemplate` crate.
#[proc_macro_derive(LiveState, attributes(lvt))]
pub fn derive_live_state(input: TokenStream) -> TokenStream {
    let root = livetemplate_codegen::manifest_dir();
    let ts = livetemplate_codegen::derive_live_state(&root, input.into());
    debug("LiveState", &ts);
    ts.into()
}

/// Turn an impl block's `async fn name(&self, &mut State, &mut Context) -> Result<()>` methods
/// into actions. See the `livetemplate` crate.
#[proc_macro_attribute]
pub fn actions(args: TokenStream, input: TokenStream) -> TokenStream {
    let ts = livetemplate_codegen::actions(args.into(), input.into());
    debug("actions", &ts);
    ts.into()
}
