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
//!   `docs/protocol.md`). Exactly one `Origin` is required, equal (scheme, host and port) to a
//!   [public origin](livetemplate_core::Config::public_origins), else — when none is
//!   configured — to `http://` plus the request's `Host`, or to an
//!   [allowed origin](livetemplate_core::Config::allowed_origins); otherwise 403.
//!   Frames over [`Config::max_frame_bytes`](livetemplate_core::Config::max_frame_bytes)
//!   close the socket with 1009 (logged as a warning), binary frames that are not upload chunks
//!   with 1003, floods with 1008,
//!   unmasked frames (RFC 6455 requires clients to mask) with 1002.
//! - `POST /page` with a urlencoded or multipart form (files go to the page's uploads) — runs the action named by the clicked button
//!   (`<button name="increment">`) with the other fields as data, then `303 See Other` back
//!   to the page. When the action fails (or the form names none) the answer is `422` with
//!   the page and the error message above it. `Origin` (or, without it, `Referer`) must match
//!   as for the socket; two of either are refused; a POST with neither header (old browsers,
//!   curl) is allowed.
//! - `GET /_lvt/client.js` — the client bundle with a strong ETag (304 on `If-None-Match`),
//!   `Cache-Control`, and gzip when accepted.
//! - `GET /_lvt/icon.svg` and the app's [assets](livetemplate_core::AppBuilder::asset) — with
//!   a strong ETag; versioned URLs (`?v=<hash>`) are cached as immutable.
//!
//! HTML answers (pages, the `422` of a failed form, error pages) are compressed with brotli or
//! gzip when `Accept-Encoding` accepts one (q-values honoured), with `Vary: Accept-Encoding`.
//! Each live WebSocket is one task that holds no buffer while the connection is idle
//! (fastwebsockets answers the handshake; the framing is this crate's own).
//!
//! Every answer carries `Referrer-Policy`, `X-Frame-Options` and `Content-Security-Policy` as
//! configured (defaults `same-origin`, `DENY`, `frame-ancestors 'none'`). Without a public
//! origin, only requests whose `Host` is `localhost`, `*.localhost` or an IP literal are
//! answered (DNS-rebinding defence; 403 otherwise). A form body slower than
//! [`Config::body_timeout`](livetemplate_core::Config::body_timeout) gets 408 and the
//! connection is closed. The threat model is in `docs/security.md`.
//!
//! The rules above that need no HTTP library (the `Host` and `Origin` checks, reading the form
//! and choosing its action, the group cookie) and the connection loop are
//! `livetemplate_core::transport`'s, shared with any other transport; this crate adapts them
//! to hyper and fastwebsockets.
//!
//! Run it with [`serve`], embed it with [`LiveService`] (a hyper and tower service, so it
//! mounts in an axum `Router`), or start a [`Server`] on port 0 in tests.
//!
//! ```no_run
//! # async fn demo(app: livetemplate_core::App) -> Result<(), livetemplate_hyper::Error> {
//! livetemplate_hyper::serve("127.0.0.1:8080", app).await // until Ctrl-C or SIGTERM
//! # }
//! ```

mod assets;
mod client_js;
mod encoding;
mod error;
mod frames;
mod multipart;
mod routes;
mod server;
mod service;
mod shutdown;
mod socket;

pub use client_js::{CLIENT_JS_PATH, client_script_url};
pub use error::{Error, Result};
pub use server::{Server, serve, serve_service, serve_with_shutdown};
pub use service::{LiveService, ResponseFuture, SHUTDOWN_GRACE};

/// The response body of every [`LiveService`] response.
pub type ResponseBody = http_body_util::Full<hyper::body::Bytes>;
