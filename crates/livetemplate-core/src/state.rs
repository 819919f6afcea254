//! The traits the macros implement: [`LiveState`] for state structs and [`Controller`] for
//! action impl blocks. How persisted fields are encoded lives in [`crate::persist`].

use crate::BoxFuture;
use crate::context::Context;
use crate::error::Result;
use crate::tree::Tree;

/// A page's state: rendered through its askama template, some fields persisted.
///
/// Implemented by `#[derive(LiveState)]`; see the `livetemplate` crate for its attributes.
pub trait LiveState: Clone + Send + Sync + 'static {
    /// Render the marked template into a tree.
    fn render_tree(&self) -> Result<Tree>;
    /// Render the template as plain HTML, exactly as askama does.
    fn render_html(&self) -> Result<String>;
    /// Names of the `#[lvt(persist)]` fields.
    fn persisted_fields() -> &'static [&'static str];
    /// Encode persisted field `name` (see [`crate::persist`] for the format); `None` if there
    /// is no such persisted field.
    fn encode_field(&self, name: &str) -> Option<Result<Vec<u8>>>;
    /// Decode persisted field `name` from `bytes` into `self`. On error the field is
    /// unchanged (the caller quarantines the bytes).
    fn decode_field(&mut self, name: &str, bytes: &[u8]) -> Result<()>;
}

/// A page's behaviour: its actions and lifecycle hooks.
///
/// Implemented by `#[actions]` on an `impl` block.
pub trait Controller: Send + Sync + 'static {
    /// The state type the actions take.
    type State: LiveState;

    /// Snake-case names of every action.
    fn action_names(&self) -> &'static [&'static str];

    /// Snake-case names of the actions marked `#[lvt(server)]`: run by
    /// `session.trigger_action`, publishes and presence, never by a browser's message or
    /// form post.
    fn server_actions(&self) -> &'static [&'static str] {
        &[]
    }

    /// Run action `name` (already normalized to snake case). An unknown name is an error that
    /// lists the known actions.
    fn call<'a>(&'a self, name: &'a str, state: &'a mut Self::State, ctx: &'a mut Context)
    -> BoxFuture<'a, Result<()>>;

    /// Called once per connection (and per GET) after persisted fields are loaded, before the
    /// first render.
    fn mount<'a>(&'a self, _state: &'a mut Self::State, _ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Called after `mount`, and whenever the page's URL changes without a page load: an
    /// `lvt-patch` link, back or forward between URLs of the page, an action's
    /// `ctx.push_patch`. Read the URL with `ctx.query()` / `ctx.param(..)` and set the state
    /// it stands for (the page, the filter, the open tab).
    fn handle_params<'a>(&'a self, _state: &'a mut Self::State, _ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Called when a WebSocket connection opens, after `mount`.
    fn on_connect<'a>(&'a self, _state: &'a mut Self::State, _ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Called when a WebSocket connection closes.
    fn on_disconnect<'a>(&'a self, _state: &'a mut Self::State, _ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// Normalize an action name to snake case (the rule the derive applies to method names).
///
/// ```
/// use livetemplate_core::normalize_action;
/// assert_eq!(normalize_action("saveNotes"), "save_notes");
/// assert_eq!(normalize_action("save-notes"), "save_notes");
/// assert_eq!(normalize_action("tempUp"), "temp_up");
/// assert_eq!(normalize_action("HTTPReload"), "http_reload");
/// ```
pub use livetemplate_contract::normalize_action;

#[doc(hidden)]
pub use crate::persist::{decode_field, encode_field};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_round_trip_and_retype() {
        let bytes = encode_field(&42i64).unwrap();
        let mut n = 0i64;
        decode_field(&mut n, &bytes).unwrap();
        assert_eq!(n, 42);
        let mut s = String::from("keep");
        let err = decode_field(&mut s, &bytes).unwrap_err();
        assert!(err.is_decode(), "{err}");
        assert_eq!(s, "keep");
        let mut garbage = 0i64;
        assert!(decode_field(&mut garbage, b"i64\0\xff\xff\xff").is_err());
        // A corrupt length prefix claiming a huge string fails instead of allocating it.
        let mut huge = b"alloc::string::String\0".to_vec();
        huge.extend_from_slice(&[0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        let mut s = String::new();
        assert!(decode_field(&mut s, &huge).is_err());
    }
}
