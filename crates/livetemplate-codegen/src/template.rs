//! Template source handling: a small lexer over askama syntax (with the delimiters of the
//! template's syntax), flattening of `extends`, `block`, `include`, `import` and macro calls
//! (askama's scoping: each macro written once per scope it is called in, renamed), `Self`
//! replacement, and the injection of boundary markers around every expression, branch and
//! loop.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use livetemplate_contract::mark;

use crate::config::Delims;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Expr,
    Block,
    Comment,
}

/// One piece of template source.
#[derive(Debug, Clone)]
enum Token<'s> {
    Lit(&'s str),
    Tag {
        kind: TagKind,
        /// The whole tag text, delimiters included.
        full: &'s str,
        /// Whitespace control at the start (`-`, `+`, `~`).
        ws_l: Option<char>,
        /// Whitespace control at the end.
        ws_r: Option<char>,
        /// Inside, without delimiters and whitespace-control marks.
        inner: &'s str,
    },
}

fn is_ws_mark(c: u8) -> bool {
    matches!(c, b'-' | b'+' | b'~')
}

/// Split `src` into literal text and tags, under the delimiters `d`.
fn lex<'s>(src: &'s str, d: &Delims) -> Result<Vec<Token<'s>>, String> {
    let b = src.as_bytes();
    // Longest opener first, so an opener that is a prefix of another does not win.
    let mut openers = [
        (d.expr_start.as_bytes(), d.expr_end.as_bytes(), TagKind::Expr),
        (d.block_start.as_bytes(), d.block_end.as_bytes(), TagKind::Block),
        (d.comment_start.as_bytes(), d.comment_end.as_bytes(), TagKind::Comment),
    ];
    openers.sort_by_key(|(open, _, _)| std::cmp::Reverse(open.len()));
    let mut out = Vec::new();
    let mut i = 0;
    let mut lit_start = 0;
    while i < b.len() {
        let Some(&(open, close, kind)) = openers.iter().find(|(open, _, _)| b[i..].starts_with(open)) else {
            i += 1;
            continue;
        };
        if lit_start < i {
            out.push(Token::Lit(&src[lit_start..i]));
        }
        let start = i;
        let end = match kind {
            TagKind::Comment => find_comment_end(b, i, open, close)?,
            _ => find_tag_end(b, i + open.len(), close)?,
        };
        // `end` is the index just past the closing delimiter.
        let body_start = start + open.len();
        let body_end = end - close.len();
        let mut is = body_start;
        let mut ie = body_end;
        let ws_l = if is < ie && is_ws_mark(b[is]) {
            is += 1;
            Some(b[is - 1] as char)
        } else {
            None
        };
        let ws_r = if ie > is && is_ws_mark(b[ie - 1]) {
            ie -= 1;
            Some(b[ie] as char)
        } else {
            None
        };
        out.push(Token::Tag {
            kind,
            full: &src[start..end],
            ws_l,
            ws_r,
            inner: &src[is..ie],
        });
        i = end;
        lit_start = end;
        // `{% raw %}`: everything up to `{% endraw %}` is literal.
        if kind == TagKind::Block && keyword(&src[is..ie]).0 == "raw" {
            let rest = &src[end..];
            let (bs, be) = (d.block_start.as_str(), d.block_end.as_bytes());
            let mut search = 0;
            loop {
                let Some(p) = rest[search..].find(bs) else {
                    return Err(format!("unclosed `{bs} raw {}`", d.block_end));
                };
                let p = search + p;
                let tag_end = find_tag_end(rest.as_bytes(), p + bs.len(), be)?;
                let tag = &rest[p + bs.len()..tag_end - be.len()];
                let tag = tag.trim_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '+' | '~'));
                if tag == "endraw" {
                    if p > 0 {
                        out.push(Token::Lit(&rest[..p]));
                    }
                    let full = &rest[p..tag_end];
                    let tb = full.as_bytes();
                    let (l, r) = (tb[bs.len()], tb[tb.len() - be.len() - 1]);
                    out.push(Token::Tag {
                        kind: TagKind::Block,
                        full,
                        ws_l: is_ws_mark(l).then_some(l as char),
                        ws_r: is_ws_mark(r).then_some(r as char),
                        inner: "endraw",
                    });
                    i = end + tag_end;
                    lit_start = i;
                    break;
                }
                search = tag_end;
            }
        }
    }
    if lit_start < src.len() {
        out.push(Token::Lit(&src[lit_start..]));
    }
    Ok(out)
}

fn find_comment_end(b: &[u8], start: usize, open: &[u8], close: &[u8]) -> Result<usize, String> {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        if b[i..].starts_with(open) {
            depth += 1;
            i += open.len();
        } else if b[i..].starts_with(close) {
            depth -= 1;
            i += close.len();
            if depth == 0 {
                return Ok(i);
            }
        } else {
            i += 1;
        }
    }
    Err(format!("unclosed comment `{}`", String::from_utf8_lossy(open)))
}

/// Find the end of a tag whose body starts at `i`, closing with `close`; skips string and
/// char literals.
fn find_tag_end(b: &[u8], mut i: usize, close: &[u8]) -> Result<usize, String> {
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'\'' => {
                // A char literal 'x' or '\n'; a lone quote (lifetime-like) is skipped.
                if i + 2 < b.len() && b[i + 1] == b'\\' {
                    let mut j = i + 2;
                    while j < b.len() && b[j] != b'\'' && j < i + 12 {
                        j += 1;
                    }
                    i = j + 1;
                } else if i + 2 < b.len() && b[i + 2] == b'\'' {
                    i += 3;
                } else {
                    // Multi-byte char literal: find the closing quote within 5 bytes.
                    let mut j = i + 1;
                    while j < b.len() && j < i + 6 && b[j] != b'\'' {
                        j += 1;
                    }
                    i = if j < b.len() && b[j] == b'\'' && j > i + 1 {
                        j + 1
                    } else {
                        i + 1
                    };
                }
            }
            _ if b[i..].starts_with(close) => return Ok(i + close.len()),
            _ => i += 1,
        }
    }
    Err(format!("unclosed tag: expected `{}`", String::from_utf8_lossy(close)))
}

/// The first word of a block tag and the rest.
fn keyword(inner: &str) -> (&str, &str) {
    let t = inner.trim_start();
    let end = t.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(t.len());
    (&t[..end], t[end..].trim())
}

/// Where a piece of template source comes from, for error messages: the file (or the
/// `source` attribute) and the line its first byte is on.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// The template file; `None` for a `source = "…"` template.
    pub(crate) file: Option<PathBuf>,
    /// Lines before the piece's first byte in its file.
    pub(crate) line0: usize,
}

impl Origin {
    pub(crate) fn file(file: Option<&Path>) -> Self {
        Origin {
            file: file.map(Path::to_path_buf),
            line0: 0,
        }
    }

    /// The origin of `src[offset..]`, where `src` starts at `self`.
    fn at(&self, src: &str, offset: usize) -> Self {
        Origin {
            file: self.file.clone(),
            line0: self.line0
                + src.as_bytes()[..offset.min(src.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count(),
        }
    }
}

/// How errors name a `source = "…"` template.
const SOURCE_ATTRIBUTE: &str = "the `source` attribute";

/// A template mistake: the message and where it is.
#[derive(Debug, Clone)]
pub(crate) struct TemplateError {
    pub(crate) msg: String,
    /// The template file (relative to the crate root when it is inside it) and the 1-based
    /// line; `None` where no place is known.
    pub(crate) place: Option<(String, usize)>,
}

impl TemplateError {
    fn at(loader: &Loader, origin: &Origin, src: &str, offset: usize, msg: impl Into<String>) -> Self {
        let o = origin.at(src, offset);
        TemplateError {
            msg: msg.into(),
            place: Some((loader.display(o.file.as_deref()), o.line0 + 1)),
        }
    }
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.place {
            Some((file, line)) if file == SOURCE_ATTRIBUTE => write!(f, "line {line} of {file}: {}", self.msg),
            Some((file, line)) => write!(f, "{file}:{line}: {}", self.msg),
            None => f.write_str(&self.msg),
        }
    }
}

/// Byte offset of `part` inside `whole` (`part` must be a subslice of `whole`).
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// Parse `src` with askama's own parser so syntax mistakes are reported as askama reports
/// them, with the user's file and line, before any rewriting.
pub(crate) fn check_syntax(loader: &Loader, src: &str, origin: &Origin) -> Result<(), TemplateError> {
    let syntax = loader
        .delims
        .parser_syntax()
        .map_err(|e| TemplateError { msg: e, place: None })?;
    match askama_parser::Ast::from_str(src, None, &syntax) {
        Ok(_) => Ok(()),
        Err(e) => {
            let msg = e.message.as_deref().unwrap_or("invalid syntax").to_string();
            Err(TemplateError::at(loader, origin, src, e.offset, msg))
        }
    }
}

/// Names the templates read that are neither a field (`fields`) nor bound anywhere in them:
/// one error per name and place, with the user's file and line.
pub(crate) fn check_names(loader: &Loader, fields: &std::collections::HashSet<String>) -> Vec<TemplateError> {
    let Ok(syntax) = loader.delims.parser_syntax() else {
        return Vec::new();
    };
    let parsed: Vec<_> = loader
        .sources
        .iter()
        .filter_map(|(o, src)| Some((o, src, askama_parser::Ast::from_str(src, None, &syntax).ok()?)))
        .collect();
    let mut bound = std::collections::HashSet::new();
    for (_, _, ast) in &parsed {
        crate::check::collect_bound(ast.nodes(), &mut bound);
    }
    let mut fields_list: Vec<&str> = fields.iter().map(String::as_str).collect();
    fields_list.sort_unstable();
    let mut errors = Vec::new();
    for (origin, src, ast) in &parsed {
        let mut unknown = Vec::new();
        crate::check::unknown_names(ast.nodes(), fields, &bound, &mut unknown);
        for u in unknown {
            let msg = if u.name.starts_with("self.") {
                format!(
                    "`{}`: no such field on the state (fields: {})",
                    u.name,
                    fields_list.join(", ")
                )
            } else {
                format!(
                    "`{}` is neither a field of the state nor a variable of the template (fields: {})",
                    u.name,
                    fields_list.join(", ")
                )
            };
            errors.push(TemplateError::at(loader, origin, src, u.offset, msg));
        }
    }
    errors
}

/// A block body, with the file it was written in (includes resolve relative to it).
#[derive(Debug, Clone)]
struct Body {
    src: String,
    origin: Origin,
    /// Whitespace control inside the body's own `{% block %}` and `{% endblock %}` tags
    /// (askama applies the outer marks of the tags being replaced and the inner marks of the
    /// body chosen).
    ws_inner: (Option<char>, Option<char>),
    /// The macro scope of the template the body was written in.
    scope: ScopeId,
}

/// Block bodies by name, the most derived template's first: `super()` in one renders the next.
type Overrides = HashMap<String, Vec<Body>>;

/// Index of a [`Scope`] in [`Loader::scopes`].
type ScopeId = usize;

/// The macros and imports a piece of template sees (askama's `Context`): a macro name to its
/// definition (an index in [`Loader::macros`]), an import scope to the imported file's own
/// scope. Interned, so equal scopes share one id and one copy of each macro.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Scope {
    macros: BTreeMap<String, usize>,
    imports: BTreeMap<String, ScopeId>,
}

/// A `{% macro %}…{% endmacro %}` as written.
#[derive(Debug, Clone)]
struct MacroDef {
    /// What follows `macro` in the opening tag: `name(args)`.
    signature: String,
    /// Whitespace control inside the tags: after `{% macro … ` and before ` endmacro %}`.
    ws_inner: (Option<char>, Option<char>),
    /// The name after `endmacro`, if written.
    end_name: bool,
    body: String,
    origin: Origin,
}

/// A template file's own items outside blocks: macro definitions and imports.
enum TopItem {
    Macro { name: String, def: MacroDef },
    Import { path: String, scope: String, at: usize },
}

/// Reads templates from the template directories and records every file it read.
#[derive(Debug)]
pub(crate) struct Loader {
    root: PathBuf,
    dirs: Vec<PathBuf>,
    pub(crate) files: Vec<PathBuf>,
    /// Every template source read (the root and each file once), for the name check.
    sources: Vec<(Origin, String)>,
    /// The delimiters of the template's syntax.
    pub(crate) delims: Delims,
    /// Every macro definition read.
    macros: Vec<MacroDef>,
    /// Interned scopes and their ids.
    scopes: Vec<Scope>,
    scope_ids: HashMap<Scope, ScopeId>,
    /// Each file's own scope (`None`: the `source` attribute).
    own_scopes: HashMap<Option<PathBuf>, ScopeId>,
    /// Macro copies already asked for, by scope and name, and those still to write.
    wanted: std::collections::HashSet<(ScopeId, String)>,
    pending: Vec<(ScopeId, String)>,
}

impl Loader {
    /// A loader over `templates/` with the default syntax.
    #[cfg(test)]
    pub(crate) fn new(root: &Path) -> Self {
        Self::with_config(root, &[], Delims::default())
    }

    /// A loader over `dirs` (relative to `root`; `templates` when empty), reading templates
    /// written with the delimiters `delims`.
    pub(crate) fn with_config(root: &Path, dirs: &[String], delims: Delims) -> Self {
        let mut dirs: Vec<PathBuf> = dirs.iter().map(|d| root.join(d)).collect();
        if dirs.is_empty() {
            dirs.push(root.join("templates"));
        }
        Loader {
            root: root.to_path_buf(),
            dirs,
            files: Vec::new(),
            sources: Vec::new(),
            delims,
            macros: Vec::new(),
            scopes: Vec::new(),
            scope_ids: HashMap::new(),
            own_scopes: HashMap::new(),
            wanted: std::collections::HashSet::new(),
            pending: Vec::new(),
        }
    }

    /// A template file as the user knows it: relative to the crate root when inside it.
    pub(crate) fn display(&self, file: Option<&Path>) -> String {
        match file {
            None => SOURCE_ATTRIBUTE.into(),
            Some(p) => p.strip_prefix(&self.root).unwrap_or(p).display().to_string(),
        }
    }

    /// The template directories, relative to the crate root when inside it.
    pub(crate) fn dirs_display(&self) -> String {
        self.dirs
            .iter()
            .map(|d| format!("`{}`", self.display(Some(d))))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(crate) fn find(&self, name: &str, from: Option<&Path>) -> Option<PathBuf> {
        if let Some(dir) = from.and_then(Path::parent) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
        self.dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())
    }

    /// Read template `name` (relative to `from`'s directory or the template directories) and
    /// check its syntax.
    fn load(&mut self, name: &str, from: Option<&Path>) -> Result<(PathBuf, String), String> {
        let path = self
            .find(name, from)
            .ok_or_else(|| format!("template `{name}` not found (looked in {})", self.dirs_display()))?;
        let src = read_template(&path)?;
        if !self.files.contains(&path) {
            self.files.push(path.clone());
        }
        Ok((path, src))
    }

    fn intern(&mut self, scope: Scope) -> ScopeId {
        if let Some(&id) = self.scope_ids.get(&scope) {
            return id;
        }
        let id = self.scopes.len();
        self.scopes.push(scope.clone());
        self.scope_ids.insert(scope, id);
        id
    }

    /// `own` with the macros and imports of `outer` it does not define itself: what a block
    /// body, an included file or a `super()` body sees (askama's rule: the template the text
    /// was written in first, then the one it is rendered inside).
    fn merge(&mut self, own: ScopeId, outer: ScopeId) -> ScopeId {
        if own == outer {
            return own;
        }
        let mut s = self.scopes[own].clone();
        for (k, v) in &self.scopes[outer].macros {
            s.macros.entry(k.clone()).or_insert(*v);
        }
        for (k, v) in &self.scopes[outer].imports {
            s.imports.entry(k.clone()).or_insert(*v);
        }
        self.intern(s)
    }

    /// The name the copy of macro `name` as seen in `scope` is written under, asking for
    /// that copy to be written.
    fn want(&mut self, scope: ScopeId, name: &str) -> String {
        let key = (scope, name.to_string());
        if !self.wanted.contains(&key) {
            self.wanted.insert(key.clone());
            self.pending.push(key);
        }
        format!("__lvt_s{scope}_{name}")
    }
}

/// Read a template file as askama does: one trailing `\n` is dropped.
pub(crate) fn read_template(path: &Path) -> Result<String, String> {
    let mut src =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read template `{}`: {e}", path.display()))?;
    if src.ends_with('\n') {
        src.pop();
    }
    Ok(src)
}

fn string_arg(rest: &str) -> Option<&str> {
    let rest = rest.trim();
    let rest = rest.strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

/// Every `{% block name %}…{% endblock %}` body (nested ones too) of `src` (which starts at
/// `origin` and has the macro scope `scope`), with its place and inner whitespace control.
fn collect_blocks(src: &str, d: &Delims, origin: &Origin, scope: ScopeId) -> Result<HashMap<String, Body>, String> {
    let toks = lex(src, d)?;
    let mut out = HashMap::new();
    let mut stack: Vec<(String, usize, Option<char>)> = Vec::new();
    for t in &toks {
        if let Token::Tag {
            kind: TagKind::Block,
            inner,
            full,
            ws_l,
            ws_r,
        } = t
        {
            let (kw, rest) = keyword(inner);
            let at = offset_in(src, full);
            if kw == "block" {
                stack.push((
                    rest.split_whitespace().next().unwrap_or("").to_string(),
                    at + full.len(),
                    *ws_r,
                ));
            } else if kw == "endblock" {
                let (name, start, open_ws) = stack.pop().ok_or("`endblock` without `block`")?;
                out.entry(name).or_insert_with(|| Body {
                    src: src[start..at].to_string(),
                    origin: origin.at(src, start),
                    ws_inner: (open_ws, *ws_l),
                    scope,
                });
            }
        }
    }
    if !stack.is_empty() {
        return Err("unclosed `block`".into());
    }
    Ok(out)
}

/// The index of the tag closing the `{% macro %}` at `toks[open]` (nested macros counted).
fn macro_end(toks: &[Token<'_>], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(open) {
        if let Token::Tag {
            kind: TagKind::Block,
            inner,
            ..
        } = t
        {
            match keyword(inner).0 {
                "macro" => depth += 1,
                "endmacro" => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(j);
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// The macro definitions and imports of `src` outside blocks (askama's template context;
/// a child template's other text outside blocks is dropped).
fn top_level(src: &str, d: &Delims, origin: &Origin) -> Result<Vec<TopItem>, String> {
    let toks = lex(src, d)?;
    let mut out = Vec::new();
    let mut block_depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        if let Token::Tag {
            kind: TagKind::Block,
            inner,
            full,
            ws_r,
            ..
        } = &toks[i]
        {
            let at = offset_in(src, full);
            let (kw, rest) = keyword(inner);
            match kw {
                "macro" if block_depth == 0 => {
                    let end = macro_end(&toks, i).ok_or("`macro` is not closed")?;
                    let Token::Tag {
                        full: end_full,
                        inner: end_inner,
                        ws_l: end_ws,
                        ..
                    } = &toks[end]
                    else {
                        return Err("`macro` is not closed".into());
                    };
                    let body_start = at + full.len();
                    let body_end = offset_in(src, end_full);
                    let name = rest[..rest.find('(').unwrap_or(rest.len())].trim().to_string();
                    out.push(TopItem::Macro {
                        name,
                        def: MacroDef {
                            signature: rest.to_string(),
                            ws_inner: (*ws_r, *end_ws),
                            end_name: !keyword(end_inner).1.is_empty(),
                            body: src[body_start..body_end].to_string(),
                            origin: origin.at(src, body_start),
                        },
                    });
                    i = end;
                }
                "import" if block_depth == 0 => {
                    let path = string_arg(rest).ok_or("`import` needs a string path")?;
                    let scope = rest
                        .rsplit_once(" as ")
                        .map(|(_, s)| s.trim().to_string())
                        .ok_or("`import` needs `as scope`")?;
                    out.push(TopItem::Import {
                        path: path.to_string(),
                        scope,
                        at,
                    });
                }
                "block" => block_depth += 1,
                "endblock" => block_depth = block_depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    Ok(out)
}

/// The name a `{% call %}` tag calls, as `(scope, name)` with their offsets in `inner`, from
/// `call name(…)`, `call scope::name(…)` or `call(args) name(…)`.
fn call_target(inner: &str) -> Option<(Option<&str>, &str, usize)> {
    let t = inner.trim_start();
    let lead = inner.len() - t.len();
    let rest = t.strip_prefix("call")?;
    let mut pos = lead + 4;
    let mut r = rest;
    let trimmed = r.trim_start();
    if trimmed.starts_with('(') {
        let close = trimmed.find(')')?;
        let skip = r.len() - trimmed.len() + close + 1;
        pos += skip;
        r = &r[skip..];
    }
    let trimmed = r.trim_start();
    pos += r.len() - trimmed.len();
    let end = trimmed.find('(')?;
    let path = trimmed[..end].trim_end();
    match path.split_once("::") {
        Some((scope, name)) => Some((Some(scope.trim()), name.trim(), pos)),
        None => Some((None, path, pos)),
    }
}

/// An expression that is one call of a plain or `scope::` path, `name(…)` (askama's short
/// macro call when `name` is a macro): `(scope, name, offset of the path, its length)`.
fn short_call(inner: &str) -> Option<(Option<&str>, &str, usize, usize)> {
    let t = inner.trim_start();
    let start = inner.len() - t.len();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let first = t.find(|c: char| !is_ident(c))?;
    let (mut scope, mut name, mut path_len) = (None, &t[..first], first);
    if t[first..].starts_with("::") {
        let r = &t[first + 2..];
        let second = r.find(|c: char| !is_ident(c))?;
        scope = Some(&t[..first]);
        name = &r[..second];
        path_len = first + 2 + second;
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let args = t[path_len..].trim_start();
    if !args.starts_with('(') {
        return None;
    }
    // The call must be the whole expression: its `)` is the last character.
    let b = args.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return args[i + 1..]
                        .trim()
                        .is_empty()
                        .then_some((scope, name, start, path_len));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// What `flatten` needs besides the source: the loader, the block overrides of the
/// templates that extend this one, and the bodies `{{ super() }}` renders.
pub(crate) struct Flattener<'l> {
    pub(crate) loader: &'l mut Loader,
}

impl Flattener<'_> {
    /// Inline `include`s and `import`s and resolve `extends`/`block`/`super()` and macro
    /// calls of the template `src` (from `origin`) into one template source. Each macro is
    /// written once per scope it is called in, renamed, before the template.
    pub(crate) fn flatten_root(&mut self, src: &str, origin: &Origin) -> Result<String, TemplateError> {
        check_syntax(self.loader, src, origin)?;
        self.loader.sources.push((origin.clone(), src.to_string()));
        let scope = self.own_scope(src, origin, 0)?;
        let body = self.flatten(src, origin, &HashMap::new(), &[], scope, 0)?;
        let mut out = String::new();
        while let Some((scope, name)) = self.loader.pending.pop() {
            let Some(&id) = self.loader.scopes[scope].macros.get(&name) else {
                continue;
            };
            let def = self.loader.macros[id].clone();
            let renamed = format!("__lvt_s{scope}_{}", def.signature);
            let inner = self.flatten(&def.body, &def.origin, &Overrides::new(), &[], scope, 1)?;
            out.push_str(
                &self
                    .loader
                    .delims
                    .block(None, &format!("macro {renamed}"), def.ws_inner.0),
            );
            out.push_str(&inner);
            let end_name = if def.end_name {
                format!(" __lvt_s{scope}_{name}")
            } else {
                String::new()
            };
            out.push_str(
                &self
                    .loader
                    .delims
                    .block(def.ws_inner.1, &format!("endmacro{end_name}"), None),
            );
        }
        out.push_str(&body);
        Ok(out)
    }

    fn load(&mut self, name: &str, origin: &Origin, src: &str, at: usize) -> Result<(PathBuf, String), TemplateError> {
        let (path, text) = self
            .loader
            .load(name, origin.file.as_deref())
            .map_err(|e| TemplateError::at(self.loader, origin, src, at, e))?;
        let file_origin = Origin::file(Some(&path));
        check_syntax(self.loader, &text, &file_origin)?;
        if !self.loader.sources.iter().any(|(o, _)| o.file.as_ref() == Some(&path)) {
            self.loader.sources.push((file_origin, text.clone()));
        }
        Ok((path, text))
    }

    /// The scope of the whole template file `src` (at `origin`): its own macros and imports.
    fn own_scope(&mut self, src: &str, origin: &Origin, depth: usize) -> Result<ScopeId, TemplateError> {
        if let Some(&id) = self.loader.own_scopes.get(&origin.file) {
            return Ok(id);
        }
        if depth > 32 {
            return Err(TemplateError::at(
                self.loader,
                origin,
                src,
                0,
                "templates import each other too deeply (a cycle?)",
            ));
        }
        let items = top_level(src, &self.loader.delims, origin)
            .map_err(|e| TemplateError::at(self.loader, origin, src, 0, e))?;
        let mut scope = Scope::default();
        for item in items {
            match item {
                TopItem::Macro { name, def } => {
                    self.loader.macros.push(def);
                    scope.macros.insert(name, self.loader.macros.len() - 1);
                }
                TopItem::Import { path, scope: name, at } => {
                    let (file, text) = self.load(&path, origin, src, at)?;
                    let id = self.own_scope(&text, &Origin::file(Some(&file)), depth + 1)?;
                    scope.imports.insert(name, id);
                }
            }
        }
        let id = self.loader.intern(scope);
        self.loader.own_scopes.insert(origin.file.clone(), id);
        Ok(id)
    }

    /// A block body, between comments that carry its own tags' inner whitespace control,
    /// seen from `outer` (the scope of the text it replaces or `super()`s from).
    fn flatten_body(
        &mut self,
        body: &Body,
        overrides: &Overrides,
        supers: &[Body],
        outer: ScopeId,
        depth: usize,
    ) -> Result<String, TemplateError> {
        let scope = self.loader.merge(body.scope, outer);
        let mut out = self.loader.delims.comment(None, body.ws_inner.0);
        out.push_str(&self.flatten(&body.src, &body.origin, overrides, supers, scope, depth + 1)?);
        out.push_str(&self.loader.delims.comment(body.ws_inner.1, None));
        Ok(out)
    }

    /// The new name of the macro a call names (`scope::name` or `name`), seen from `scope`.
    fn resolve(&mut self, scope: ScopeId, import: Option<&str>, name: &str) -> Result<String, String> {
        let target = match import {
            None => scope,
            Some(s) => *self.loader.scopes[scope]
                .imports
                .get(s)
                .ok_or_else(|| format!("`{s}::{name}`: no `{{% import \"…\" as {s} %}}` in this template"))?,
        };
        if !self.loader.scopes[target].macros.contains_key(name) {
            let known: Vec<&str> = self.loader.scopes[target].macros.keys().map(String::as_str).collect();
            let known = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            return Err(match import {
                None => format!("macro `{name}` not found (macros here: {known})"),
                Some(s) => format!("macro `{name}` not found in scope `{s}` (its macros: {known})"),
            });
        }
        Ok(self.loader.want(target, name))
    }

    fn flatten(
        &mut self,
        src: &str,
        origin: &Origin,
        overrides: &Overrides,
        supers: &[Body],
        scope: ScopeId,
        depth: usize,
    ) -> Result<String, TemplateError> {
        let err = |loader: &Loader, at: usize, msg: String| TemplateError::at(loader, origin, src, at, msg);
        if depth > 32 {
            return Err(err(
                self.loader,
                0,
                "templates include or extend each other too deeply (a cycle?)".into(),
            ));
        }
        let toks = lex(src, &self.loader.delims).map_err(|e| err(self.loader, 0, e))?;
        // extends: this template's blocks join the overrides (after the deeper children's)
        // and the parent is rendered; its macros and imports are in the blocks' scope.
        for t in &toks {
            match t {
                Token::Lit(s) if s.trim().is_empty() => {}
                Token::Tag {
                    kind: TagKind::Comment, ..
                } => {}
                Token::Tag {
                    kind: TagKind::Block,
                    inner,
                    full,
                    ..
                } if keyword(inner).0 == "extends" => {
                    let at = offset_in(src, full);
                    let name = string_arg(keyword(inner).1)
                        .ok_or_else(|| err(self.loader, at, "`extends` needs a string path".into()))?;
                    let own = self.own_scope(src, origin, depth)?;
                    let mut chains = overrides.clone();
                    for (k, body) in
                        collect_blocks(src, &self.loader.delims, origin, own).map_err(|e| err(self.loader, at, e))?
                    {
                        chains.entry(k).or_default().push(body);
                    }
                    let (path, parent) = self.load(name, origin, src, at)?;
                    let parent_origin = Origin::file(Some(&path));
                    let parent_scope = self.own_scope(&parent, &parent_origin, depth + 1)?;
                    return self.flatten(&parent, &parent_origin, &chains, &[], parent_scope, depth + 1);
                }
                _ => break,
            }
        }
        let mut out = String::with_capacity(src.len());
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                Token::Lit(s) => out.push_str(s),
                Token::Tag {
                    kind: TagKind::Expr,
                    inner,
                    ws_l,
                    ws_r,
                    full,
                } if inner.trim() == "super()" => {
                    let at = offset_in(src, full);
                    let Some((parent, rest)) = supers.split_first() else {
                        return Err(err(
                            self.loader,
                            at,
                            "`super()` outside a block that overrides a parent's block".into(),
                        ));
                    };
                    out.push_str(&self.loader.delims.comment(*ws_l, None));
                    out.push_str(&self.flatten_body(parent, overrides, rest, scope, depth)?);
                    out.push_str(&self.loader.delims.comment(None, *ws_r));
                }
                Token::Tag {
                    kind: TagKind::Expr,
                    inner,
                    full,
                    ..
                } => match short_call(inner) {
                    // `{{ name(…) }}` calls macro `name` when there is one.
                    Some((import, name, path_at, path_len))
                        if name != "caller"
                            && name != "super"
                            && match import {
                                None => self.loader.scopes[scope].macros.contains_key(name),
                                Some(s) => self.loader.scopes[scope]
                                    .imports
                                    .get(s)
                                    .is_some_and(|&j| self.loader.scopes[j].macros.contains_key(name)),
                            } =>
                    {
                        let at = offset_in(src, full);
                        let renamed = self.resolve(scope, import, name).map_err(|e| err(self.loader, at, e))?;
                        let inner_at = offset_in(full, inner);
                        out.push_str(&full[..inner_at + path_at]);
                        out.push_str(&renamed);
                        out.push_str(&full[inner_at + path_at + path_len..]);
                    }
                    _ => out.push_str(full),
                },
                Token::Tag {
                    kind: TagKind::Block,
                    inner,
                    ws_l,
                    ws_r,
                    full,
                } => {
                    let at = offset_in(src, full);
                    let (kw, rest) = keyword(inner);
                    match kw {
                        "include" => {
                            let name = string_arg(rest)
                                .ok_or_else(|| err(self.loader, at, "`include` needs a string path".into()))?;
                            let (path, inc) = self.load(name, origin, src, at)?;
                            let inc_origin = Origin::file(Some(&path));
                            let own = self.own_scope(&inc, &inc_origin, depth + 1)?;
                            let inc_scope = self.loader.merge(own, scope);
                            out.push_str(&self.loader.delims.comment(*ws_l, None));
                            out.push_str(&self.flatten(
                                &inc,
                                &inc_origin,
                                &Overrides::new(),
                                &[],
                                inc_scope,
                                depth + 1,
                            )?);
                            out.push_str(&self.loader.delims.comment(None, *ws_r));
                        }
                        // Imports are in the scope; what is left is their whitespace control.
                        "import" => {
                            out.push_str(&self.loader.delims.comment(*ws_l, None));
                            out.push_str(&self.loader.delims.comment(None, *ws_r));
                        }
                        // Definitions are written before the template, once per scope they
                        // are called in; what is left is their outer whitespace control.
                        "macro" => {
                            let end = macro_end(&toks, i)
                                .ok_or_else(|| err(self.loader, at, "`macro` is not closed".into()))?;
                            let end_ws = match &toks[end] {
                                Token::Tag { ws_r, .. } => *ws_r,
                                Token::Lit(_) => None,
                            };
                            out.push_str(&self.loader.delims.comment(*ws_l, None));
                            out.push_str(&self.loader.delims.comment(None, end_ws));
                            i = end;
                        }
                        "call" => match call_target(inner) {
                            Some((import, name, name_at)) => {
                                let renamed = self.resolve(scope, import, name).map_err(|e| err(self.loader, at, e))?;
                                let inner_at = offset_in(full, inner);
                                let path_at = inner_at + name_at;
                                let name_end = inner_at + offset_in(inner, name) + name.len();
                                out.push_str(&full[..path_at]);
                                out.push_str(&renamed);
                                out.push_str(&full[name_end..]);
                            }
                            None => out.push_str(full),
                        },
                        "block" => {
                            // Find the matching endblock.
                            let name = rest.split_whitespace().next().unwrap_or("").to_string();
                            let body_start = at + full.len();
                            let mut depth_b = 1;
                            let mut j = i + 1;
                            let mut end = None;
                            while j < toks.len() {
                                if let Token::Tag {
                                    kind: TagKind::Block,
                                    inner,
                                    ws_r,
                                    full,
                                    ..
                                } = &toks[j]
                                {
                                    let k = keyword(inner).0;
                                    if k == "block" {
                                        depth_b += 1;
                                    } else if k == "endblock" {
                                        depth_b -= 1;
                                        if depth_b == 0 {
                                            end = Some((*ws_r, offset_in(src, full), *ws_l));
                                            break;
                                        }
                                    }
                                }
                                j += 1;
                            }
                            let open_ws = *ws_r;
                            let Some((end_ws, body_end, close_ws)) = end else {
                                return Err(err(self.loader, at, format!("`block {name}` is not closed")));
                            };
                            let mut chain = overrides.get(&name).cloned().unwrap_or_default();
                            chain.push(Body {
                                src: src[body_start..body_end].to_string(),
                                origin: origin.at(src, body_start),
                                ws_inner: (open_ws, close_ws),
                                scope,
                            });
                            let first = chain.remove(0);
                            out.push_str(&self.loader.delims.comment(*ws_l, None));
                            out.push_str(&self.flatten_body(&first, overrides, &chain, scope, depth)?);
                            out.push_str(&self.loader.delims.comment(None, end_ws));
                            i = j;
                        }
                        _ => out.push_str(full),
                    }
                }
                Token::Tag { full, .. } => out.push_str(full),
            }
            i += 1;
        }
        Ok(out)
    }
}

/// The attribute of the elements the client puts action errors in.
const ERROR_MESSAGE: &str = "lvt-error-message";

/// Give `hidden` to every `lvt-error-message` element that the template writes empty
/// (`<p lvt-error-message></p>`), so the server's HTML (GET, no-JS answers, the live tree)
/// never shows an empty error box before the client runs; the client removes `hidden` while
/// it shows a message. An element with content, or whose start tag holds a template
/// expression, is left as written. `None` when nothing changed.
pub(crate) fn hide_empty_error_messages(src: &str, d: &Delims) -> Result<Option<String>, String> {
    if !src.contains(ERROR_MESSAGE) {
        return Ok(None);
    }
    let toks = lex(src, d)?;
    let mut out = String::with_capacity(src.len() + 16);
    let mut changed = false;
    for t in &toks {
        match t {
            Token::Lit(text) => {
                let mut rest = *text;
                while let Some(at) = rest.find(ERROR_MESSAGE) {
                    let (before, after) = rest.split_at(at);
                    let hidden = before.rfind('<').and_then(|open| {
                        let tag_name: String = before[open + 1..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                            .collect();
                        let head = &before[open..];
                        let close = after.find('>')?;
                        let tag = &after[..close];
                        let is_attr = !tag_name.is_empty()
                            && !head.contains('>')
                            && head.ends_with(|c: char| c.is_ascii_whitespace())
                            && after[ERROR_MESSAGE.len()..]
                                .starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '=' || c == '/');
                        let has_hidden = format!("{head}{tag}")
                            .split(|c: char| c.is_ascii_whitespace() || c == '/')
                            .any(|a| a == "hidden" || a.starts_with("hidden="));
                        let empty = after[close + 1..].starts_with(&format!("</{tag_name}"));
                        (is_attr && !has_hidden && empty).then_some(close)
                    });
                    match hidden {
                        Some(close) => {
                            let insert = if after[..close].ends_with('/') {
                                close - 1
                            } else {
                                close
                            };
                            out.push_str(before);
                            out.push_str(&after[..insert]);
                            out.push_str(" hidden");
                            out.push_str(&after[insert..close + 1]);
                            rest = &after[close + 1..];
                            changed = true;
                        }
                        None => {
                            out.push_str(before);
                            out.push_str(ERROR_MESSAGE);
                            rest = &after[ERROR_MESSAGE.len()..];
                        }
                    }
                }
                out.push_str(rest);
            }
            Token::Tag { full, .. } => out.push_str(full),
        }
    }
    Ok(changed.then_some(out))
}

/// Replace the path segment `Self` in the expressions and block tags of a flattened template
/// with `ty`, the state type: askama's `Self` is the template struct, which for a live
/// template is the state, not the wrappers the derive renders through. String and char
/// literals, comments and `raw` text are left alone. `None` when there is no `Self`.
pub(crate) fn replace_self(src: &str, d: &Delims, ty: &str) -> Result<Option<String>, String> {
    let toks = lex(src, d)?;
    let mut out = String::with_capacity(src.len());
    let mut changed = false;
    for t in &toks {
        match t {
            Token::Tag {
                kind: TagKind::Expr | TagKind::Block,
                full,
                ..
            } if full.contains("Self") => {
                let b = full.as_bytes();
                let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
                let mut i = 0;
                let mut last = 0;
                while i < b.len() {
                    match b[i] {
                        b'"' => {
                            i += 1;
                            while i < b.len() && b[i] != b'"' {
                                i += if b[i] == b'\\' { 2 } else { 1 };
                            }
                            i += 1;
                        }
                        b'\'' if i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') => {
                            // A char literal: skip to its closing quote.
                            let mut j = i + 2;
                            while j < b.len() && b[j] != b'\'' {
                                j += 1;
                            }
                            i = j + 1;
                        }
                        c if is_ident(c) => {
                            let start = i;
                            while i < b.len() && is_ident(b[i]) {
                                i += 1;
                            }
                            if &full[start..i] == "Self" && (start == 0 || b[start - 1] != b'.') {
                                out.push_str(&full[last..start]);
                                out.push_str(ty);
                                last = i;
                                changed = true;
                            }
                        }
                        _ => i += 1,
                    }
                }
                out.push_str(&full[last.min(full.len())..]);
            }
            Token::Lit(s) => out.push_str(s),
            Token::Tag { full, .. } => out.push_str(full),
        }
    }
    Ok(changed.then_some(out))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    If,
    Match,
    For,
    /// A `for` over a stream field.
    StreamFor,
    Filter,
    Capture,
    Other,
}

fn m(d: &Delims, ws_l: Option<char>, code: u32, ws_r: Option<char>) -> String {
    d.expr(ws_l, &format!("self.__lvt_m({code})|safe"), ws_r)
}

/// The stream field a `for` tag's inner text (`for m in messages`) iterates, when its
/// iterable is `name` or `self.name` for one of `streams`.
fn stream_loop<'a>(rest: &str, streams: &'a [String]) -> Option<(&'a str, String)> {
    let (pat, iter) = rest.split_once(" in ")?;
    let iter = iter.trim();
    let field = iter.strip_prefix("self.").unwrap_or(iter);
    let name = streams.iter().find(|s| s.as_str() == field)?;
    Some((name.as_str(), pat.trim().to_string()))
}

/// Wrap every expression, branch and loop of a flattened template in markers. A `for` over
/// one of the `streams` fields is a stream loop: [`mark::STREAM_OPEN`], then the stream's
/// operations as an expression left open, then the loop over every pending item.
pub(crate) fn mark(src: &str, d: &Delims, streams: &[String]) -> Result<String, String> {
    let toks = lex(src, d)?;
    let mut out = String::with_capacity(src.len() * 2);
    let mut stack: Vec<Open> = Vec::new();
    let mut capture = 0usize;
    for t in toks {
        let (kind, full, ws_l, ws_r, inner) = match t {
            Token::Lit(s) => {
                out.push_str(s);
                continue;
            }
            Token::Tag {
                kind,
                full,
                ws_l,
                ws_r,
                inner,
            } => (kind, full, ws_l, ws_r, inner),
        };
        match kind {
            TagKind::Comment => out.push_str(full),
            TagKind::Expr => {
                let expr = inner.trim();
                // A macro's output (`caller(…)`, or a short call `{{ m(…) }}`, renamed by the
                // flattening) carries its own markers.
                let macro_call = expr.starts_with("caller") && expr[6..].trim_start().starts_with('(')
                    || expr.starts_with("__lvt_s") && short_call(expr).is_some();
                if capture > 0 || macro_call {
                    out.push_str(full);
                } else {
                    out.push_str(&m(d, ws_l, mark::EXPR_OPEN, None));
                    out.push_str(&d.expr_start);
                    out.push_str(inner);
                    out.push_str(&d.expr_end);
                    out.push_str(&m(d, None, mark::EXPR_CLOSE, ws_r));
                }
            }
            TagKind::Block => {
                let (kw, rest) = keyword(inner);
                let block_let = matches!(kw, "let" | "set") && !rest.contains('=');
                if capture > 0 {
                    match kw {
                        "filter" => capture += 1,
                        "let" | "set" if block_let => capture += 1,
                        "endfilter" | "endlet" | "endset" => capture -= 1,
                        _ => {}
                    }
                    if capture == 0 && stack.pop() == Some(Open::Filter) {
                        out.push_str(&d.block(ws_l, inner.trim(), None));
                        out.push_str(&m(d, None, mark::EXPR_CLOSE, ws_r));
                    } else {
                        out.push_str(full);
                    }
                    continue;
                }
                let plain = |ws_l: Option<char>, ws_r: Option<char>| d.block(ws_l, inner.trim(), ws_r);
                match kw {
                    "if" => {
                        stack.push(Open::If);
                        out.push_str(&m(d, ws_l, mark::BRANCH_OPEN, None));
                        out.push_str(&plain(None, None));
                        out.push_str(&m(d, None, mark::BRANCH_BODY, ws_r));
                    }
                    "elif" | "else" => {
                        let code = match stack.last() {
                            Some(Open::If | Open::Match) => mark::BRANCH_BODY,
                            Some(Open::For) => mark::LOOP_ELSE,
                            Some(Open::StreamFor) => {
                                return Err(
                                    "a `for` over a stream has no `else`: the browser, not the server, knows whether its list is empty"
                                        .into(),
                                );
                            }
                            _ => return Err(format!("`{kw}` outside `if`, `match` or `for`")),
                        };
                        out.push_str(&plain(ws_l, None));
                        out.push_str(&m(d, None, code, ws_r));
                    }
                    "when" => {
                        out.push_str(&plain(ws_l, None));
                        out.push_str(&m(d, None, mark::BRANCH_BODY, ws_r));
                    }
                    "match" => {
                        stack.push(Open::Match);
                        out.push_str(&m(d, ws_l, mark::BRANCH_OPEN, None));
                        out.push_str(&plain(None, ws_r));
                    }
                    "for" if stream_loop(rest, streams).is_some() => {
                        let Some((field, pat)) = stream_loop(rest, streams) else {
                            continue;
                        };
                        stack.push(Open::StreamFor);
                        out.push_str(&m(d, ws_l, mark::STREAM_OPEN, None));
                        out.push_str(&m(d, None, mark::EXPR_OPEN, None));
                        out.push_str(&d.expr(None, &format!("self.{field}.__lvt_ops()|safe"), None));
                        out.push_str(&d.block(None, &format!("for {pat} in self.{field}.__lvt_all()"), None));
                        out.push_str(&m(d, None, mark::LOOP_ITEM, ws_r));
                    }
                    "for" => {
                        stack.push(Open::For);
                        out.push_str(&m(d, ws_l, mark::LOOP_OPEN, None));
                        out.push_str(&plain(None, None));
                        out.push_str(&m(d, None, mark::LOOP_ITEM, ws_r));
                    }
                    "endif" | "endmatch" | "endfor" => {
                        let (want, code) = match kw {
                            "endif" => (Open::If, mark::BRANCH_CLOSE),
                            "endmatch" => (Open::Match, mark::BRANCH_CLOSE),
                            _ => (Open::For, mark::LOOP_CLOSE),
                        };
                        let open = stack.pop();
                        let open = if open == Some(Open::StreamFor) {
                            Some(Open::For)
                        } else {
                            open
                        };
                        if open != Some(want) {
                            return Err(format!("`{kw}` does not close the innermost block"));
                        }
                        out.push_str(&plain(ws_l, None));
                        out.push_str(&m(d, None, code, ws_r));
                    }
                    "filter" => {
                        capture = 1;
                        out.push_str(&m(d, ws_l, mark::EXPR_OPEN, None));
                        out.push_str(&plain(None, ws_r));
                        stack.push(Open::Filter);
                    }
                    "let" | "set" if block_let => {
                        capture = 1;
                        out.push_str(full);
                        stack.push(Open::Capture);
                    }
                    "macro" | "call" => {
                        stack.push(Open::Other);
                        out.push_str(full);
                    }
                    "endmacro" | "endcall" => {
                        stack.pop();
                        out.push_str(full);
                    }
                    _ => out.push_str(full),
                }
            }
        }
    }
    if !stack.is_empty() || capture > 0 {
        return Err("a block is not closed (if, match, for, filter, let)".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flattened source's literal text and block tags (`{% … %}`), expressions dropped.
    fn literals_and_blocks(out: &str) -> String {
        lex(out, &Delims::default())
            .unwrap()
            .iter()
            .filter_map(|t| match t {
                Token::Lit(s) => Some(*s),
                Token::Tag {
                    kind: TagKind::Block,
                    full,
                    ..
                } => Some(*full),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn lexes_tags_with_strings_and_ws() {
        let toks = lex("a{{- \"}}\" +}}b{%~ if x -%}{# c {# d #} #}", &Delims::default()).unwrap();
        assert_eq!(toks.len(), 5);
        match &toks[1] {
            Token::Tag { ws_l, ws_r, inner, .. } => {
                assert_eq!(*ws_l, Some('-'));
                assert_eq!(*ws_r, Some('+'));
                assert_eq!(inner.trim(), "\"}}\"");
            }
            _ => panic!(),
        }
    }

    #[test]
    fn marks_expressions_and_blocks() {
        let out = mark(
            "<p>{{- x }}</p>{% if a -%} y {%- else %}z{% endif %}",
            &Delims::default(),
            &[],
        )
        .unwrap();
        assert_eq!(
            out,
            "<p>{{- self.__lvt_m(1)|safe }}{{ x }}{{ self.__lvt_m(2)|safe }}</p>\
             {{ self.__lvt_m(3)|safe }}{% if a %}{{ self.__lvt_m(4)|safe -}} y \
             {%- else %}{{ self.__lvt_m(4)|safe }}z{% endif %}{{ self.__lvt_m(5)|safe }}"
        );
    }

    #[test]
    fn marks_loops_over_stream_fields_as_stream_loops() {
        let streams = ["messages".to_string()];
        let out = mark(
            "{% for m in self.messages -%}<li>{{ m.text }}</li>{% endfor %}{% for x in other %}{% endfor %}",
            &Delims::default(),
            &streams,
        )
        .unwrap();
        assert_eq!(
            out,
            "{{ self.__lvt_m(11)|safe }}{{ self.__lvt_m(1)|safe }}{{ self.messages.__lvt_ops()|safe }}\
             {% for m in self.messages.__lvt_all() %}{{ self.__lvt_m(7)|safe -}}\
             <li>{{ self.__lvt_m(1)|safe }}{{ m.text }}{{ self.__lvt_m(2)|safe }}</li>\
             {% endfor %}{{ self.__lvt_m(9)|safe }}\
             {{ self.__lvt_m(6)|safe }}{% for x in other %}{{ self.__lvt_m(7)|safe }}{% endfor %}{{ self.__lvt_m(9)|safe }}"
        );
        let err = mark(
            "{% for m in messages %}a{% else %}b{% endfor %}",
            &Delims::default(),
            &streams,
        )
        .unwrap_err();
        assert!(err.contains("no `else`"), "{err}");
    }

    /// A scratch template directory holding `files`.
    fn dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir().join(format!("lvt-codegen-{name}-{}", std::process::id()));
        std::fs::create_dir_all(root.join("templates")).unwrap();
        for (f, text) in files {
            std::fs::write(root.join("templates").join(f), text).unwrap();
        }
        root
    }

    fn flatten_file(root: &Path, name: &str) -> Result<String, TemplateError> {
        let mut loader = Loader::new(root);
        let path = root.join("templates").join(name);
        let src = read_template(&path).unwrap();
        Flattener { loader: &mut loader }.flatten_root(&src, &Origin::file(Some(&path)))
    }

    #[test]
    fn call_targets() {
        assert_eq!(call_target(" call m::pill(a) "), Some((Some("m"), "pill", 6)));
        assert_eq!(call_target(" call pill(a) "), Some((None, "pill", 6)));
        assert_eq!(call_target(" call(x, y) m::pill() "), Some((Some("m"), "pill", 12)));
    }

    #[test]
    fn imported_macros_are_renamed_with_their_calls() {
        let root = dir(
            "import",
            &[
                (
                    "m.html",
                    "{% macro a(x) %}{{ x }}{% endmacro %}{% macro b() %}{% call a(1) %}{% endcall %}{% endmacro %}",
                ),
                (
                    "page.html",
                    "{% import \"m.html\" as m %}{% call m::b() %}{% endcall %}",
                ),
            ],
        );
        let out = flatten_file(&root, "page.html").unwrap();
        // The imported file's scope is 0 (made first), the page's 1.
        assert_eq!(
            out,
            "{% macro __lvt_s0_b() %}{% call __lvt_s0_a(1) %}{% endcall %}{% endmacro %}\
             {% macro __lvt_s0_a(x) %}{{ x }}{% endmacro %}\
             {# #}{# #}{% call __lvt_s0_b() %}{% endcall %}"
        );
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn a_block_body_calls_the_macro_of_its_own_template_first() {
        let root = dir(
            "override",
            &[
                (
                    "b.html",
                    "<b>{% block c %}{% endblock %}|{% block d %}{% endblock %}</b>",
                ),
                (
                    "m.html",
                    "{% extends \"b.html\" %}{% macro star(x) %}<mid>{{ x }}</mid>{% endmacro %}{% block c %}{% call star(1) %}{% endcall %}{% endblock %}{% block d %}{% call star(3) %}{% endcall %}{% endblock %}",
                ),
                (
                    "c.html",
                    "{% extends \"m.html\" %}{% macro star(x) %}<child>{{ x }}</child>{% endmacro %}{% block c %}{% call star(2) %}{% endcall %}{{ super() }}{% endblock %}",
                ),
            ],
        );
        let out = flatten_file(&root, "c.html").unwrap();
        let rendered: String = literals_and_blocks(&out);
        // Scopes: 0 = c.html, 1 = m.html, 2 = b.html; the body of `c` from c.html and the
        // bodies of `d` and of `c`'s `super()` from m.html each call their own `star`.
        assert!(rendered.contains("{% macro __lvt_s0_star(x) %}<child>"), "{rendered}");
        assert!(rendered.contains("{% macro __lvt_s1_star(x) %}<mid>"), "{rendered}");
        assert!(
            rendered.ends_with(
                "<b>{% call __lvt_s0_star(2) %}{% endcall %}{% call __lvt_s1_star(1) %}{% endcall %}|{% call __lvt_s1_star(3) %}{% endcall %}</b>"
            ),
            "{rendered}"
        );
        let e = flatten_file(&root, "b.html").map(|_| ());
        assert!(e.is_ok());
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn unknown_macros_are_reported_with_file_and_line() {
        let root = dir(
            "nosuch",
            &[
                ("m.html", "{% macro y() %}{% endmacro %}"),
                ("a.html", "x\n{% call nosuch() %}{% endcall %}"),
                (
                    "b.html",
                    "{% import \"m.html\" as m %}\n\n{% call m::z() %}{% endcall %}",
                ),
                ("c.html", "{% call q::y() %}{% endcall %}"),
            ],
        );
        let e = flatten_file(&root, "a.html").unwrap_err().to_string();
        assert_eq!(e, "templates/a.html:2: macro `nosuch` not found (macros here: none)");
        let e = flatten_file(&root, "b.html").unwrap_err().to_string();
        assert_eq!(
            e,
            "templates/b.html:3: macro `z` not found in scope `m` (its macros: y)"
        );
        let e = flatten_file(&root, "c.html").unwrap_err().to_string();
        assert!(e.starts_with("templates/c.html:1: `q::y`: no `{% import"), "{e}");
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn super_renders_the_chain_and_child_macros_are_kept() {
        let root = dir(
            "super",
            &[
                ("base.html", "<t>{% block t %}base{% endblock %}</t>"),
                (
                    "mid.html",
                    "{% extends \"base.html\" %}{% block t %}mid+{{ super() }}{% endblock %}",
                ),
                (
                    "leaf.html",
                    "{% extends \"mid.html\" %}\n{% macro m() %}M{% endmacro %}\ndropped\n{% block t %}leaf+{{ super() }}{% endblock %}",
                ),
            ],
        );
        let out = flatten_file(&root, "leaf.html").unwrap();
        let plain: String = literals_and_blocks(&out);
        // The child's macro is in the scope of its blocks (written when called), its other text
        // outside blocks is dropped.
        assert_eq!(plain, "<t>leaf+mid+base</t>");
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn errors_name_the_file_and_line_inside_a_block() {
        let root = dir(
            "lines",
            &[
                ("base.html", "<t>{% block t %}{% endblock %}</t>"),
                (
                    "child.html",
                    "{% extends \"base.html\" %}\n\n{% block t %}\nok\n{% include \"gone.html\" %}\n{% endblock %}",
                ),
                ("broken.html", "a\nb\n{% if x %}\n{% endfo %}"),
            ],
        );
        let e = flatten_file(&root, "child.html").unwrap_err().to_string();
        assert!(
            e.starts_with("templates/child.html:5: template `gone.html` not found"),
            "{e}"
        );
        let e = flatten_file(&root, "broken.html").unwrap_err().to_string();
        assert!(e.starts_with("templates/broken.html:4: "), "{e}");
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn self_becomes_the_state_type_outside_literals() {
        let d = Delims::default();
        let out = replace_self(
            "Self {{ Self::f(\"Self\", 'S') }}{% if Self::g(x.Self) %}{# Self #}{% endif %}{{ MySelf }}",
            &d,
            "Todos",
        )
        .unwrap();
        assert_eq!(
            out.as_deref(),
            Some("Self {{ Todos::f(\"Self\", 'S') }}{% if Todos::g(x.Self) %}{# Self #}{% endif %}{{ MySelf }}")
        );
        assert_eq!(replace_self("{{ x }}", &d, "T").unwrap(), None);
    }

    #[test]
    fn raw_blocks_stay_literal() {
        let out = mark("{% raw %}{{ x }}{% endraw %}", &Delims::default(), &[]).unwrap();
        assert_eq!(out, "{% raw %}{{ x }}{% endraw %}");
    }

    #[test]
    fn empty_error_message_elements_get_hidden() {
        let d = Delims::default();
        let hide = |src: &str| hide_empty_error_messages(src, &d).unwrap();
        assert_eq!(
            hide(r#"<p class="error" lvt-error-message></p><span lvt-error-message/></span>"#).as_deref(),
            Some(r#"<p class="error" lvt-error-message hidden></p><span lvt-error-message hidden/></span>"#)
        );
        // Already hidden, with content, an expression in the tag, text that only names it.
        assert_eq!(hide(r#"<p lvt-error-message hidden></p>"#), None);
        assert_eq!(hide(r#"<p hidden lvt-error-message></p>"#), None);
        assert_eq!(hide(r#"<p lvt-error-message>{{ e }}</p>"#), None);
        assert_eq!(hide(r#"<p class="{{ c }}" lvt-error-message></p>"#), None);
        assert_eq!(hide(r#"<p>use lvt-error-message</p>"#), None);
        assert_eq!(hide(r#"<p lvt-error-messages></p>"#), None);
        assert_eq!(
            hide("{% if a %}<p lvt-error-message></p>{% endif %}").as_deref(),
            Some("{% if a %}<p lvt-error-message hidden></p>{% endif %}")
        );
    }
}
