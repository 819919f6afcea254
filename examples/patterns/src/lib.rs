//! The pattern pages of `example-patterns`, as a library so tests can build the same app.

use std::path::PathBuf;

use livetemplate::App;
use livetemplate::store::SledStore;
use livetemplate_redis::{Redis, RedisExt};

pub mod pages;

/// Command-line and environment options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Listen address.
    pub addr: String,
    /// Data directory for the sled store.
    pub data: PathBuf,
    /// Public origins (`https://app.example.com`), for serving under a domain name or behind
    /// a TLS proxy; without one the server answers only localhost and IP-address hosts.
    pub public_origins: Vec<String>,
    /// The `Content-Security-Policy` sent with every answer.
    pub content_security_policy: String,
    /// A Redis URL: when set, the persist store, pubsub, presence and `trigger_action` go
    /// through Redis, so several processes of the app act as one (`--data` is then unused).
    pub redis_url: Option<String>,
    /// Where uploads' temporary files go while their bytes arrive (default: the system's
    /// temporary directory). Saved uploads go to `<data>/uploads`.
    pub upload_tmp: Option<PathBuf>,
}

impl Options {
    /// Read `--addr`/`LVT_ADDR`, `--data`/`LVT_DATA`, `--public-origin`/`LVT_PUBLIC_ORIGIN`
    /// (repeatable; the variable takes a comma-separated list), `--csp`/`LVT_CSP`,
    /// `--redis`/`LVT_REDIS_URL` and `--upload-tmp`/`LVT_UPLOAD_TMP` (flags win).
    pub fn from_env_and_args(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut opts = Options {
            addr: std::env::var("LVT_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into()),
            data: std::env::var("LVT_DATA").unwrap_or_else(|_| "./data".into()).into(),
            public_origins: std::env::var("LVT_PUBLIC_ORIGIN")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            content_security_policy: std::env::var("LVT_CSP").unwrap_or_else(|_| pages::CONTENT_SECURITY_POLICY.into()),
            redis_url: std::env::var(livetemplate_redis::REDIS_URL_ENV)
                .ok()
                .filter(|u| !u.trim().is_empty()),
            upload_tmp: std::env::var("LVT_UPLOAD_TMP")
                .ok()
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
        };
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (arg.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or(format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--addr" => opts.addr = value()?,
                "--data" => opts.data = value()?.into(),
                "--public-origin" => opts.public_origins.push(value()?),
                "--csp" => opts.content_security_policy = value()?,
                "--redis" => opts.redis_url = Some(value()?),
                "--upload-tmp" => opts.upload_tmp = Some(value()?.into()),
                "-h" | "--help" => {
                    return Err("usage: example-patterns [--addr HOST:PORT] [--data DIR] [--public-origin URL]... [--csp POLICY] [--redis redis://HOST:PORT/DB] [--upload-tmp DIR]".into());
                }
                other => return Err(format!("unknown option `{other}`; try --help")),
            }
        }
        Ok(opts)
    }
}

/// The app with every pattern page: on Redis when `opts.redis_url` is set (store, pubsub,
/// presence), else storing persisted fields in sled under `opts.data`. Call it inside a tokio
/// runtime (the Redis tasks start with the app).
pub fn build_app(opts: &Options) -> livetemplate::Result<App> {
    let builder = match &opts.redis_url {
        Some(url) => App::builder().redis(&Redis::builder(url.as_str()).build()?),
        None => {
            std::fs::create_dir_all(&opts.data).map_err(|e| {
                livetemplate::Error::msg(format!("cannot create data directory `{}`: {e}", opts.data.display()))
            })?;
            App::builder().store(SledStore::open(opts.data.join("patterns.sled"))?)
        }
    };
    let mut builder = builder
        .title("livetemplate patterns")
        .stylesheet(pages::STYLESHEET_PATH, pages::STYLESHEET)
        .content_security_policy(opts.content_security_policy.as_str());
    for origin in &opts.public_origins {
        builder = builder.public_origin(origin.as_str());
    }
    if let Some(dir) = &opts.upload_tmp {
        let dir = dir.clone();
        builder = builder.config(move |c| c.upload_dir = dir);
    }
    let builder = pages::uploads::register(builder, &opts.data.join("uploads"));
    pages::register(builder).build()
}
