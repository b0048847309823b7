//! `hookd enrol SOURCE`: opens a window in which a source whose provider gives its secret in a
//! handshake (Asana's `X-Hook-Secret`) may enrol. The first handshake in the window is answered
//! and its secret kept in the store (every instance then verifies with it); the window closes
//! then, or when it lapses. Outside a window such a handshake is refused, so nobody can plant a
//! secret of their own.

use std::time::Duration;

use anyhow::bail;

use super::{SourcesArgs, StoreArgs};

#[derive(Debug, clap::Args)]
pub struct EnrolArgs {
    /// The source (a `[sources.NAME]` of a provider that learns its secret, such as asana).
    pub source: String,
    /// How long the window stays open, e.g. 10m, 90s, 1h (at most 1h).
    #[arg(long = "for", default_value = "10m", value_parser = parse_window)]
    pub window: Duration,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub sources: SourcesArgs,
}

fn parse_window(s: &str) -> Result<Duration, String> {
    let d = crate::time::parse_duration(s)?;
    if d.is_zero() || d > Duration::from_secs(3600) {
        return Err(format!(
            "{s:?}: the window must be more than 0 and at most 1h"
        ));
    }
    Ok(d)
}

pub async fn run(a: EnrolArgs) -> anyhow::Result<()> {
    let sources = a.sources.load()?;
    let Some(source) = sources.get(&a.source) else {
        bail!(
            "no source {:?} in hookd.toml: add [sources.{}] with provider = \"asana\" first",
            a.source,
            a.source
        );
    };
    if source.provider.enrols().is_none() {
        bail!(
            "source {:?} is a {} source, which is given its secret in hookd.toml; only a \
             provider that sends its secret in a handshake (asana) enrols",
            a.source,
            source.provider.name()
        );
    }
    let store = a.store.open().await?;
    let until = chrono::Utc::now() + a.window;
    store.open_enrolment(a.source.clone(), until).await?;
    eprintln!(
        "hookd enrol: source {:?} may enrol until {} ({} s): create the webhook now, with target \
         .../webhook/{}. Its first handshake is answered and closes the window.",
        a.source,
        crate::time::format_time(until),
        a.window.as_secs(),
        a.source
    );
    Ok(())
}
