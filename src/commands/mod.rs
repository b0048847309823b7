//! The commands that read a store rather than serve one: `events`, `tail`, `forward`, `replay`.
//! They open an existing store (SQLite in `--data-dir`, or PostgreSQL with `--database-url`) next
//! to a running hookd and never create one.

pub mod config_check;
pub mod enrol;
pub mod events;
pub mod forward;
pub mod grants;
pub mod replay;
pub mod tail;
pub mod triggers;

use std::path::PathBuf;
use std::sync::Arc;

use crate::secret::Secret;

/// A `--to` URL: `http` or `https` with a host (anything else is refused before the command starts).
pub fn http_url(value: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    match (url.scheme(), url.host_str()) {
        ("http" | "https", Some(_)) => Ok(value.to_owned()),
        (scheme, _) => Err(format!(
            "an http:// or https:// URL with a host is needed, not {scheme}:"
        )),
    }
}
use crate::sources::Sources;
use crate::store::{Postgres, Sqlite, Store, WakeUps};

/// Which store to read.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// The folder of the SQLite store (what `hookd serve --data-dir` was given).
    #[arg(long, env = "HOOKD_DATA_DIR", default_value = "hookd-data")]
    pub data_dir: PathBuf,
    /// Read this PostgreSQL store instead of the SQLite one.
    #[arg(long, env = "HOOKD_DATABASE_URL", hide_env_values = true, value_parser = crate::config::parse_secret)]
    pub database_url: Option<Secret>,
}

impl StoreArgs {
    /// Opens the store; an error if there is none.
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match &self.database_url {
            Some(url) => Arc::new(Postgres::open(url.expose(), WakeUps::ListenNotify).await?),
            None => Arc::new(Sqlite::open_existing(&self.data_dir)?),
        })
    }
}

/// Where sources and their secrets come from (what re-signing needs).
#[derive(Debug, Clone, clap::Args)]
pub struct SourcesArgs {
    /// The sources file (default: ./hookd.toml if present).
    #[arg(long, env = "HOOKD_CONFIG")]
    pub config: Option<PathBuf>,
}

impl SourcesArgs {
    /// The sources as `hookd serve` would load them from here.
    pub fn load(&self) -> anyhow::Result<Sources> {
        let path = crate::config::sources_file(self.config.as_deref());
        Ok(Sources::load(path.as_deref(), |v| std::env::var(v).ok())?)
    }
}

/// A filter on source and type, for the commands that follow events.
#[derive(Debug, Clone, clap::Args)]
pub struct Selection {
    /// Only events from this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only events of this type.
    #[arg(long = "type")]
    pub event_type: Option<String>,
}

impl Selection {
    pub fn filter(&self) -> crate::event::EventFilter {
        crate::event::EventFilter::of(self.source.clone(), self.event_type.clone())
    }
}
