//! The HTTP server: the accept loop, one hyper connection per socket, signals, and the
//! [`Server`] handle tests and embedders use.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use livetemplate_core::App;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::service::LiveService;
use crate::shutdown::{Phase, reached};

/// A client that has not sent its request headers after this long is dropped.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Serve `app` on `addr` until SIGINT (Ctrl-C) or SIGTERM, then shut down gracefully: stop
/// accepting, let running requests and actions finish, flush the persist store, and close
/// every WebSocket with 1001 so browsers reconnect to the next process.
///
/// ```no_run
/// # async fn demo(app: livetemplate_core::App) -> Result<(), livetemplate_hyper::Error> {
/// livetemplate_hyper::serve("127.0.0.1:8080", app).await
/// # }
/// ```
pub async fn serve(addr: impl ToSocketAddrs, app: App) -> Result<()> {
    let listener = bind(addr).await?;
    if let Ok(local) = listener.local_addr() {
        tracing::info!(addr = %local, "livetemplate listening on http://{local}");
    }
    serve_with_shutdown(listener, Arc::new(app), shutdown_signal()).await
}

/// Serve `app` on `listener` until `shutdown` completes, then shut down gracefully, as
/// `serve` does on Ctrl-C: stop accepting, finish running actions, flush the store, close
/// sockets with 1001.
///
/// ```no_run
/// # mod livetemplate { pub use livetemplate_core::{App, Result}; pub use livetemplate_hyper::{LiveService, Server, serve_with_shutdown, client_script_url, Error as TransportError}; }
/// # async fn demo(app: std::sync::Arc<livetemplate::App>) -> Result<(), livetemplate::TransportError> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(livetemplate::serve_with_shutdown(listener, app, async {
///     let _ = stopped.await;
/// }));
/// // ...
/// let _ = stop.send(());
/// server.await.unwrap()
/// # }
/// ```
pub async fn serve_with_shutdown(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    serve_service(listener, LiveService::from_arc(app), shutdown).await
}

/// Serve an existing [`LiveService`] on `listener` until `shutdown` completes.
pub async fn serve_service(
    listener: TcpListener,
    service: LiveService,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = service.shared.clone();
        let svc = service.clone();
        let guard = shared.work.enter();
        let mut phase = shared.phase.subscribe();
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = reached(&mut phase, Phase::Draining) => {
                    // Finish the request in flight (if any), then close; idle keep-alive
                    // connections close at once.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(err) = result {
                tracing::debug!(error = %err, "HTTP connection ended with an error");
            }
            drop(guard);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing running actions, then closing live connections");
    service.shutdown().await
}

async fn bind(addr: impl ToSocketAddrs) -> Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => "; another process uses this address: stop it or pick another port",
            std::io::ErrorKind::PermissionDenied => "; ports below 1024 need privileges: pick a higher port",
            _ => "",
        };
        Error::bind(format!("could not listen: {e}{hint}"), e)
    })
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}

/// A running server: its address, its service, and a way to stop it. Dropping it without
/// calling [`shutdown`](Server::shutdown) shuts it down in the background.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # mod livetemplate { pub use livetemplate_core::{App, Result}; pub use livetemplate_hyper::{LiveService, Server, serve_with_shutdown, client_script_url, Error as TransportError}; }
/// use livetemplate::{App, Server};
/// let server = Server::bind("127.0.0.1:0", App::builder().build().unwrap())
///     .await
///     .unwrap();
/// let addr = server.local_addr();
/// assert!(addr.port() != 0);
/// server.shutdown().await.unwrap();
/// assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer accepting");
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    service: LiveService,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<()>>>,
}

impl Server {
    /// Bind `addr` (use port 0 for any free port) and start serving `app` in a task.
    pub async fn bind(addr: impl ToSocketAddrs, app: App) -> Result<Server> {
        Self::start(bind(addr).await?, Arc::new(app))
    }

    /// Start serving `app` on `listener` in a task.
    pub fn start(listener: TcpListener, app: Arc<App>) -> Result<Server> {
        let addr = listener
            .local_addr()
            .map_err(|e| Error::bind(format!("the listener has no local address: {e}"), e))?;
        let service = LiveService::from_arc(app);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_service(listener, service.clone(), async {
            // A dropped sender (the Server was dropped) also means stop.
            let _ = stopped.await;
        }));
        Ok(Server {
            addr,
            service,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service, e.g. to count live connections.
    pub fn service(&self) -> &LiveService {
        &self.service
    }

    /// Shut down gracefully (as `serve` does on Ctrl-C; see [`LiveService::shutdown`]) and wait
    /// until done.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(result) => result,
                Err(err) => {
                    tracing::error!(error = %err, "the server task failed");
                    Ok(())
                }
            },
            None => Ok(()),
        }
    }
}
