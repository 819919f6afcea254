//! The user crate's `askama.toml`, read as askama reads it, for what the derive needs:
//! the template directories (`[general] dirs`) and the delimiters (`[general]
//! default_syntax` and the `[[syntax]]` entries). askama reads the same file for the plain
//! template and applies everything else (`whitespace`, escapers) itself.

use std::collections::HashMap;
use std::path::Path;

/// A template syntax: the six delimiters (askama's `Syntax`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delims {
    pub(crate) block_start: String,
    pub(crate) block_end: String,
    pub(crate) expr_start: String,
    pub(crate) expr_end: String,
    pub(crate) comment_start: String,
    pub(crate) comment_end: String,
}

impl Default for Delims {
    fn default() -> Self {
        Delims {
            block_start: "{%".into(),
            block_end: "%}".into(),
            expr_start: "{{".into(),
            expr_end: "}}".into(),
            comment_start: "{#".into(),
            comment_end: "#}".into(),
        }
    }
}

impl Delims {
    /// askama_parser's view of these delimiters (validated as askama validates them).
    pub(crate) fn parser_syntax(&self) -> Result<askama_parser::Syntax<'_>, String> {
        askama_parser::SyntaxBuilder {
            name: "livetemplate",
            block_start: Some(&self.block_start),
            block_end: Some(&self.block_end),
            expr_start: Some(&self.expr_start),
            expr_end: Some(&self.expr_end),
            comment_start: Some(&self.comment_start),
            comment_end: Some(&self.comment_end),
        }
        .to_syntax()
    }

    /// A comment carrying whitespace control only: `{#- #}` or `{# -#}`.
    pub(crate) fn comment(&self, ws_l: Option<char>, ws_r: Option<char>) -> String {
        format!("{}{} {}{}", self.comment_start, ws(ws_l), ws(ws_r), self.comment_end)
    }

    /// A block tag: `{%- inner +%}`.
    pub(crate) fn block(&self, ws_l: Option<char>, inner: &str, ws_r: Option<char>) -> String {
        format!(
            "{}{} {inner} {}{}",
            self.block_start,
            ws(ws_l),
            ws(ws_r),
            self.block_end
        )
    }

    /// An expression tag: `{{- inner +}}`.
    pub(crate) fn expr(&self, ws_l: Option<char>, inner: &str, ws_r: Option<char>) -> String {
        format!("{}{} {inner} {}{}", self.expr_start, ws(ws_l), ws(ws_r), self.expr_end)
    }
}

fn ws(c: Option<char>) -> String {
    c.map(String::from).unwrap_or_default()
}

/// What the derive reads from `askama.toml`.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// `[general] dirs`, relative to the crate root; empty: `templates`.
    pub(crate) dirs: Vec<String>,
    /// Syntaxes by name, `default` included.
    syntaxes: HashMap<String, Delims>,
    /// `[general] default_syntax`.
    default_syntax: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dirs: Vec::new(),
            syntaxes: HashMap::from([("default".to_string(), Delims::default())]),
            default_syntax: "default".into(),
        }
    }
}

impl Config {
    /// Read `root/askama.toml` (the defaults when there is none).
    ///
    /// Errors: the file cannot be read, is not TOML, or has a wrong shape (askama rejects
    /// the same files).
    pub(crate) fn read(root: &Path) -> Result<Config, String> {
        let path = root.join("askama.toml");
        if !path.is_file() {
            return Ok(Config::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read askama.toml: {e}"))?;
        Config::parse(&text)
    }

    /// Parse the text of an `askama.toml`.
    pub(crate) fn parse(text: &str) -> Result<Config, String> {
        let table: toml::Table = text.parse().map_err(|e| format!("invalid TOML in askama.toml: {e}"))?;
        let mut cfg = Config::default();
        if let Some(general) = table.get("general") {
            let general = general.as_table().ok_or("askama.toml: `general` must be a table")?;
            if let Some(dirs) = general.get("dirs") {
                let dirs = dirs
                    .as_array()
                    .ok_or("askama.toml: `general.dirs` must be an array of strings")?;
                for d in dirs {
                    let d = d
                        .as_str()
                        .ok_or("askama.toml: `general.dirs` must be an array of strings")?;
                    cfg.dirs.push(d.to_string());
                }
            }
            if let Some(name) = general.get("default_syntax") {
                let name = name
                    .as_str()
                    .ok_or("askama.toml: `general.default_syntax` must be a string")?;
                cfg.default_syntax = name.to_string();
            }
        }
        if let Some(list) = table.get("syntax") {
            let list = list
                .as_array()
                .ok_or("askama.toml: `syntax` must be an array of tables (`[[syntax]]`)")?;
            for entry in list {
                let entry = entry
                    .as_table()
                    .ok_or("askama.toml: each `[[syntax]]` must be a table")?;
                let field = |key: &str| -> Result<Option<String>, String> {
                    match entry.get(key) {
                        None => Ok(None),
                        Some(v) => v
                            .as_str()
                            .map(|s| Some(s.to_string()))
                            .ok_or_else(|| format!("askama.toml: `syntax.{key}` must be a string")),
                    }
                };
                let name = field("name")?.ok_or("askama.toml: a `[[syntax]]` needs a `name`")?;
                let d = Delims::default();
                let delims = Delims {
                    block_start: field("block_start")?.unwrap_or(d.block_start),
                    block_end: field("block_end")?.unwrap_or(d.block_end),
                    expr_start: field("expr_start")?.unwrap_or(d.expr_start),
                    expr_end: field("expr_end")?.unwrap_or(d.expr_end),
                    comment_start: field("comment_start")?.unwrap_or(d.comment_start),
                    comment_end: field("comment_end")?.unwrap_or(d.comment_end),
                };
                delims
                    .parser_syntax()
                    .map_err(|e| format!("askama.toml: syntax `{name}`: {e}"))?;
                if cfg.syntaxes.contains_key(&name) {
                    return Err(format!("askama.toml: syntax {name:?} is already defined"));
                }
                cfg.syntaxes.insert(name, delims);
            }
        }
        if !cfg.syntaxes.contains_key(&cfg.default_syntax) {
            return Err(format!(
                "askama.toml: default syntax \"{}\" not found",
                cfg.default_syntax
            ));
        }
        Ok(cfg)
    }

    /// The delimiters of syntax `name` (the default syntax when `None`).
    pub(crate) fn syntax(&self, name: Option<&str>) -> Result<&Delims, String> {
        let name = name.unwrap_or(&self.default_syntax);
        self.syntaxes
            .get(name)
            .ok_or_else(|| format!("syntax `{name}` is undefined (askama.toml defines: {})", self.names()))
    }

    fn names(&self) -> String {
        let mut names: Vec<&str> = self.syntaxes.keys().map(String::as_str).collect();
        names.sort_unstable();
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_dirs_and_custom_syntax_are_read() {
        let cfg = Config::parse(
            "[general]\ndirs = [\n  \"tpl\",\n  \"more\", # comment\n]\ndefault_syntax = \"sq\"\nwhitespace = \"suppress\"\n\n[[syntax]]\nname = \"sq\"\nblock_start = \"[%\"\nblock_end = \"%]\"\nexpr_start = \"[[\"\nexpr_end = \"]]\"\ncomment_start = \"[#\"\ncomment_end = \"#]\"\n",
        )
        .unwrap();
        assert_eq!(cfg.dirs, ["tpl", "more"]);
        let d = cfg.syntax(None).unwrap();
        assert_eq!((d.block_start.as_str(), d.expr_end.as_str()), ("[%", "]]"));
        assert_eq!(cfg.syntax(Some("default")).unwrap(), &Delims::default());
        assert!(cfg.syntax(Some("nope")).unwrap_err().contains("default, sq"));
    }

    #[test]
    fn bad_files_are_rejected() {
        assert!(Config::parse("[general\n").unwrap_err().contains("invalid TOML"));
        assert!(
            Config::parse("[general]\ndefault_syntax = \"x\"")
                .unwrap_err()
                .contains("not found")
        );
        assert!(
            Config::parse("[[syntax]]\nname = \"a\"\nblock_end = \"-}\"")
                .unwrap_err()
                .contains("operator")
        );
    }
}
