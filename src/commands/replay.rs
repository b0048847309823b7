//! `hookd replay EVENT_ID`: send one stored event again, re-signed for its provider, to hookd
//! itself (where it is a duplicate unless `--new-delivery-id`) or to `--to URL`.

use anyhow::{Context, bail};

use super::{SourcesArgs, StoreArgs};
use crate::resend;

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The id of the stored event to send again.
    pub event_id: i64,
    /// Where to POST it (http or https). Default: this hookd's own `/webhook/{source}`.
    #[arg(long, value_parser = super::http_url)]
    pub to: Option<String>,
    /// Send it under a new delivery id, so that hookd stores it again instead of answering that it
    /// is a duplicate.
    #[arg(long)]
    pub new_delivery_id: bool,
    /// The webhook address the default URL points at.
    #[arg(long, env = "HOOKD_WEBHOOK_ADDR", default_value = "127.0.0.1:8080")]
    pub webhook_addr: std::net::SocketAddr,
    #[command(flatten)]
    pub sources: SourcesArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn run(a: ReplayArgs) -> anyhow::Result<()> {
    let sources = a.sources.load()?;
    let store = a.store.open().await?;
    let id = a.event_id;
    let (Some(event), Some(raw)) = (store.get(id).await?, store.raw_payload(id).await?) else {
        bail!("no event {id} in the store");
    };
    let source = sources.get(&event.source);
    let fresh = a
        .new_delivery_id
        .then(|| format!("hookd-replay-{}", uuid_ish()));
    let url =
        a.to.unwrap_or_else(|| format!("http://{}/webhook/{}", a.webhook_addr, event.source));
    let now = chrono::Utc::now().timestamp();
    let out = resend::request(&event, &raw, source, fresh.as_deref(), now, &url)?;
    if !out.signed
        && let Some(why) = crate::sources::unsigned_here(&sources, &event.source)
    {
        eprintln!("hookd replay: warning: {why}");
    }
    let client = crate::outbound::client_builder()
        .build()
        .context("cannot build an HTTP client")?;
    let answer = resend::post(&client, &url, &out)
        .await
        .with_context(|| format!("cannot POST to {url}"))?;
    println!(
        "{} in {} ms: {}",
        answer.status,
        answer.elapsed.as_millis(),
        answer.excerpt
    );
    if !(200..300).contains(&answer.status) {
        bail!("{url} did not accept event {id} ({})", answer.status);
    }
    Ok(())
}

/// A practically unique id: the time in nanoseconds and 32 random bits.
pub fn uuid_ish() -> String {
    let mut r = [0u8; 4];
    let _ = getrandom::fill(&mut r);
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{nanos:x}-{}", hex::encode(r))
}
