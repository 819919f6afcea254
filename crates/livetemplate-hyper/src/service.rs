//! [`LiveService`]: the app as a hyper and tower service, and its shutdown sequence (the state
//! it shares with requests and sockets is in [`crate::shutdown`]).

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Body;
use hyper::{Request, Response};
use livetemplate_core::App;
use tokio::sync::watch;

use crate::ResponseBody;
use crate::error::{Error, Result};
use crate::routes;
use crate::shutdown::{Phase, Shared, Tracker};

/// How long shutdown waits for running actions and requests, and then again for sockets to
/// take their close frame, before it gives up on stragglers.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A livetemplate [`App`] as an HTTP service: pages (GET), the no-JS form path (POST), the
/// live WebSocket on each page's URL, and the client bundle at `/_lvt/client.js`.
///
/// It implements both [`hyper::service::Service`] and [`tower_service::Service`] for any
/// request body, so it can be served by hyper directly (as `serve` and [`Server`](crate::Server) do) or
/// mounted in an axum `Router`:
///
/// ```no_run
/// # mod livetemplate { pub use livetemplate_core::{App, Result}; pub use livetemplate_hyper::{LiveService, Server, serve_with_shutdown, client_script_url, Error as TransportError}; }
/// # async fn demo(app: livetemplate::App) -> Result<(), Box<dyn std::error::Error>> {
/// use livetemplate::LiveService;
///
/// let live = LiveService::new(app);
/// let router = axum::Router::new()
///     .route("/health", axum::routing::get(|| async { "ok" }))
///     .fallback_service(live.clone());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, router)
///     .with_graceful_shutdown(async {
///         let _ = tokio::signal::ctrl_c().await;
///     })
///     .await?;
/// // axum has stopped accepting: finish actions, flush the store, close sockets with 1001.
/// live.shutdown().await?;
/// # Ok(())
/// # }
/// ```
///
/// Clones share one app and one shutdown sequence.
#[derive(Clone)]
pub struct LiveService {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for LiveService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveService")
            .field("pages", &self.shared.app.paths())
            .field("phase", &self.shared.phase())
            .field("sockets", &self.shared.sockets.count())
            .finish()
    }
}

impl LiveService {
    /// Serve `app`.
    ///
    /// ```
    /// # mod livetemplate { pub use livetemplate_core::{App, Result}; pub use livetemplate_hyper::{LiveService, Server, serve_with_shutdown, client_script_url, Error as TransportError}; }
    /// use livetemplate::{App, LiveService};
    /// let service = LiveService::new(App::builder().build().unwrap());
    /// assert!(service.app().paths().is_empty());
    /// ```
    pub fn new(app: App) -> Self {
        Self::from_arc(Arc::new(app))
    }

    /// Serve an app that is shared with other code.
    ///
    /// Without [`Config::public_origins`](livetemplate_core::Config::public_origins) it logs
    /// once (INFO) that it answers only `localhost` and IP-address hosts over plain `http`.
    pub fn from_arc(app: Arc<App>) -> Self {
        if app.config().public_origins.is_empty() {
            tracing::info!(
                "no public origin configured: assuming plain http and answering only requests for \
                 localhost and IP addresses (DNS-rebinding defence); behind a domain name or a TLS \
                 proxy, set App::builder().public_origin(\"https://your.host\")"
            );
        }
        LiveService {
            shared: Arc::new(Shared {
                app,
                phase: watch::Sender::new(Phase::Running),
                work: Tracker::new(),
                sockets: Tracker::new(),
            }),
        }
    }

    /// The app being served.
    pub fn app(&self) -> &Arc<App> {
        &self.shared.app
    }

    /// Number of open live WebSocket connections.
    pub fn live_connections(&self) -> usize {
        self.shared.sockets.count()
    }

    /// True once [`shutdown`](Self::shutdown) has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.phase() != Phase::Running
    }

    /// Shut down gracefully: refuse new sockets and POSTs (503), let running actions and
    /// requests finish, flush the persist store, then close every WebSocket with 1001 (going
    /// away) so browsers reconnect to the next process. Each wait is bounded by
    /// [`SHUTDOWN_GRACE`].
    ///
    /// When the service runs inside another server (axum), stop that server from accepting
    /// first, then call this. `serve` and [`Server`](crate::Server) call it
    /// for you.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # mod livetemplate { pub use livetemplate_core::{App, Result}; pub use livetemplate_hyper::{LiveService, Server, serve_with_shutdown, client_script_url, Error as TransportError}; }
    /// use livetemplate::{App, LiveService};
    /// let service = LiveService::new(App::builder().build().unwrap());
    /// service.shutdown().await.unwrap();
    /// assert!(service.is_shutting_down());
    /// # }
    /// ```
    pub async fn shutdown(&self) -> Result<()> {
        let s = &self.shared;
        s.phase.send_if_modified(|p| {
            let changed = *p == Phase::Running;
            if changed {
                *p = Phase::Draining;
            }
            changed
        });
        if !s.work.wait_idle(SHUTDOWN_GRACE).await {
            tracing::warn!(
                in_flight = s.work.count(),
                "shutdown: requests or actions still running after the grace period; closing anyway"
            );
        }
        let flushed = s.app.store().flush().await;
        if let Err(err) = &flushed {
            tracing::error!(error = %err, "shutdown: flushing the persist store failed");
        }
        s.phase.send_replace(Phase::Closing);
        if !s.sockets.wait_idle(SHUTDOWN_GRACE).await {
            tracing::warn!(
                sockets = s.sockets.count(),
                "shutdown: some WebSockets did not close in time"
            );
        }
        flushed.map_err(Error::store)
    }
}

/// The future of a [`LiveService`] response.
pub struct ResponseFuture {
    inner: Pin<Box<dyn Future<Output = std::result::Result<Response<ResponseBody>, Infallible>> + Send>>,
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = std::result::Result<Response<ResponseBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl LiveService {
    fn respond<B>(&self, req: Request<B>) -> ResponseFuture
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let shared = self.shared.clone();
        ResponseFuture {
            inner: Box::pin(async move {
                let _in_flight = shared.work.enter();
                Ok(routes::handle(&shared, req).await)
            }),
        }
    }
}

impl<B> hyper::service::Service<Request<B>> for LiveService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request<B>) -> Self::Future {
        self.respond(req)
    }
}

impl<B> tower_service::Service<Request<B>> for LiveService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.respond(req)
    }
}
