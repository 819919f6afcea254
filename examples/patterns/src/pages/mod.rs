//! One module per pattern page.

use livetemplate::AppBuilder;

pub mod broadcasting;
pub mod chat;
pub mod chat_stream;
pub mod components;
pub mod counter;
pub mod forms;
pub mod hook_events;
pub mod index;
pub mod navigation;
pub mod presence;
pub mod reconnection;
pub mod server_push;
pub mod streams;
pub mod thermostat;
pub mod uploads;
pub mod url_params;

/// The pages' stylesheet (`static/patterns.css`), served at [`STYLESHEET_PATH`] rather than
/// inlined, so every page runs under a strict Content-Security-Policy.
pub const STYLESHEET: &str = include_str!("../../static/patterns.css");

/// Where [`STYLESHEET`] is served.
pub const STYLESHEET_PATH: &str = "/patterns.css";

/// The policy the example sends unless `--csp` says otherwise: nothing but this origin's own
/// scripts, styles, images and sockets, and no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; frame-ancestors 'none'";

/// Add every pattern page.
pub fn register(b: AppBuilder) -> AppBuilder {
    let b = b.page("/", index::IndexController, index::IndexState::new());
    let b = counter::register(b);
    let b = components::register(b);
    let b = thermostat::register(b);
    let b = reconnection::register(b);
    let b = server_push::register(b);
    let b = broadcasting::register(b);
    let b = presence::register(b);
    let b = chat::register(b);
    let b = chat_stream::register(b);
    let b = streams::register(b);
    let b = url_params::register(b);
    let b = navigation::register(b);
    let b = forms::register(b);
    hook_events::register(b)
}
