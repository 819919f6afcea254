//! The pattern pages of `example-patterns`, as a library so tests can build the same app.

use std::path::PathBuf;

use livetemplate::{App, SledStore};

pub mod pages;

/// Command-line and environment options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Listen address.
    pub addr: String,
    /// Data directory for the sled store.
    pub data: PathBuf,
}

impl Options {
    /// Read `--addr`/`LVT_ADDR` and `--data`/`LVT_DATA` (flags win).
    pub fn from_env_and_args(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut opts = Options {
            addr: std::env::var("LVT_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into()),
            data: std::env::var("LVT_DATA").unwrap_or_else(|_| "./data".into()).into(),
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
                "-h" | "--help" => {
                    return Err("usage: example-patterns [--addr HOST:PORT] [--data DIR]".into());
                }
                other => return Err(format!("unknown option `{other}`; try --help")),
            }
        }
        Ok(opts)
    }
}

/// The app with every pattern page, storing persisted fields under `opts.data`.
pub fn build_app(opts: &Options) -> livetemplate::Result<App> {
    std::fs::create_dir_all(&opts.data).map_err(|e| {
        livetemplate::Error::config(format!("cannot create data directory `{}`: {e}", opts.data.display()))
    })?;
    let store = SledStore::open(opts.data.join("patterns.sled"))?;
    pages::register(
        App::builder()
            .store(store)
            .title("livetemplate patterns")
            .head(pages::STYLE),
    )
    .build()
}
