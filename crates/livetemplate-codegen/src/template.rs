//! Template source handling: a small lexer over askama syntax, flattening of `extends`,
//! `block` and `include`, and the injection of boundary markers around every expression,
//! branch and loop.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use livetemplate_contract::mark;

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

/// Split `src` into literal text and tags.
fn lex(src: &str) -> Result<Vec<Token<'_>>, String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut lit_start = 0;
    while i + 1 < b.len() {
        if b[i] != b'{' || !matches!(b[i + 1], b'{' | b'%' | b'#') {
            i += 1;
            continue;
        }
        let kind = match b[i + 1] {
            b'{' => TagKind::Expr,
            b'%' => TagKind::Block,
            _ => TagKind::Comment,
        };
        if lit_start < i {
            out.push(Token::Lit(&src[lit_start..i]));
        }
        let start = i;
        let end = match kind {
            TagKind::Comment => find_comment_end(b, i)?,
            TagKind::Expr => find_tag_end(b, i + 2, b'}')?,
            TagKind::Block => find_tag_end(b, i + 2, b'%')?,
        };
        // `end` is the index just past the closing delimiter.
        let body_start = start + 2;
        let body_end = end - 2;
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
            let mut search = 0;
            loop {
                let Some(p) = rest[search..].find("{%") else {
                    return Err("unclosed `{% raw %}`".into());
                };
                let p = search + p;
                let tag_end = find_tag_end(rest.as_bytes(), p + 2, b'%')?;
                let tag = &rest[p + 2..tag_end - 2];
                let tag = tag.trim_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '+' | '~'));
                if tag == "endraw" {
                    if p > 0 {
                        out.push(Token::Lit(&rest[..p]));
                    }
                    let full = &rest[p..tag_end];
                    let tb = full.as_bytes();
                    let ws_l = is_ws_mark(tb[2]).then(|| tb[2] as char);
                    let ws_r = is_ws_mark(tb[tb.len() - 3]).then(|| tb[tb.len() - 3] as char);
                    out.push(Token::Tag {
                        kind: TagKind::Block,
                        full,
                        ws_l,
                        ws_r,
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

fn find_comment_end(b: &[u8], start: usize) -> Result<usize, String> {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < b.len() {
        if b[i] == b'{' && b[i + 1] == b'#' {
            depth += 1;
            i += 2;
        } else if b[i] == b'#' && b[i + 1] == b'}' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Ok(i);
            }
        } else {
            i += 1;
        }
    }
    Err("unclosed comment `{#`".into())
}

/// Find the end of a tag whose body starts at `i`, closing with `close` + `}`; skips string
/// and char literals.
fn find_tag_end(b: &[u8], mut i: usize, close: u8) -> Result<usize, String> {
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
            c if c == close && i + 1 < b.len() && b[i + 1] == b'}' => return Ok(i + 2),
            _ => i += 1,
        }
    }
    Err(format!("unclosed tag: expected `{}}}`", close as char))
}

/// The first word of a block tag and the rest.
fn keyword(inner: &str) -> (&str, &str) {
    let t = inner.trim_start();
    let end = t.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(t.len());
    (&t[..end], t[end..].trim())
}

fn ws(c: Option<char>) -> String {
    c.map(String::from).unwrap_or_default()
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
    let syntax = askama_parser::Syntax::default();
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
    let syntax = askama_parser::Syntax::default();
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
            errors.push(TemplateError::at(
                loader,
                origin,
                src,
                u.offset,
                format!(
                    "`{}` is neither a field of the state nor a variable of the template (fields: {})",
                    u.name,
                    fields_list.join(", ")
                ),
            ));
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
}

/// Block bodies by name, the most derived template's first: `super()` in one renders the next.
type Overrides = HashMap<String, Vec<Body>>;

/// Reads templates from the template directories and records every file it read.
#[derive(Debug)]
pub(crate) struct Loader {
    root: PathBuf,
    dirs: Vec<PathBuf>,
    pub(crate) files: Vec<PathBuf>,
    /// `{% import "…" as scope %}` of each file (`None`: the `source` attribute): scope to
    /// the prefix its macros were renamed with.
    imports: HashMap<Option<PathBuf>, HashMap<String, String>>,
    next_import: usize,
    /// Every template source read (the root and each file once), for the name check.
    sources: Vec<(Origin, String)>,
}

impl Loader {
    pub(crate) fn new(root: &Path) -> Self {
        let mut dirs = Vec::new();
        // Honour askama.toml's `dirs`, as askama does.
        if let Ok(cfg) = std::fs::read_to_string(root.join("askama.toml"))
            && let Some(line) = cfg.lines().find(|l| l.trim_start().starts_with("dirs"))
        {
            for part in line.split('"').skip(1).step_by(2) {
                dirs.push(root.join(part));
            }
        }
        if dirs.is_empty() {
            dirs.push(root.join("templates"));
        }
        Loader {
            root: root.to_path_buf(),
            dirs,
            files: Vec::new(),
            imports: HashMap::new(),
            next_import: 0,
            sources: Vec::new(),
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
/// `origin`), with its place and inner whitespace control.
fn collect_blocks(src: &str, origin: &Origin) -> Result<HashMap<String, Body>, String> {
    let toks = lex(src)?;
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
                });
            }
        }
    }
    if !stack.is_empty() {
        return Err("unclosed `block`".into());
    }
    Ok(out)
}

/// The macro definitions and imports written outside blocks in a child template (askama
/// keeps them; everything else there is dropped).
fn child_top_level(src: &str) -> Result<Vec<(usize, usize)>, String> {
    let toks = lex(src)?;
    let mut out = Vec::new();
    let mut block_depth = 0usize;
    let mut macro_start: Option<(usize, usize)> = None; // (start, nesting)
    for t in &toks {
        let Token::Tag {
            kind: TagKind::Block,
            inner,
            full,
            ..
        } = t
        else {
            continue;
        };
        let at = offset_in(src, full);
        match (keyword(inner).0, &mut macro_start) {
            ("macro", Some((_, n))) => *n += 1,
            ("macro", None) if block_depth == 0 => macro_start = Some((at, 1)),
            ("endmacro", Some((start, n))) => {
                *n -= 1;
                if *n == 0 {
                    out.push((*start, at + full.len()));
                    macro_start = None;
                }
            }
            ("import", None) if block_depth == 0 => out.push((at, at + full.len())),
            ("block", None) => block_depth += 1,
            ("endblock", None) => block_depth = block_depth.saturating_sub(1),
            _ => {}
        }
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

/// Rename the macros defined at the top of `src` (and calls of them inside it) with
/// `prefix`, so an imported file's macros can live in the importing template.
fn rename_macros(src: &str, prefix: &str) -> Result<String, String> {
    let toks = lex(src)?;
    let mut names = Vec::new();
    for t in &toks {
        if let Token::Tag {
            kind: TagKind::Block,
            inner,
            ..
        } = t
            && keyword(inner).0 == "macro"
        {
            let rest = keyword(inner).1;
            let name = &rest[..rest.find('(').unwrap_or(rest.len())];
            names.push(name.trim().to_string());
        }
    }
    let mut out = String::with_capacity(src.len() + names.len() * prefix.len() * 2);
    for t in &toks {
        match t {
            Token::Lit(s) => out.push_str(s),
            Token::Tag {
                kind: TagKind::Block,
                inner,
                full,
                ..
            } => {
                let inner_at = offset_in(full, inner);
                let (kw, rest) = keyword(inner);
                if kw == "macro" {
                    let name_at = inner_at + offset_in(inner, rest);
                    out.push_str(&full[..name_at]);
                    out.push_str(prefix);
                    out.push_str(&full[name_at..]);
                } else if kw == "call"
                    && let Some((None, name, at)) = call_target(inner)
                    && names.iter().any(|n| n == name)
                {
                    out.push_str(&full[..inner_at + at]);
                    out.push_str(prefix);
                    out.push_str(&full[inner_at + at..]);
                } else {
                    out.push_str(full);
                }
            }
            Token::Tag { full, .. } => out.push_str(full),
        }
    }
    Ok(out)
}

/// What `flatten` needs besides the source: the loader, the block overrides of the
/// templates that extend this one, and the bodies `{{ super() }}` renders.
pub(crate) struct Flattener<'l> {
    pub(crate) loader: &'l mut Loader,
}

impl Flattener<'_> {
    /// Inline `include`s and `import`s and resolve `extends`/`block`/`super()` of the template
    /// `src` (from `origin`) into one template source.
    pub(crate) fn flatten_root(&mut self, src: &str, origin: &Origin) -> Result<String, TemplateError> {
        check_syntax(self.loader, src, origin)?;
        self.loader.sources.push((origin.clone(), src.to_string()));
        self.flatten(src, origin, &HashMap::new(), &[], 0)
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

    /// A block body, between comments that carry its own tags' inner whitespace control.
    fn flatten_body(
        &mut self,
        body: &Body,
        overrides: &Overrides,
        supers: &[Body],
        depth: usize,
    ) -> Result<String, TemplateError> {
        let mut out = format!("{{# {}#}}", ws(body.ws_inner.0));
        out.push_str(&self.flatten(&body.src, &body.origin, overrides, supers, depth + 1)?);
        out.push_str(&format!("{{#{} #}}", ws(body.ws_inner.1)));
        Ok(out)
    }

    fn flatten(
        &mut self,
        src: &str,
        origin: &Origin,
        overrides: &Overrides,
        supers: &[Body],
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
        let toks = lex(src).map_err(|e| err(self.loader, 0, e))?;
        // extends: this template's blocks join the overrides (after the deeper children's),
        // its macros and imports outside blocks are kept, and the parent is rendered.
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
                    let mut chains = overrides.clone();
                    for (k, body) in collect_blocks(src, origin).map_err(|e| err(self.loader, at, e))? {
                        chains.entry(k).or_default().push(body);
                    }
                    let mut out = String::new();
                    for (start, end) in child_top_level(src).map_err(|e| err(self.loader, at, e))? {
                        let kept = &src[start..end];
                        out.push_str(&self.flatten(kept, &origin.at(src, start), &Overrides::new(), &[], depth + 1)?);
                    }
                    let (path, parent) = self.load(name, origin, src, at)?;
                    out.push_str(&self.flatten(&parent, &Origin::file(Some(&path)), &chains, &[], depth + 1)?);
                    return Ok(out);
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
                    out.push_str(&format!("{{#{} #}}", ws(*ws_l)));
                    out.push_str(&self.flatten_body(parent, overrides, rest, depth)?);
                    out.push_str(&format!("{{# {}#}}", ws(*ws_r)));
                }
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
                            out.push_str(&format!("{{#{} #}}", ws(*ws_l)));
                            out.push_str(&self.flatten(
                                &inc,
                                &Origin::file(Some(&path)),
                                &Overrides::new(),
                                &[],
                                depth + 1,
                            )?);
                            out.push_str(&format!("{{# {}#}}", ws(*ws_r)));
                        }
                        "import" => {
                            let name = string_arg(rest)
                                .ok_or_else(|| err(self.loader, at, "`import` needs a string path".into()))?;
                            let scope = rest
                                .rsplit_once(" as ")
                                .map(|(_, s)| s.trim().to_string())
                                .ok_or_else(|| err(self.loader, at, "`import` needs `as scope`".into()))?;
                            let (path, imported) = self.load(name, origin, src, at)?;
                            let macros =
                                self.flatten(&imported, &Origin::file(Some(&path)), &Overrides::new(), &[], depth + 1)?;
                            let prefix = format!("__lvt_import{}_", self.loader.next_import);
                            self.loader.next_import += 1;
                            // askama takes only the macro definitions of an imported file.
                            let defs: String = child_top_level(&macros)
                                .map_err(|e| err(self.loader, at, e))?
                                .into_iter()
                                .map(|(start, end)| &macros[start..end])
                                .collect();
                            let renamed = rename_macros(&defs, &prefix).map_err(|e| err(self.loader, at, e))?;
                            self.loader
                                .imports
                                .entry(origin.file.clone())
                                .or_default()
                                .insert(scope, prefix);
                            out.push_str(&format!("{{#{} #}}", ws(*ws_l)));
                            out.push_str(&renamed);
                            out.push_str(&format!("{{# {}#}}", ws(*ws_r)));
                        }
                        "call" => match call_target(inner) {
                            Some((Some(scope), name, name_at)) => {
                                let prefix = self
                                    .loader
                                    .imports
                                    .get(&origin.file)
                                    .and_then(|m| m.get(scope))
                                    .ok_or_else(|| {
                                        err(
                                            self.loader,
                                            at,
                                            format!("`{scope}::{name}`: no `{{% import \"…\" as {scope} %}}` in this template"),
                                        )
                                    })?;
                                let inner_at = offset_in(full, inner);
                                let scope_at = inner_at + name_at;
                                let name_start = inner_at + offset_in(inner, name);
                                out.push_str(&full[..scope_at]);
                                out.push_str(prefix);
                                out.push_str(&full[name_start..]);
                            }
                            _ => out.push_str(full),
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
                            });
                            let first = chain.remove(0);
                            out.push_str(&format!("{{#{} #}}", ws(*ws_l)));
                            out.push_str(&self.flatten_body(&first, overrides, &chain, depth)?);
                            out.push_str(&format!("{{# {}#}}", ws(end_ws)));
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    If,
    Match,
    For,
    Filter,
    Capture,
    Other,
}

fn m(ws_l: Option<char>, code: u32, ws_r: Option<char>) -> String {
    format!("{{{{{} self.__lvt_m({code})|safe {}}}}}", ws(ws_l), ws(ws_r))
}

/// Wrap every expression, branch and loop of a flattened template in markers.
pub(crate) fn mark(src: &str) -> Result<String, String> {
    let toks = lex(src)?;
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
                if capture > 0 || expr.starts_with("caller") && expr[6..].trim_start().starts_with('(') {
                    out.push_str(full);
                } else {
                    out.push_str(&m(ws_l, mark::EXPR_OPEN, None));
                    out.push_str("{{");
                    out.push_str(inner);
                    out.push_str("}}");
                    out.push_str(&m(None, mark::EXPR_CLOSE, ws_r));
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
                        out.push_str(&format!("{{%{} {} %}}", ws(ws_l), inner.trim()));
                        out.push_str(&m(None, mark::EXPR_CLOSE, ws_r));
                    } else {
                        out.push_str(full);
                    }
                    continue;
                }
                let plain = |ws_l: Option<char>, ws_r: Option<char>| {
                    format!("{{%{} {} {}%}}", ws(ws_l), inner.trim(), ws(ws_r))
                };
                match kw {
                    "if" => {
                        stack.push(Open::If);
                        out.push_str(&m(ws_l, mark::BRANCH_OPEN, None));
                        out.push_str(&plain(None, None));
                        out.push_str(&m(None, mark::BRANCH_BODY, ws_r));
                    }
                    "elif" | "else" => {
                        let code = match stack.last() {
                            Some(Open::If | Open::Match) => mark::BRANCH_BODY,
                            Some(Open::For) => mark::LOOP_ELSE,
                            _ => return Err(format!("`{kw}` outside `if`, `match` or `for`")),
                        };
                        out.push_str(&plain(ws_l, None));
                        out.push_str(&m(None, code, ws_r));
                    }
                    "when" => {
                        out.push_str(&plain(ws_l, None));
                        out.push_str(&m(None, mark::BRANCH_BODY, ws_r));
                    }
                    "match" => {
                        stack.push(Open::Match);
                        out.push_str(&m(ws_l, mark::BRANCH_OPEN, None));
                        out.push_str(&plain(None, ws_r));
                    }
                    "for" => {
                        stack.push(Open::For);
                        out.push_str(&m(ws_l, mark::LOOP_OPEN, None));
                        out.push_str(&plain(None, None));
                        out.push_str(&m(None, mark::LOOP_ITEM, ws_r));
                    }
                    "endif" | "endmatch" | "endfor" => {
                        let (want, code) = match kw {
                            "endif" => (Open::If, mark::BRANCH_CLOSE),
                            "endmatch" => (Open::Match, mark::BRANCH_CLOSE),
                            _ => (Open::For, mark::LOOP_CLOSE),
                        };
                        if stack.pop() != Some(want) {
                            return Err(format!("`{kw}` does not close the innermost block"));
                        }
                        out.push_str(&plain(ws_l, None));
                        out.push_str(&m(None, code, ws_r));
                    }
                    "filter" => {
                        capture = 1;
                        out.push_str(&m(ws_l, mark::EXPR_OPEN, None));
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

    #[test]
    fn lexes_tags_with_strings_and_ws() {
        let toks = lex("a{{- \"}}\" +}}b{%~ if x -%}{# c {# d #} #}").unwrap();
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
        let out = mark("<p>{{- x }}</p>{% if a -%} y {%- else %}z{% endif %}").unwrap();
        assert_eq!(
            out,
            "<p>{{- self.__lvt_m(1)|safe }}{{ x }}{{ self.__lvt_m(2)|safe }}</p>\
             {{ self.__lvt_m(3)|safe }}{% if a %}{{ self.__lvt_m(4)|safe -}} y \
             {%- else %}{{ self.__lvt_m(4)|safe }}z{% endif %}{{ self.__lvt_m(5)|safe }}"
        );
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
        let out = rename_macros(
            "{% macro a(x) %}{{ x }}{% endmacro %}{% macro b() %}{% call a(1) %}{% endcall %}{% call other() %}{% endcall %}{% endmacro %}",
            "__p_",
        )
        .unwrap();
        assert_eq!(
            out,
            "{% macro __p_a(x) %}{{ x }}{% endmacro %}{% macro __p_b() %}{% call __p_a(1) %}{% endcall %}{% call other() %}{% endcall %}{% endmacro %}"
        );
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
        let plain: String = lex(&out)
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
            .collect();
        assert_eq!(plain, "{% macro m() %}M{% endmacro %}<t>leaf+mid+base</t>");
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
    fn raw_blocks_stay_literal() {
        let out = mark("{% raw %}{{ x }}{% endraw %}").unwrap();
        assert_eq!(out, "{% raw %}{{ x }}{% endraw %}");
    }
}
