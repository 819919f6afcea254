//! Routing one HTTP request: page GETs, no-JS form POSTs, WebSocket upgrades, the client
//! bundle, and the error pages in between.
//!
//! | request | answer |
//! |---|---|
//! | `GET`/`HEAD` page | 200, the whole HTML document (brotli or gzip when accepted) |
//! | `GET` page with `Upgrade: websocket` | 101 and the live connection; 403 for a foreign or missing `Origin`; 503 while shutting down |
//! | `POST` page, urlencoded form | runs the action, 303 back to the page; 422 when it fails (the page rendered around the state the action left: the user's values, and `FieldErrors` in the state's errors field, else the error above the page) or is unknown (the page as it stands, the error above it); 403 for a foreign origin; 413 over the frame limit; 415 for another body type |
//! | `POST` page, multipart form (files) | the same, the files becoming the entries of the page's uploads (see `multipart.rs`); 413 past what the uploads allow together |
//! | `GET`/`HEAD` `/_lvt/client.js` | the bundle (ETag, `If-None-Match` → 304, brotli or gzip) |
//! | `GET`/`HEAD` `/_lvt/icon.svg`, an app's asset | the file (ETag, `If-None-Match` → 304) |
//! | anything else | 404 (405 for another method on a page) |
//!
//! A page request whose session group cannot be resolved because the persist store cannot be
//! read (no `LVT_SECRET_KEY`, so the cookie-signing key lives in the store) gets 503 with
//! `Retry-After: 5`; any other failure there, 500.
//!
//! Before routing, a server without a public origin refuses (403) a `Host` that DNS rebinding
//! could have chosen (see [`livetemplate_core::transport::origin`]). Every answer carries the configured `Referrer-Policy`,
//! `X-Frame-Options` and `Content-Security-Policy` (defaults `same-origin`, `DENY`,
//! `frame-ancestors 'none'`) and `X-Content-Type-Options: nosniff`. A form body slower than
//! [`Config::body_timeout`](livetemplate_core::Config::body_timeout) gets 408 and the
//! connection is closed.

use std::sync::Arc;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes};
use hyper::header::{
    ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, SET_COOKIE,
};
use hyper::{Method, Request, Response, StatusCode};
use livetemplate_core::Config;
use livetemplate_core::Request as PageRequest;
use livetemplate_core::log_limit::LogLimit;
use livetemplate_core::transport::{self, HeaderCount, Headers, RequestHead, Target, Verdict};

use crate::ResponseBody;
use crate::assets;
use crate::client_js::{self, CLIENT_JS_PATH};
use crate::encoding::{self, Coding};
use crate::multipart;
use crate::shutdown::{Phase, Shared};
use crate::socket;

/// Answer one request: the `Host` check, routing, then on whatever the answer is, the
/// compression of HTML (gzip or brotli, as `Accept-Encoding` prefers) and the security headers.
pub(crate) async fn handle<B>(shared: &Arc<Shared>, req: Request<B>) -> Response<ResponseBody>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let config = shared.app.config();
    let coding = Coding::preferred(req.headers());
    let response = match transport::check_host(&HyperHeaders(req.headers()), target(&req), config) {
        Verdict::Allow => route_request(shared, req).await,
        Verdict::Deny(reason) => {
            log_refusal("request refused by the Host check", reason);
            message_page(StatusCode::FORBIDDEN, "Forbidden", reason)
        }
    };
    let mut response = encoding::encode_html(response, coding).await;
    add_security_headers(config, response.headers_mut());
    response
}

/// Route one request that passed the `Host` check.
async fn route_request<B>(shared: &Arc<Shared>, req: Request<B>) -> Response<ResponseBody>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let method = req.method().clone();

    if path == CLIENT_JS_PATH {
        return match method {
            Method::GET | Method::HEAD => client_js::respond(req.headers(), &query).await,
            _ => method_not_allowed("GET, HEAD"),
        };
    }
    if let Some(response) = assets::respond(&shared.app, &method, &path, &query, req.headers()) {
        return response;
    }
    if let Some(response) = assets::respond_file(&shared.app, &method, &path).await {
        return response;
    }
    if shared.app.route(&path).is_none() {
        return message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("There is no page at {path}."),
        );
    }
    // The app's Authenticator decides first, then an `lvt_group` cookie the server signed;
    // else a new group. A new or re-signed cookie goes out with this response.
    let headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let head = RequestHead {
        path: &path,
        headers: &headers,
    };
    let resolved = match shared.app.resolve_group(&head).await {
        Ok(resolved) => resolved,
        Err(err) => {
            // Failing keeps the browser's cookie; a new group would replace it for good.
            static UNRESOLVED: LogLimit = LogLimit::new("unresolved session groups", 60);
            if UNRESOLVED.allow() {
                tracing::error!(page = %path, error_ref = err.reference().unwrap_or("-"), error = %err, "could not resolve the session group");
            }
            return match err.is_store() {
                true => store_unavailable(),
                false => server_error(&err),
            };
        }
    };
    let https = transport::is_https(
        &HyperHeaders(req.headers()),
        req.uri().scheme_str() == Some("https"),
        &shared.app.config().public_origins,
    );
    let cookie = transport::group_cookie(&resolved, https);
    let page_req = PageRequest {
        path,
        query,
        group: resolved.group,
    };

    let mut response = match method {
        Method::GET if fastwebsockets::upgrade::is_upgrade_request(&req) => upgrade(shared, req, page_req),
        Method::GET | Method::HEAD => page(shared, &page_req).await,
        Method::POST => post(shared, req, &page_req).await,
        _ => method_not_allowed("GET, HEAD, POST"),
    };
    if let Some(value) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

async fn page(shared: &Shared, req: &PageRequest) -> Response<ResponseBody> {
    match shared.app.render_page(req, &client_js::client_script_url()).await {
        Ok(Some(html)) => html_response(StatusCode::OK, html),
        Ok(None) => message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("There is no page at {}.", req.path),
        ),
        Err(err) => {
            tracing::error!(page = %req.path, error_ref = err.reference().unwrap_or("-"), error = %err, "page render failed");
            server_error(&err)
        }
    }
}

fn upgrade<B>(shared: &Arc<Shared>, mut req: Request<B>, page_req: PageRequest) -> Response<ResponseBody> {
    if let Verdict::Deny(reason) =
        transport::check_upgrade(&HyperHeaders(req.headers()), target(&req), shared.app.config())
    {
        log_refusal("WebSocket upgrade refused", reason);
        return message_page(StatusCode::FORBIDDEN, "Forbidden", reason);
    }
    if shared.phase() != Phase::Running {
        return unavailable();
    }
    let (response, upgraded) = match fastwebsockets::upgrade::upgrade(&mut req) {
        Ok(pair) => pair,
        Err(err) => {
            return message_page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                &format!("WebSocket handshake: {err}"),
            );
        }
    };
    let guard = shared.sockets.enter();
    tokio::spawn(socket::run(shared.clone(), upgraded, page_req, guard));
    let (parts, _) = response.into_parts();
    Response::from_parts(parts, Full::new(Bytes::new()))
}

async fn post<B>(shared: &Shared, req: Request<B>, page_req: &PageRequest) -> Response<ResponseBody>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let config = shared.app.config();
    if let Verdict::Deny(reason) = transport::check_post(&HyperHeaders(req.headers()), target(&req), config) {
        log_refusal("form POST refused", reason);
        return message_page(StatusCode::FORBIDDEN, "Forbidden", reason);
    }
    if shared.phase() != Phase::Running {
        return unavailable();
    }
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if let Some(boundary) = multipart::boundary(content_type) {
        return multipart_post(shared, req, page_req, boundary).await;
    }
    if let Some(refusal) = refuse_form_type(req.headers()) {
        return refusal;
    }
    let limit = config.max_frame_bytes;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    // hyper times out only the request head: a body trickled a byte at a time would hold the
    // connection (and shutdown) forever without this.
    let read = tokio::time::timeout(config.body_timeout, Limited::new(req.into_body(), limit).collect()).await;
    let Ok(read) = read else {
        log_refusal("form POST body too slow", "the body did not arrive within body_timeout");
        return request_timeout(config.body_timeout);
    };
    let body = match read {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => return too_large(limit),
        Err(err) => {
            tracing::debug!(error = %err, "reading a form body failed");
            return message_page(StatusCode::BAD_REQUEST, "Bad request", "The form could not be read.");
        }
    };
    let fields = transport::parse_urlencoded(&body);
    run_post(shared, page_req, fields, Vec::new()).await
}

/// A `multipart/form-data` POST (a form with files): the page's uploads say how large the
/// body may be (413 past that) and what each file may be; then the action runs as for a
/// urlencoded form, with the files as its uploads' entries.
async fn multipart_post<B>(
    shared: &Shared,
    req: Request<B>,
    page_req: &PageRequest,
    boundary: String,
) -> Response<ResponseBody>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let config = shared.app.config();
    let uploads = match shared.app.upload_configs(page_req).await {
        Ok(uploads) => uploads,
        Err(err) => {
            tracing::error!(page = %page_req.path, error_ref = err.reference().unwrap_or("-"), error = %err, "mount failed before a multipart POST");
            return server_error(&err);
        }
    };
    let limit = multipart::body_limit(&uploads, config.max_frame_bytes);
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let read = multipart::read(
        req.into_body(),
        boundary,
        &uploads,
        &config.upload_dir,
        config.max_frame_bytes,
        config.body_timeout,
    )
    .await;
    let form = match read {
        Ok(form) => form,
        Err(multipart::Failure::TooLarge(limit)) => return too_large(usize::try_from(limit).unwrap_or(usize::MAX)),
        Err(multipart::Failure::Timeout) => {
            log_refusal("form POST body too slow", "the body did not arrive within body_timeout");
            return request_timeout(config.body_timeout);
        }
        Err(multipart::Failure::Disk) => {
            tracing::error!(page = %page_req.path, dir = %config.upload_dir.display(), "could not write an upload's temporary file");
            return message_page(
                StatusCode::INSUFFICIENT_STORAGE,
                "Not stored",
                "The server could not store the file.",
            );
        }
        Err(multipart::Failure::Bad(why)) => {
            tracing::debug!(error = %why, "reading a multipart form failed");
            return message_page(StatusCode::BAD_REQUEST, "Bad request", "The form could not be read.");
        }
    };
    run_post(shared, page_req, form.fields, form.files).await
}

/// Run the action a POSTed form names, with its fields and files: 303 on success, else the
/// page with the error.
async fn run_post(
    shared: &Shared,
    page_req: &PageRequest,
    fields: Vec<(String, String)>,
    files: Vec<livetemplate_core::upload::ReceivedFile>,
) -> Response<ResponseBody> {
    let Some(route) = shared.app.route(&page_req.path) else {
        return message_page(StatusCode::NOT_FOUND, "Not found", "There is no such page.");
    };
    // A form aimed at a component instance (its `lvt-target` field) names one of its actions.
    let target = fields
        .iter()
        .find(|(k, _)| k == livetemplate_core::component::TARGET_FIELD)
        .map(|(_, v)| v.as_str());
    let actions = route.form_action_names(target);
    let Some((action, data)) = transport::choose_action(fields, &actions) else {
        let msg = format!(
            "The form names no action of {}: its submit button needs a name= that is one of: {}.",
            page_req.path,
            if actions.is_empty() {
                "(none)".to_string()
            } else {
                actions.join(", ")
            }
        );
        return failed_post(shared, page_req, StatusCode::UNPROCESSABLE_ENTITY, &msg).await;
    };
    match shared.app.post_with_files(page_req, &action, &data, files).await {
        Ok(nav) => see_other(&transport::form::after_post(
            &page_req.path,
            &page_req.query,
            nav.as_deref(),
        )),
        Err(err) => match err.reference() {
            // The user reads the action's own message; an internal failure reaches them only
            // as a reference to the log line.
            None => {
                tracing::debug!(page = %page_req.path, %action, error = %err, "form action failed");
                match err.failed_page() {
                    // The page around the state the action left: the user's values, and the
                    // errors next to their fields when the page has an errors field.
                    Some(region) => {
                        let doc = shared.app.document(region, &client_js::client_script_url());
                        let banner = (!err.shown_in_page()).then(|| err.client_message());
                        html_response(StatusCode::UNPROCESSABLE_ENTITY, with_banner(doc, banner.as_deref()))
                    }
                    None => {
                        failed_post(
                            shared,
                            page_req,
                            StatusCode::UNPROCESSABLE_ENTITY,
                            &err.client_message(),
                        )
                        .await
                    }
                }
            }
            Some(error_ref) => {
                static FAILED_POSTS: LogLimit = LogLimit::new("failed form actions", 120);
                if FAILED_POSTS.allow() {
                    tracing::error!(page = %page_req.path, %action, error_ref, error = %err, "form action failed");
                }
                let msg = format!("Nothing was changed: {}.", err.client_message());
                failed_post(shared, page_req, StatusCode::INTERNAL_SERVER_ERROR, &msg).await
            }
        },
    }
}

/// A 415 unless the body is `application/x-www-form-urlencoded`.
fn refuse_form_type(headers: &HeaderMap) -> Option<Response<ResponseBody>> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let Err(mime) = transport::form::check_form_type(content_type) else {
        return None;
    };
    Some(message_page(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Unsupported form encoding",
        &format!(
            "Forms must be posted as application/x-www-form-urlencoded (the default enctype), not `{}`.",
            if mime.is_empty() { "(none)" } else { &mime }
        ),
    ))
}

/// A failed POST: the page as it stands (nothing was changed), with the error above it, so
/// the user sees what went wrong and can try again. Status 422 (or 500) keeps the browser
/// from caching it and tells scripts it failed.
async fn failed_post(shared: &Shared, req: &PageRequest, status: StatusCode, message: &str) -> Response<ResponseBody> {
    match shared.app.render_page(req, &client_js::client_script_url()).await {
        Ok(Some(doc)) => html_response(status, with_banner(doc, Some(message))),
        _ => message_page(status, "The action failed", message),
    }
}

/// `doc` with `message` (if any) in a `data-lvt-post-error` alert at the top of its body.
fn with_banner(mut doc: String, message: Option<&str>) -> String {
    if let Some(message) = message {
        let alert = format!("<p role=\"alert\" data-lvt-post-error>{}</p>\n", escape(message));
        let at = doc.find("<body>").map(|i| i + "<body>".len()).unwrap_or(0);
        let at = if doc[at..].starts_with('\n') { at + 1 } else { at };
        doc.insert_str(at, &alert);
    }
    doc
}

/// `303 See Other` to `location` (`/` when it cannot be a header value).
fn see_other(location: &str) -> Response<ResponseBody> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::SEE_OTHER;
    match HeaderValue::from_str(location) {
        Ok(v) => {
            resp.headers_mut().insert(LOCATION, v);
        }
        Err(_) => {
            resp.headers_mut().insert(LOCATION, HeaderValue::from_static("/"));
        }
    }
    resp
}

fn html_response(status: StatusCode, html: String) -> Response<ResponseBody> {
    let mut resp = Response::new(Full::new(Bytes::from(html)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    // The page shows one group's state: never let a shared cache keep it.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    resp
}

/// A small HTML page for errors.
fn message_page(status: StatusCode, title: &str, message: &str) -> Response<ResponseBody> {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"/_lvt/icon.svg\"><title>{t}</title></head>\n\
         <body>\n<h1>{t}</h1>\n<p>{m}</p>\n</body>\n</html>\n",
        t = escape(title),
        m = escape(message)
    );
    let mut resp = html_response(status, html);
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A 500 for an internal error: only its reference, which the server log carries with the
/// whole error.
fn server_error(err: &livetemplate_core::Error) -> Response<ResponseBody> {
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Server error",
        &format!("This page could not be shown: {}.", err.client_message()),
    )
}

/// 503 while the persist store cannot be read and the session group depends on it.
fn store_unavailable() -> Response<ResponseBody> {
    let mut resp = message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "The session store cannot be reached. Try again in a moment.",
    );
    resp.headers_mut().insert("retry-after", HeaderValue::from_static("5"));
    resp
}

fn method_not_allowed(allow: &'static str) -> Response<ResponseBody> {
    let mut resp = message_page(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        &format!("Use {allow}."),
    );
    resp.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    resp
}

fn too_large(limit: usize) -> Response<ResponseBody> {
    message_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Form too large",
        &format!("The form is larger than the {limit} bytes this server accepts."),
    )
}

fn unavailable() -> Response<ResponseBody> {
    let mut resp = message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Restarting",
        "The server is restarting. Try again in a moment.",
    );
    resp.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    resp
}

/// 408 for a body slower than `timeout`; `Connection: close` makes hyper close the
/// connection after it instead of waiting for the rest of the body.
fn request_timeout(timeout: std::time::Duration) -> Response<ResponseBody> {
    let mut resp = message_page(
        StatusCode::REQUEST_TIMEOUT,
        "Request timeout",
        &format!(
            "The form did not arrive within {} seconds. Try again.",
            timeout.as_secs_f64()
        ),
    );
    resp.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// What the origin checks need of the request: its URI's authority (used when there is no
/// `Host` header: HTTP/2, absolute-form URIs) and whether its URI says `https`.
fn target<B>(req: &Request<B>) -> Target<'_> {
    Target {
        authority: req.uri().authority().map(|a| a.as_str()),
        https: req.uri().scheme_str() == Some("https"),
    }
}

/// Add the configured security headers (an empty setting sends none) unless the response set
/// its own, and `X-Content-Type-Options: nosniff`.
fn add_security_headers(config: &Config, headers: &mut HeaderMap) {
    for (name, value) in [
        ("referrer-policy", &config.referrer_policy),
        ("x-frame-options", &config.frame_options),
        ("content-security-policy", &config.content_security_policy),
    ] {
        if value.is_empty() || headers.contains_key(name) {
            continue;
        }
        // `AppBuilder::build` checked that each value is printable ASCII.
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    headers
        .entry("x-content-type-options")
        .or_insert(HeaderValue::from_static("nosniff"));
}

/// Log a refused request without anything the client sent (the reasons are fixed texts): at
/// most ten WARN lines a minute across all refusals, then one line saying how many were held
/// back, so a flood of bad requests cannot flood the log (see `livetemplate_core::log_limit`).
fn log_refusal(what: &'static str, reason: &'static str) {
    static REFUSALS: LogLimit = LogLimit::new("requests refused", 10);
    if REFUSALS.allow() {
        tracing::warn!(%reason, "{what}");
    } else {
        tracing::debug!(%reason, "{what}");
    }
}

/// hyper's header map as the transport's HTTP checks read it: a value that is not text still
/// counts (as one the checks refuse).
struct HyperHeaders<'a>(&'a HeaderMap);

impl Headers for HyperHeaders<'_> {
    fn count(&self, name: &str) -> HeaderCount<'_> {
        let mut values = self.0.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => HeaderCount::Absent,
            (Some(v), None) => HeaderCount::One(v.to_str().unwrap_or("\u{FFFD}")),
            (Some(_), Some(_)) => HeaderCount::Many,
        }
    }

    fn first(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
