//! What the derive (`livetemplate-codegen`) and the runtime (`livetemplate-core`) must agree
//! on, written once: the marker codes the derive injects into templates and the tree builder
//! reads back, and the rule that turns a name from a browser (`saveNotes`, `save-notes`) and a
//! method name into the same action name.
//!
//! It has no dependencies, so core can use it without pulling in `syn`.

#![no_std]

extern crate alloc;

use alloc::string::String;

/// Marker codes: the derive wraps template parts in `{{ self.__lvt_m(CODE)|safe }}` and the
/// runtime's tree builder reads the codes back in the same order.
pub mod mark {
    /// Start of an expression's output.
    pub const EXPR_OPEN: u32 = 1;
    /// End of an expression's output.
    pub const EXPR_CLOSE: u32 = 2;
    /// Start of an `if` or `match`.
    pub const BRANCH_OPEN: u32 = 3;
    /// Start of the body of the branch taken.
    pub const BRANCH_BODY: u32 = 4;
    /// End of an `if` or `match`.
    pub const BRANCH_CLOSE: u32 = 5;
    /// Start of a `for`.
    pub const LOOP_OPEN: u32 = 6;
    /// Start of one iteration.
    pub const LOOP_ITEM: u32 = 7;
    /// Start of the loop's `else` body.
    pub const LOOP_ELSE: u32 = 8;
    /// End of a `for`.
    pub const LOOP_CLOSE: u32 = 9;
    /// Written by a component embed right after the cid it wrote as an expression's output:
    /// the expression's slot holds that component instance (`{"c": cid}` on the wire).
    pub const COMPONENT: u32 = 10;
    /// Start of a `for` over a stream field (`Stream<T>`), in place of [`LOOP_OPEN`]. The
    /// expression written next, before the first [`LOOP_ITEM`] (or [`LOOP_CLOSE`]), opened by
    /// [`EXPR_OPEN`] and left open, is the stream's pending operations.
    pub const STREAM_OPEN: u32 = 11;
}

/// Normalize an action name to snake case: `saveNotes`, `save-notes`, `save notes`,
/// `save.notes` and `save_notes` all give `save_notes`.
///
/// The derive applies it to method names, the runtime to the names browsers send, so both
/// sides meet on one spelling.
///
/// ```
/// use livetemplate_contract::normalize_action;
/// assert_eq!(normalize_action("saveNotes"), "save_notes");
/// assert_eq!(normalize_action("save-notes"), "save_notes");
/// assert_eq!(normalize_action("save notes"), "save_notes");
/// assert_eq!(normalize_action("tempUp"), "temp_up");
/// assert_eq!(normalize_action("HTTPReload"), "http_reload");
/// ```
pub fn normalize_action(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut chars = name.chars().peekable();
    let mut prev: Option<char> = None;
    while let Some(c) = chars.next() {
        if c == '-' || c == ' ' || c == '.' {
            out.push('_');
        } else if c.is_uppercase() {
            let boundary = match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => chars.peek().is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize_action;

    #[test]
    fn spellings_meet() {
        for s in [
            "saveNotes",
            "save-notes",
            "save_notes",
            "save notes",
            "save.notes",
            "SaveNotes",
        ] {
            assert_eq!(normalize_action(s), "save_notes", "{s}");
        }
        assert_eq!(normalize_action("HTTPReload"), "http_reload");
        assert_eq!(normalize_action("item2Go"), "item2_go");
        assert_eq!(normalize_action(""), "");
    }
}
