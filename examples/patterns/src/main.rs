//! Run with: cargo run -p example-patterns
//!
//! Every seed pattern of livetemplate on one server: an index at `/`, then `/counter`,
//! `/thermostat`, `/reconnection`. Options: `--addr 127.0.0.1:8080` (or `LVT_ADDR`) and
//! `--data ./data` (or `LVT_DATA`) for the sled store. Served under a domain name or behind a
//! TLS proxy, pass `--public-origin https://your.host` (or `LVT_PUBLIC_ORIGIN`); without it
//! the server answers only `localhost` and IP-address hosts. `--csp POLICY` (or `LVT_CSP`)
//! replaces the strict Content-Security-Policy the pages are sent with. `--redis URL` (or
//! `LVT_REDIS_URL`) runs the app on Redis (store, pubsub, presence): start several processes
//! on one Redis behind a load balancer and they act as one app (docs/deployment.md).

use example_patterns::{Options, build_app};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let opts = match Options::from_env_and_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            return std::process::ExitCode::from(2);
        }
    };
    let app = match build_app(&opts) {
        Ok(app) => app,
        Err(err) => {
            eprintln!("cannot start: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match &opts.redis_url {
        Some(_) => {
            tracing::info!(addr = %opts.addr, "serving livetemplate patterns on http://{} (store, pubsub and presence on Redis)", opts.addr)
        }
        None => {
            tracing::info!(addr = %opts.addr, data = %opts.data.display(), "serving livetemplate patterns on http://{}", opts.addr)
        }
    }
    if let Err(err) = livetemplate::serve(&opts.addr, app).await {
        eprintln!("server error: {err}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
