//! One module per pattern page.

use livetemplate::AppBuilder;

pub mod broadcasting;
pub mod counter;
pub mod hook_events;
pub mod index;
pub mod presence;
pub mod reconnection;
pub mod server_push;
pub mod thermostat;
pub mod url_params;

/// A little CSS so the pages are readable.
pub const STYLE: &str = r#"<style>
body{font-family:system-ui,sans-serif;margin:0;color:#222}
nav.top{display:flex;gap:1rem;align-items:center;padding:.6rem 1rem;background:#f3f4f6;border-bottom:1px solid #ddd}
nav.top a{color:inherit;text-decoration:none}
.category{color:#666;font-size:.9rem}
main.container{max-width:46rem;margin:1rem auto;padding:0 1rem}
button{font-size:1rem;padding:.35rem .8rem;margin:.2rem;cursor:pointer}
textarea,input{font:inherit;width:100%;box-sizing:border-box}
.lvt-disconnected main{opacity:.6}
</style>
"#;

/// Add every pattern page.
pub fn register(b: AppBuilder) -> AppBuilder {
    let b = b.page("/", index::IndexController, index::IndexState::new());
    let b = counter::register(b);
    let b = thermostat::register(b);
    let b = reconnection::register(b);
    let b = server_push::register(b);
    let b = broadcasting::register(b);
    let b = presence::register(b);
    let b = url_params::register(b);
    hook_events::register(b)
}
