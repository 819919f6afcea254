//! The one error type of livetemplate: opaque, with predicates for the cases callers act on,
//! and the split between what a user may read and what only the server log may hold.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use crate::field_errors::FieldErrors;

/// A livetemplate error.
///
/// Inspect it with the `is_*` predicates; the underlying cause, when there is one, is
/// available through [`std::error::Error::source`].
///
/// ```
/// # use livetemplate_core as livetemplate;
/// use livetemplate::Error;
/// let err = Error::msg("notes too long");
/// assert!(err.is_action());
/// assert_eq!(err.to_string(), "notes too long");
/// ```
///
/// `to_string()` is the whole message, for the server log. What a browser may see is
/// [`client_message`](Error::client_message): an action's own text as it is, and for an
/// internal failure only a generic line with a short reference that the log carries too.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    /// The short reference of an internal error, made when first asked for.
    reference: OnceLock<Box<str>>,
    /// The errors per field of an action that returned [`FieldErrors`].
    fields: Option<FieldErrors>,
    /// A failed no-JS POST: the page rendered around the state the action left, and whether
    /// it shows the error itself (in the state's `#[lvt(errors)]` field).
    failed_page: Option<(String, bool)>,
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
                reference: OnceLock::new(),
                fields: None,
                failed_page: None,
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
    pub(crate) fn unknown_action(name: &str, page: &str, known: &[&str]) -> Self {
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
    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Error::new(Kind::Protocol, message)
    }

    /// Rendering a template failed.
    pub(crate) fn render(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        let message = format!("template render failed: {source}");
        Error::new(Kind::Render, message).with_source(source)
    }

    /// The persist store failed: for store implementations, with the store's own error as
    /// the [`source`](std::error::Error::source).
    pub fn store(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::new(Kind::Store, message).with_source(source)
    }

    /// A persisted field could not be decoded.
    pub(crate) fn decode(message: impl Into<String>) -> Self {
        Error::new(Kind::Decode, message)
    }

    /// The session group has no live connection.
    pub(crate) fn no_connection(message: impl Into<String>) -> Self {
        Error::new(Kind::NoConnection, message)
    }

    /// The application was configured wrongly.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(Kind::Config, message)
    }

    /// An action panicked.
    pub(crate) fn panic(message: impl Into<String>) -> Self {
        Error::new(Kind::Panic, message)
    }

    /// The errors per field, when the action returned [`FieldErrors`] (`Err(errors.into())`).
    pub fn field_errors(&self) -> Option<&FieldErrors> {
        self.inner.fields.as_ref()
    }

    /// A failed no-JS POST carries the page rendered around the state the action left (the
    /// user's typed values in non-persisted fields, errors in the `#[lvt(errors)]` field):
    /// the transport answers 422 with it. For transports.
    #[doc(hidden)]
    pub fn failed_page(&self) -> Option<&str> {
        self.inner.failed_page.as_ref().map(|(html, _)| html.as_str())
    }

    /// True when [`failed_page`](Self::failed_page) shows this error itself (its field
    /// errors in the state's errors field): no banner is needed. For transports.
    #[doc(hidden)]
    pub fn shown_in_page(&self) -> bool {
        self.inner.failed_page.as_ref().is_some_and(|(_, shown)| *shown)
    }

    /// Attach the page a failed no-JS POST answers with.
    pub(crate) fn with_failed_page(mut self, html: String, shown: bool) -> Self {
        self.inner.failed_page = Some((html, shown));
        self
    }

    /// True for an error an action returned itself (its own message, or [`FieldErrors`]).
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

    /// True for a failure of the server (store, render, panic, decode, configuration, no
    /// connection), whose message is for the server log only. False for an action's own
    /// error, an unknown action and a malformed client frame: those are the client's to read.
    pub fn is_internal(&self) -> bool {
        !matches!(self.inner.kind, Kind::Action | Kind::UnknownAction | Kind::Protocol)
    }

    /// The short reference of an internal error (six hex digits, the same for every call on
    /// this error), that [`client_message`](Error::client_message) shows and the log line
    /// should carry, so a user's report finds the full error. `None` for errors meant for the
    /// client.
    pub fn reference(&self) -> Option<&str> {
        self.is_internal()
            .then(|| &**self.inner.reference.get_or_init(new_reference))
    }

    /// The text to show a user: an action's own message (`Error::msg`), an unknown action's
    /// or a malformed frame's as they are; for an internal failure only
    /// `internal error (ref 7f3a9c)`, never its message (which may hold paths, store or
    /// template details).
    ///
    /// ```
    /// # use livetemplate_core as livetemplate;
    /// use livetemplate::Error;
    /// assert_eq!(Error::msg("Name is required").client_message(), "Name is required");
    /// let err = Error::store("sled write to /var/lib/app failed", std::io::Error::other("disk full"));
    /// let shown = err.client_message();
    /// assert!(!shown.contains("sled") && !shown.contains("disk"), "{shown}");
    /// assert_eq!(shown, format!("internal error (ref {})", err.reference().unwrap()));
    /// ```
    pub fn client_message(&self) -> Cow<'_, str> {
        match self.reference() {
            None => Cow::Borrowed(&self.inner.message),
            Some(reference) => Cow::Owned(format!("internal error (ref {reference})")),
        }
    }
}

/// Six hex digits from the OS random source (24 bits: enough to find one line in a log).
fn new_reference() -> Box<str> {
    let bytes: [u8; 3] = crate::group::random_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect::<String>().into()
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind).field("message", &self.inner.message);
        if let Some(reference) = self.inner.reference.get() {
            d.field("reference", reference);
        }
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

impl From<FieldErrors> for Error {
    /// An action's error per field: its message (for the log, and for an `lvt-error-message`
    /// element) lists them, `email: must contain @; password: at least 8 characters`.
    fn from(errors: FieldErrors) -> Self {
        let mut err = Error::new(Kind::Action, errors.to_string());
        err.inner.fields = Some(errors);
        err
    }
}

impl From<askama::Error> for Error {
    fn from(err: askama::Error) -> Self {
        Error::render(err)
    }
}
