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

/// Reads templates from the template directories and records every file it read.
#[derive(Debug)]
pub(crate) struct Loader {
    dirs: Vec<PathBuf>,
    pub(crate) files: Vec<PathBuf>,
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
            dirs,
            files: Vec::new(),
        }
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

    fn load(&mut self, name: &str, from: Option<&Path>) -> Result<(PathBuf, String), String> {
        let path = self.find(name, from).ok_or_else(|| {
            format!(
                "template `{name}` not found in {}",
                self.dirs
                    .iter()
                    .map(|d| format!("`{}`", d.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
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

/// Collect every `{% block name %}…{% endblock %}` body (nested ones too) of `src`.
fn collect_blocks(src: &str, out: &mut HashMap<String, String>) -> Result<(), String> {
    let toks = lex(src)?;
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut offset = 0usize;
    for t in &toks {
        let len = match t {
            Token::Lit(s) => s.len(),
            Token::Tag { full, .. } => full.len(),
        };
        if let Token::Tag {
            kind: TagKind::Block,
            inner,
            ..
        } = t
        {
            let (kw, rest) = keyword(inner);
            if kw == "block" {
                stack.push((rest.split_whitespace().next().unwrap_or("").to_string(), offset + len));
            } else if kw == "endblock" {
                let (name, start) = stack.pop().ok_or("`endblock` without `block`")?;
                out.entry(name).or_insert_with(|| src[start..offset].to_string());
            }
        }
        offset += len;
    }
    if !stack.is_empty() {
        return Err("unclosed `block`".into());
    }
    Ok(())
}

/// Inline `include`s and resolve `extends`/`block` into one template source.
pub(crate) fn flatten(
    loader: &mut Loader,
    src: &str,
    file: Option<&Path>,
    overrides: &HashMap<String, String>,
    depth: usize,
) -> Result<String, String> {
    if depth > 32 {
        return Err("templates include or extend each other too deeply (a cycle?)".into());
    }
    let toks = lex(src)?;
    // extends: collect this template's blocks as overrides (deeper children win), render the parent.
    for t in &toks {
        match t {
            Token::Lit(s) if s.trim().is_empty() => {}
            Token::Tag {
                kind: TagKind::Comment, ..
            } => {}
            Token::Tag {
                kind: TagKind::Block,
                inner,
                ..
            } if keyword(inner).0 == "extends" => {
                let name = string_arg(keyword(inner).1).ok_or("`extends` needs a string path")?;
                let mut blocks = HashMap::new();
                collect_blocks(src, &mut blocks)?;
                for (k, v) in overrides {
                    blocks.insert(k.clone(), v.clone());
                }
                let (path, parent) = loader.load(name, file)?;
                return flatten(loader, &parent, Some(&path), &blocks, depth + 1);
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
                kind: TagKind::Block,
                inner,
                ws_l,
                ws_r,
                full,
            } => {
                let (kw, rest) = keyword(inner);
                match kw {
                    "include" => {
                        let name = string_arg(rest).ok_or("`include` needs a string path")?;
                        let (path, inc) = loader.load(name, file)?;
                        out.push_str(&format!("{{#{} #}}", ws(*ws_l)));
                        out.push_str(&flatten(loader, &inc, Some(&path), &HashMap::new(), depth + 1)?);
                        out.push_str(&format!("{{# {}#}}", ws(*ws_r)));
                    }
                    "import" => {
                        return Err(
                            "`import` is not supported in live templates yet: define the macros in this template or in an included file"
                                .into(),
                        );
                    }
                    "block" => {
                        // Find the matching endblock.
                        let name = rest.split_whitespace().next().unwrap_or("").to_string();
                        let mut depth_b = 1;
                        let mut j = i + 1;
                        let mut body = String::new();
                        let mut end_ws = None;
                        while j < toks.len() {
                            match &toks[j] {
                                Token::Tag {
                                    kind: TagKind::Block,
                                    inner,
                                    ws_r,
                                    full,
                                    ..
                                } => {
                                    let k = keyword(inner).0;
                                    if k == "block" {
                                        depth_b += 1;
                                    } else if k == "endblock" {
                                        depth_b -= 1;
                                        if depth_b == 0 {
                                            end_ws = Some(*ws_r);
                                            break;
                                        }
                                    }
                                    body.push_str(full);
                                }
                                Token::Tag { full, .. } => body.push_str(full),
                                Token::Lit(s) => body.push_str(s),
                            }
                            j += 1;
                        }
                        let Some(end_ws) = end_ws else {
                            return Err(format!("unclosed `block {name}`"));
                        };
                        if body.contains("super()") {
                            return Err("`super()` is not supported in live templates yet".into());
                        }
                        let chosen = overrides.get(&name).cloned().unwrap_or(body);
                        out.push_str(&format!("{{#{} #}}", ws(*ws_l)));
                        out.push_str(&flatten(loader, &chosen, file, overrides, depth + 1)?);
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

    #[test]
    fn raw_blocks_stay_literal() {
        let out = mark("{% raw %}{{ x }}{% endraw %}").unwrap();
        assert_eq!(out, "{% raw %}{{ x }}{% endraw %}");
    }
}
