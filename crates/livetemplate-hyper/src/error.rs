//! The one error type of the transport: what can make [`serve`](crate::serve) fail.

use std::fmt;

/// An error from the HTTP server: binding the listening socket, or flushing the persist store
/// on shutdown.
///
/// Errors of single requests and connections never end the server; they are answered (404,
/// 403, 422, a close code) and logged instead.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # mod livetemplate { pub use livetemplate_core::{App, Result}; pub use livetemplate_hyper::{LiveService, Server, serve_with_shutdown, client_script_url, Error as TransportError}; }
/// use livetemplate::{App, Server};
/// let first = Server::bind("127.0.0.1:0", App::builder().build()?).await?;
/// // The port is taken.
/// let err = Server::bind(first.local_addr(), App::builder().build()?).await.unwrap_err();
/// assert!(err.is_bind());
/// assert!(err.to_string().starts_with("could not listen"));
/// # Ok(())
/// # }
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
    Bind,
    Store,
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn bind(message: impl Into<String>, source: std::io::Error) -> Self {
        Error {
            inner: Box::new(Inner {
                kind: Kind::Bind,
                message: message.into(),
                source: Some(Box::new(source)),
            }),
        }
    }

    pub(crate) fn store(source: livetemplate_core::Error) -> Self {
        Error {
            inner: Box::new(Inner {
                kind: Kind::Store,
                message: format!("flushing the persist store on shutdown failed: {source}"),
                source: Some(Box::new(source)),
            }),
        }
    }

    /// True when the listening socket could not be opened (address in use, no permission).
    pub fn is_bind(&self) -> bool {
        self.inner.kind == Kind::Bind
    }

    /// True when the persist store could not be flushed during shutdown.
    pub fn is_store(&self) -> bool {
        self.inner.kind == Kind::Store
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

/// So `serve(..).await?` works in a function that returns the core's `Result`: a store
/// error comes back as the store's own error, a bind error as a configuration error.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # mod livetemplate { pub use livetemplate_core::{App, Result}; pub use livetemplate_hyper::{LiveService, Server, serve_with_shutdown, client_script_url, Error as TransportError}; }
/// use livetemplate::{App, Server};
/// async fn run(app: App, addr: std::net::SocketAddr) -> livetemplate::Result<()> {
///     Server::bind(addr, app).await?.shutdown().await?;
///     Ok(())
/// }
/// let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let err = run(App::builder().build().unwrap(), taken.local_addr().unwrap())
///     .await
///     .unwrap_err();
/// assert!(err.is_config(), "{err}");
/// # }
/// ```
impl From<Error> for livetemplate_core::Error {
    fn from(err: Error) -> Self {
        let Inner { kind, message, source } = *err.inner;
        match (kind, source.map(|s| s.downcast::<livetemplate_core::Error>())) {
            (Kind::Store, Some(Ok(core))) => *core,
            _ => livetemplate_core::__private::config_error(message),
        }
    }
}
