//! Golden tests of the expansions: each case's generated code, pretty-printed, must equal the
//! checked-in file under `tests/golden/`. After an intended change of the generated code,
//! re-bless with `LIVETEMPLATE_BLESS=1 cargo test -p livetemplate-codegen --test golden` and
//! review the diff.

use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::quote;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Pretty-print `ts` and compare it with `tests/golden/<name>.rs` (or write it when blessing).
fn check(name: &str, ts: TokenStream) {
    let file: syn::File = syn::parse2(ts).unwrap_or_else(|e| panic!("{name}: the expansion does not parse: {e}"));
    // Paths of template files (in `include_bytes!`) depend on the checkout: show them relative.
    let root = golden_dir().display().to_string();
    let pretty = prettyplease::unparse(&file).replace(&root, "$GOLDEN");
    let path = golden_dir().join(format!("{name}.rs"));
    if std::env::var("LIVETEMPLATE_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &pretty).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e} (bless with LIVETEMPLATE_BLESS=1)", path.display()));
    assert!(
        want == pretty,
        "the expansion of `{name}` differs from {}; if intended, re-bless with LIVETEMPLATE_BLESS=1\n--- got ---\n{pretty}",
        path.display()
    );
}

fn derive(input: TokenStream) -> TokenStream {
    livetemplate_codegen::derive_live_state(&golden_dir(), input)
}

#[test]
fn derive_inline_source_with_persisted_fields() {
    check(
        "derive_source",
        derive(quote! {
            #[lvt(source = "<p>{{ n }}</p>{% if on %}<i>{{ label|upper }}</i>{% endif %}{% for x in xs %}{{ x }}{% endfor %}", ext = "html")]
            struct Counter {
                #[lvt(persist)]
                n: i64,
                #[lvt(persist(version = 2, migrate = crate::upgrade))]
                label: String,
                on: bool,
                xs: Vec<u8>,
            }
        }),
    );
}

#[test]
fn derive_file_with_extends_import_super() {
    check(
        "derive_file",
        derive(quote! {
            #[lvt(template = "page.html")]
            struct Todos {
                title: String,
                todos: Vec<String>,
            }
        }),
    );
}

/// `askama.toml` with a multi-line `dirs` array and a custom default syntax: the template is
/// found in `tpl/`, lexed and marked with `[% %]`, `[[ ]]`, `[# #]`; `{{` and `{%` are text.
#[test]
fn derive_custom_syntax_and_multi_line_dirs() {
    let root = golden_dir().join("custom_syntax");
    let ts = livetemplate_codegen::derive_live_state(
        &root,
        quote! {
            #[lvt(template = "square.html")]
            struct Todos {
                title: String,
                todos: Vec<String>,
            }
        },
    );
    check("derive_custom_syntax", ts);
}

#[test]
fn derive_generic_state() {
    check(
        "derive_generic",
        derive(quote! {
            #[lvt(source = "<p>{{ tag.label() }} {{ Self::kind() }}</p>", ext = "html")]
            struct Tagged<T: Label> where T: Clone {
                tag: T,
            }
        }),
    );
}

#[test]
fn actions_with_hooks_and_server_actions() {
    check(
        "actions_basic",
        livetemplate_codegen::actions(
            TokenStream::new(),
            quote! {
                impl Ctl {
                    async fn mount(&self, s: &mut S, ctx: &mut Context) -> Result<()> { Ok(()) }
                    async fn saveNotes(&self, s: &mut S, ctx: &mut Context) -> Result<()> { Ok(()) }
                    #[lvt(server)]
                    async fn tick(&self, s: &mut S, ctx: &mut Context) -> Result<()> { Ok(()) }
                    fn helper(&self) -> u8 { 1 }
                }
            },
        ),
    );
}

#[test]
fn actions_generic_controller() {
    check(
        "actions_generic",
        livetemplate_codegen::actions(
            TokenStream::new(),
            quote! {
                impl<S: LiveState + Default> Ctl<S> where S: Clone {
                    async fn reset(&self, s: &mut S, ctx: &mut Context) -> Result<()> { *s = S::default(); Ok(()) }
                }
            },
        ),
    );
}

#[test]
fn actions_read_only_page() {
    check(
        "actions_read_only",
        livetemplate_codegen::actions(quote!(state = About, crate = "::lt"), quote!(impl AboutCtl {})),
    );
}

/// `#[actions] impl About {}`: nothing names the state, so the type becomes a read-only page
/// of whatever state it is given (`IntoController<S>` through `ReadOnly`).
#[test]
fn actions_empty_impl_is_a_read_only_page_of_any_state() {
    check(
        "actions_empty",
        livetemplate_codegen::actions(TokenStream::new(), quote!(impl About {})),
    );
}

#[test]
fn errors_are_compile_errors() {
    let out = derive(quote! {
        #[lvt(source = "{{ nope }}", ext = "html")]
        struct S { n: i64 }
    })
    .to_string();
    assert!(out.contains("compile_error"), "{out}");
    assert!(out.contains("line 1 of the `source` attribute: `nope`"), "{out}");
}

#[test]
fn actions_component() {
    check(
        "actions_component",
        livetemplate_codegen::actions(
            quote!(component),
            quote! {
                impl CounterComponent {
                    async fn update(&self, s: &mut Counter, inputs: &CounterInputs, ctx: &mut Context) -> Result<()> { Ok(()) }
                    async fn inc(&self, s: &mut Counter, ctx: &mut Context) -> Result<()> { Ok(()) }
                }
            },
        ),
    );
}
