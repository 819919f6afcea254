//! The traits the macros implement: [`LiveState`] for state structs and [`Controller`] for
//! action impl blocks, and [`IntoController`], which lets an impl block with no action (a
//! read-only page, wrapped in [`ReadOnly`]) stand where a controller is expected. How
//! persisted fields are encoded lives in [`crate::persist`].

use std::fmt;
use std::marker::PhantomData;

use crate::BoxFuture;
use crate::context::Context;
use crate::error::Result;
use crate::tree::Tree;

/// A page's state: rendered through its askama template, some fields persisted.
///
/// Implemented by `#[derive(LiveState)]`; see the `livetemplate` crate for its attributes.
pub trait LiveState: Clone + Send + Sync + 'static {
    /// Render the marked template into a tree.
    #[doc(hidden)]
    fn render_tree(&self) -> Result<Tree>;
    /// Render the template as plain HTML, exactly as askama does.
    fn render_html(&self) -> Result<String>;
    /// Names of the `#[lvt(persist)]` fields.
    fn persisted_fields() -> &'static [&'static str];
    /// Encode persisted field `name` (a format byte, the hash of the value's serde shape, the
    /// field's version, then the value in bincode); `None` if there is no such persisted
    /// field.
    fn encode_field(&self, name: &str) -> Option<Result<Vec<u8>>>;
    /// Decode persisted field `name` from `bytes` into `self`. On error the field is
    /// unchanged (the caller quarantines the bytes).
    fn decode_field(&mut self, name: &str, bytes: &[u8]) -> Result<()>;
    /// A frame carrying the state's render was sent: drop the pending operations of every
    /// [`Stream`](crate::stream::Stream) field (generated for states that have some).
    #[doc(hidden)]
    fn streams_sent(&mut self) {}
    /// A step ended without a live connection (a no-JS form post): every
    /// [`Stream`](crate::stream::Stream) field applies its limit to its pending items, as a
    /// browser does after a frame (generated for states that have some).
    #[doc(hidden)]
    fn streams_limit(&mut self) {}
    /// The `#[lvt(errors)]` field, where a failed action's [`FieldErrors`] go (generated for
    /// states that have one).
    ///
    /// [`FieldErrors`]: crate::FieldErrors
    #[doc(hidden)]
    fn errors_field(&mut self) -> Option<&mut crate::FieldErrors> {
        None
    }
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

/// Something that runs a page whose state is `S`: a [`Controller`] (its own `State` is `S`),
/// or the type of an `#[actions]` impl block with no action and no hook, which `#[actions]`
/// wraps in a [`ReadOnly`] because nothing in the block names the state type.
///
/// `App::builder().page(..)` and `TestPage::mount(..)` take an `IntoController<S>` and learn
/// `S` from the initial state they are given. Users never implement it: every `Controller`
/// has it, and `#[actions]` writes it for an empty impl block.
///
/// ```
/// use livetemplate_core::state::{IntoController, ReadOnly};
/// use livetemplate_core::{Controller, LiveState};
///
/// // What `#[actions] impl About {}` generates:
/// struct About;
/// impl<S: LiveState> IntoController<S> for About {
///     type Controller = ReadOnly<About, S>;
///     fn into_controller(self) -> ReadOnly<About, S> {
///         ReadOnly::new(self)
///     }
/// }
///
/// fn names<S: LiveState>(c: impl IntoController<S>) -> &'static [&'static str] {
///     c.into_controller().action_names()
/// }
/// ```
#[doc(hidden)]
pub trait IntoController<S: LiveState>: Sized {
    /// The controller that runs the page.
    type Controller: Controller<State = S>;

    /// Turn `self` into the page's controller.
    fn into_controller(self) -> Self::Controller;
}

impl<C: Controller> IntoController<C::State> for C {
    type Controller = C;

    fn into_controller(self) -> C {
        self
    }
}

/// The controller of a read-only page: the user's value `C` with no action and no hook, over
/// state `S`. Every action a client sends fails with the unknown-action error, which lists no
/// known action.
///
/// Built by the code `#[actions]` generates for an impl block with no method (see
/// [`IntoController`]).
#[doc(hidden)]
pub struct ReadOnly<C, S> {
    inner: C,
    // `fn() -> S`: the wrapper holds no `S`, so it is `Send + Sync` whatever `S` is.
    state: PhantomData<fn() -> S>,
}

impl<C, S> ReadOnly<C, S> {
    /// Wrap the user's value.
    pub fn new(inner: C) -> Self {
        ReadOnly {
            inner,
            state: PhantomData,
        }
    }

    /// The user's value.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }
}

impl<C: fmt::Debug, S> fmt::Debug for ReadOnly<C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReadOnly").field(&self.inner).finish()
    }
}

impl<C, S> Controller for ReadOnly<C, S>
where
    C: Send + Sync + 'static,
    S: LiveState,
{
    type State = S;

    fn action_names(&self) -> &'static [&'static str] {
        &[]
    }

    fn call<'a>(&'a self, name: &'a str, _state: &'a mut S, ctx: &'a mut Context) -> BoxFuture<'a, Result<()>> {
        let err = crate::__private::unknown_action(name, ctx.page(), &[]);
        Box::pin(async move { Err(err) })
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
