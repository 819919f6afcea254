//! askama's own verdict on the user's template, before the derive rewrites it.
//!
//! Some mistakes only askama's code generator finds (`{{ loop.revindex }}`, a macro called
//! with too few arguments, …). Left to the askama renders the derive generates, they would
//! be reported in terms of the flattened, marked source and the renamed
//! macro `__lvt_s0_m`. Instead, askama's generator runs here, as a library, on the template
//! exactly as the user wrote it (`path = "…"` or `source = "…"`): its message names the
//! user's macros and is mapped to the user's file and line (or the line of the `source`
//! attribute), and the derive then generates no wrapper.

use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::LitStr;

use crate::template::{Loader, TemplateError};

/// The struct askama checks; a `source = "…"` template is named `__LvtCheck.<ext>` in its
/// messages.
const CHECK_IDENT: &str = "__LvtCheck";

/// Whether askama, run here, reads the templates and `askama.toml` of `root`: it reads those
/// of `CARGO_MANIFEST_DIR` (else the current directory), which is `root` when the derive runs
/// in the compiler. Elsewhere (the golden tests give another root) the check is skipped and
/// the generated wrappers report what askama rejects.
pub(crate) fn askama_reads(root: &Path) -> bool {
    let askama_root = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
    match (askama_root.canonicalize(), root.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// What the template is, as `#[lvt(…)]` gives it.
pub(crate) enum Template<'a> {
    /// `template = "…"`: a file under the template directories.
    Path(&'a LitStr),
    /// `source = "…"` with its extension.
    Source(&'a LitStr, &'a str),
}

/// Run askama's code generator on `template` (in the syntax `syntax`, `None` for askama.toml's
/// default) and return what it rejects, each with the user's file and line.
pub(crate) fn askama_errors(loader: &Loader, template: &Template<'_>, syntax: Option<&LitStr>) -> Vec<TemplateError> {
    let attr = match template {
        Template::Path(p) => quote!(path = #p),
        Template::Source(s, ext) => quote!(source = #s, ext = #ext),
    };
    let syntax = syntax.map(|s| quote!(, syntax = #s));
    let ident = proc_macro2::Ident::new(CHECK_IDENT, proc_macro2::Span::call_site());
    let input = quote! {
        #[template(#attr #syntax)]
        struct #ident;
    };
    let out = askama_derive::derive_template(input, TokenStream::new);
    let ext = match template {
        Template::Path(_) => "",
        Template::Source(_, ext) => ext,
    };
    compile_errors(out).iter().map(|msg| locate(loader, msg, ext)).collect()
}

/// The messages of the `compile_error!("…")` invocations in `ts`, in order.
fn compile_errors(ts: TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    let toks: Vec<TokenTree> = ts.into_iter().collect();
    for (i, t) in toks.iter().enumerate() {
        match t {
            TokenTree::Ident(id) if id == "compile_error" => {
                let bang = matches!(toks.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                if let (true, Some(TokenTree::Group(g))) = (bang, toks.get(i + 2))
                    && let Ok(lit) = syn::parse2::<LitStr>(g.stream())
                {
                    out.push(lit.value());
                }
            }
            TokenTree::Group(g) => out.extend(compile_errors(g.stream())),
            _ => {}
        }
    }
    out
}

/// askama's message `msg` (`what\n  --> file:row:column\n"source after"…`) as a
/// [`TemplateError`] at the user's file and line. `ext` is the extension of a `source`
/// template (askama calls it `__LvtCheck.<ext>`).
fn locate(loader: &Loader, msg: &str, ext: &str) -> TemplateError {
    let Some((what, rest)) = msg.split_once("\n  --> ") else {
        return TemplateError {
            msg: msg.to_string(),
            place: None,
        };
    };
    let at = rest.lines().next().unwrap_or_default();
    let mut parts = at.rsplitn(3, ':');
    let (_column, row, file) = (parts.next(), parts.next(), parts.next());
    let (Some(row), Some(file)) = (row.and_then(|r| r.parse::<usize>().ok()), file) else {
        return TemplateError {
            msg: what.to_string(),
            place: None,
        };
    };
    let file = if file == format!("{CHECK_IDENT}.{ext}") {
        None
    } else {
        Some(resolve(loader, Path::new(file)))
    };
    TemplateError {
        msg: what.to_string(),
        place: Some((loader.display(file.as_deref()), row)),
    }
}

/// The template file askama names `path` (relative to the compiler's working directory),
/// as the loader knows it when it read it.
fn resolve(loader: &Loader, path: &Path) -> PathBuf {
    let abs = std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path));
    let Ok(canon) = abs.canonicalize() else {
        return path.to_path_buf();
    };
    loader
        .files
        .iter()
        .find(|f| f.canonicalize().is_ok_and(|c| c == canon))
        .cloned()
        .unwrap_or(canon)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(template: &Template<'_>) -> Vec<String> {
        let loader = Loader::new(Path::new(env!("CARGO_MANIFEST_DIR")));
        askama_errors(&loader, template, None)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// Outside the compiler askama keeps its own span and leaves the place out of the
    /// message (the ui tests show the place); the message itself comes through.
    #[test]
    fn what_askama_rejects_comes_back_once() {
        let src = LitStr::new(
            "<ul>\n{% for t in items %}\n<li>{{ loop.revindex }}</li>\n{% endfor %}</ul>",
            proc_macro2::Span::call_site(),
        );
        let got = errors(&Template::Source(&src, "html"));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].ends_with("unknown loop variable `revindex`"), "{got:?}");
        let src = LitStr::new(
            "{% macro m(a, b) %}{{ a }}{{ b }}{% endmacro %}\n\n{% call m(1) %}{% endcall %}",
            proc_macro2::Span::call_site(),
        );
        let got = errors(&Template::Source(&src, "html"));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].ends_with("missing argument when calling macro `m`: `b`"),
            "{got:?}"
        );
    }

    #[test]
    fn a_template_askama_accepts_has_no_error() {
        let src = LitStr::new(
            "{% for t in items %}{{ loop.index }}{{ t }}{% endfor %}",
            proc_macro2::Span::call_site(),
        );
        assert_eq!(errors(&Template::Source(&src, "html")), Vec::<String>::new());
    }

    #[test]
    fn messages_without_a_place_are_kept_whole() {
        let loader = Loader::new(Path::new("."));
        let e = locate(&loader, "no place here", "html");
        assert_eq!(e.to_string(), "no place here");
        let e = locate(&loader, "what\n  --> __LvtCheck.txt:4:2\n\"x\"", "txt");
        assert_eq!(e.to_string(), "line 4 of the `source` attribute: what");
        let e = locate(&loader, "what\n  --> templates/nowhere.html:7:1\n\"x\"", "html");
        assert_eq!(e.to_string(), "templates/nowhere.html:7: what");
    }
}
