//! The engine of livetemplate: the template tree and its diff, the wire protocol, actions and
//! their [`Context`], pages and connections, session groups and the persist store trait.
//!
//! Users depend on the `livetemplate` crate, which re-exports by name what they write or
//! implement. A transport builds on [`transport`] and [`protocol`]; the tree, the diff and
//! the limits' helpers are hidden: they change without notice.

pub mod app;
pub mod asset;
pub mod component;
mod conformance;
pub mod context;
#[doc(hidden)]
pub mod diff;
pub mod error;
pub mod field_errors;
pub mod flash;
pub mod group;
pub mod hub;
#[doc(hidden)]
pub mod log_limit;
pub mod page;
pub mod persist;
pub mod protocol;
pub mod state;
pub mod store;
pub mod stream;
pub mod testing;
#[doc(hidden)]
pub mod throttle;
pub mod transport;
#[doc(hidden)]
pub mod tree;
pub mod upload;
mod view;

pub use transport::origin;

use std::future::Future;
use std::pin::Pin;

pub use app::{App, AppBuilder, Config, LIVE_MARKER, ResolvedGroup};
pub use component::{Component, Embed, live_component};
pub use context::{Context, Navigation};
pub use error::{Error, Result};
pub use field_errors::FieldErrors;
pub use group::GroupId;
pub use hub::{Hub, PubSubTransport, Session};
pub use page::{Arrival, LiveConnection, PageRoute, Rendered, Request, Services};
pub use persist::{PersistError, PersistHook};
pub use state::{Controller, LiveState, normalize_action};
#[doc(hidden)]
pub use state::{IntoController, ReadOnly};
/// Re-exported for store implementations.
pub use store::Fields;
pub use store::{MemoryStore, PersistStore};
pub use stream::{Stream, StreamItem};
pub use upload::{Upload, UploadConfig, UploadEntry};

/// A boxed, sendable future: what [`PersistStore`]'s `load`, `save` and `flush`,
/// [`PubSubTransport::publish`] and a hand-written [`Controller`] return. Users name it as
/// `livetemplate::BoxFuture` (also `livetemplate::store::BoxFuture` and
/// `livetemplate::pubsub::BoxFuture`, the same item); an `async` block becomes one with
/// `Box::pin`.
///
/// ```
/// use livetemplate_core::{BoxFuture, Result};
///
/// fn later(n: u32) -> BoxFuture<'static, Result<u32>> {
///     Box::pin(async move { Ok(n + 1) })
/// }
/// # let _ = later(1);
/// ```
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Items the generated code names. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::component::{Component, MarkValues};
    pub use crate::field_errors::FieldErrors;
    pub use crate::persist::{
        decode_field, decode_field_migrating, decode_field_version, encode_field, encode_field_version,
    };
    pub use crate::state::{IntoController, ReadOnly};
    pub use crate::tree::{Mark, MarkQueue, TreeSink, mark};
    pub use askama;
    pub use serde;
    pub use std::cell::Cell;

    use crate::error::Error;

    /// A component's state: it needs `Default`, a new instance starts from it (checked by
    /// `#[actions(component)]` with this message).
    #[diagnostic::on_unimplemented(
        message = "a component's state `{Self}` needs `Default`: each new instance starts from `{Self}::default()`",
        label = "this state has no `Default`",
        note = "add `#[derive(Default)]` to `{Self}`, or implement `Default` for it"
    )]
    pub trait ComponentState {}
    impl<T: Default> ComponentState for T {}

    /// Compiles only for a state with `Default` (see [`ComponentState`]).
    pub fn component_state<S: ComponentState>() {}

    /// The error for an action the page does not have (generated `Controller::call`).
    pub fn unknown_action(name: &str, page: &str, known: &[&str]) -> Error {
        Error::unknown_action(name, page, known)
    }

    /// The error for a persisted field that cannot be decoded (generated `LiveState`).
    pub fn decode_error(message: impl Into<String>) -> Error {
        Error::decode(message)
    }

    /// A configuration error, for the transport crates of this workspace.
    pub fn config_error(message: impl Into<String>) -> Error {
        Error::config(message)
    }
}
