//! The one error type of livetemplate: opaque, with predicates for the cases callers act on.

use std::fmt;

/// A livetemplate error.
///
/// Inspect it with the `is_*` predicates; the underlying cause, when there is one, is
/// available through [`std::error::Error::source`].
///
/// ```
/// use livetemplate_core::Error;
/// let err = Error::msg("notes too long");
/// assert!(err.is_action());
/// assert_eq!(err.to_string(), "notes too long");
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An action returned an error of its own.
    Action,
    /// The client named an action the controller does not have.
    UnknownAction,
    /// A client frame could not be parsed.
    Protocol,
    /// Rendering the template failed.
    Render,
    /// The persist store failed.
    Store,
    /// Decoding a persisted field failed.
    Decode,
    /// A session group has no live connection.
    NoConnection,
    /// The application was configured wrongly.
    Config,
    /// An action panicked.
    Panic,
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                source: None,
            }),
        }
    }

    fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// An error raised by an action, shown to the user as `message`.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::new(Kind::Action, message)
    }

    /// The client asked for an action that does not exist.
    pub fn unknown_action(name: &str, page: &str, known: &[&str]) -> Self {
        Error::new(
            Kind::UnknownAction,
            format!(
                "action `{name}` not found on {page}; known: {}",
                if known.is_empty() {
                    "(none)".to_string()
                } else {
                    known.join(", ")
                }
            ),
        )
    }

    /// A client frame was not valid.
    pub fn protocol(message: impl Into<String>) -> Self {
        Error::new(Kind::Protocol, message)
    }

    /// Rendering a template failed.
    pub fn render(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        let message = format!("template render failed: {source}");
        Error::new(Kind::Render, message).with_source(source)
    }

    /// The persist store failed.
    pub fn store(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::new(Kind::Store, message).with_source(source)
    }

    /// A persisted field could not be decoded.
    pub fn decode(message: impl Into<String>) -> Self {
        Error::new(Kind::Decode, message)
    }

    /// The session group has no live connection.
    pub fn no_connection(message: impl Into<String>) -> Self {
        Error::new(Kind::NoConnection, message)
    }

    /// The application was configured wrongly.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(Kind::Config, message)
    }

    /// An action panicked.
    pub fn panic(message: impl Into<String>) -> Self {
        Error::new(Kind::Panic, message)
    }

    /// True for an error an action returned itself.
    pub fn is_action(&self) -> bool {
        self.inner.kind == Kind::Action
    }
    /// True when the client named an unknown action.
    pub fn is_unknown_action(&self) -> bool {
        self.inner.kind == Kind::UnknownAction
    }
    /// True for a malformed client frame.
    pub fn is_protocol(&self) -> bool {
        self.inner.kind == Kind::Protocol
    }
    /// True for a template render failure.
    pub fn is_render(&self) -> bool {
        self.inner.kind == Kind::Render
    }
    /// True for a persist store failure.
    pub fn is_store(&self) -> bool {
        self.inner.kind == Kind::Store
    }
    /// True for a persisted field that could not be decoded.
    pub fn is_decode(&self) -> bool {
        self.inner.kind == Kind::Decode
    }
    /// True when a session group has no live connection.
    pub fn is_no_connection(&self) -> bool {
        self.inner.kind == Kind::NoConnection
    }
    /// True for a configuration mistake.
    pub fn is_config(&self) -> bool {
        self.inner.kind == Kind::Config
    }
    /// True when an action panicked.
    pub fn is_panic(&self) -> bool {
        self.inner.kind == Kind::Panic
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind).field("message", &self.inner.message);
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| &**s as &(dyn std::error::Error + 'static))
    }
}

impl From<askama::Error> for Error {
    fn from(err: askama::Error) -> Self {
        Error::render(err)
    }
}
