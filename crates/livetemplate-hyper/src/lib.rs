//! HTTP and WebSocket transport for livetemplate, on hyper 1 and fastwebsockets.
//!
//! It serves an [`App`](livetemplate_core::App):
//!
//! - `GET /page` — the whole HTML document; works with JavaScript off. The session group
//!   is the app's `Authenticator`'s answer, else an `lvt_group` cookie the server signed
//!   ([`App::resolve_group`](livetemplate_core::App::resolve_group)); a request with neither
//!   gets a new group and a `Set-Cookie` (also on the 303 of a POST and on the 101 of a
//!   WebSocket upgrade), as does one whose cookie was signed with a previous key (re-signed).
//! - `GET /page` with `Upgrade: websocket` — the live connection (protocol in
//!   `docs/protocol.md`). `Origin` must name the request's host or an allowed origin
//!   ([`Config::allowed_origins`](livetemplate_core::Config::allowed_origins)), else 403.
//!   Frames over [`Config::max_frame_bytes`](livetemplate_core::Config::max_frame_bytes)
//!   close the socket with 1009 (logged as a warning), binary frames with 1003, floods with 1008,
//!   unmasked frames (RFC 6455 requires clients to mask) with 1002.
//! - `POST /page` with a urlencoded form — runs the action named by the clicked button
//!   (`<button name="increment">`) with the other fields as data, then `303 See Other` back
//!   to the page. When the action fails (or the form names none) the answer is `422` with
//!   the page and the error message above it. `Origin` (or, without it, `Referer`) must match
//!   as for the socket; a POST with neither header (old browsers, curl) is allowed.
//! - `GET /_lvt/client.js` — the client bundle with a strong ETag (304 on `If-None-Match`),
//!   `Cache-Control`, and gzip when accepted.
//!
//! Run it with [`serve`], embed it with [`LiveService`] (a hyper and tower service, so it
//! mounts in an axum `Router`), or start a [`Server`] on port 0 in tests.
//!
//! ```no_run
//! # async fn demo(app: livetemplate_core::App) -> Result<(), livetemplate_hyper::Error> {
//! livetemplate_hyper::serve("127.0.0.1:8080", app).await // until Ctrl-C or SIGTERM
//! # }
//! ```

mod client_js;
mod error;
mod form;
mod origin;
mod routes;
mod server;
mod service;
mod socket;

pub use client_js::{CLIENT_JS_PATH, client_script_url};
pub use error::{Error, Result};
pub use server::{Server, serve, serve_service, serve_with_shutdown};
pub use service::{LiveService, ResponseBody, ResponseFuture, SHUTDOWN_GRACE};
