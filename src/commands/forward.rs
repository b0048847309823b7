//! `hookd forward --to URL`: deliver each new event to a local URL (the app being written),
//! re-signed for its provider, printing each answer. Its position is a durable consumer cursor
//! in the store, moved after each answer, so after a restart it resumes where it stood: nothing is
//! skipped, and nothing is sent twice except the one event whose answer came in the instant before
//! a kill (at least once, like every webhook sender).

use std::time::Duration;

use std::io::Write;

use anyhow::Context;

use super::{Selection, SourcesArgs, StoreArgs};
use crate::event::Event;
use crate::resend;
use crate::sources::Sources;
use crate::wait::Follow;

#[derive(Debug, clap::Args)]
pub struct ForwardArgs {
    /// Where to POST each event, e.g. http://localhost:3000/api/webhooks (http or https).
    #[arg(long, value_parser = super::http_url)]
    pub to: String,
    #[command(flatten)]
    pub selection: Selection,
    /// The name of its cursor in the store (`hookd-forward` by default; one per forwarder).
    #[arg(long, default_value = "hookd-forward")]
    pub name: String,
    /// How many times one event is tried when the URL cannot be reached or answers 5xx, with
    /// backoff (1 s doubling to 30 s), before it is given up and the next one is sent.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub attempts: u32,
    #[command(flatten)]
    pub sources: SourcesArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn run(a: ForwardArgs) -> anyhow::Result<()> {
    let sources = a.sources.load()?;
    let store = a.store.open().await?;
    let cursor = match store.consumer_cursor(a.name.clone()).await? {
        Some(c) => c,
        // The first run starts at what is new from now on, and says so durably at once.
        None => store.ack(a.name.clone(), store.bus().newest()).await?,
    };
    eprintln!(
        "hookd forward: events after #{cursor} to {} (cursor {:?})",
        a.to, a.name
    );
    let client = crate::outbound::client_builder()
        .build()
        .context("cannot build an HTTP client")?;
    let mut follow = Follow::new(store.clone(), a.selection.filter(), cursor);
    // Said once per source, at its first event: why its deliveries go unsigned.
    let mut warned = std::collections::HashSet::new();
    loop {
        for e in follow.next_batch().await? {
            if warned.insert(e.source.clone())
                && let Some(why) = crate::sources::unsigned_here(&sources, &e.source)
            {
                eprintln!("hookd forward: warning: {why}");
            }
            let outcome = tokio::select! {
                outcome = deliver(&client, &a, &sources, &store, &e) => outcome,
                _ = tokio::signal::ctrl_c() => return Ok(()),
            };
            store.ack(a.name.clone(), e.id).await?;
            follow.handled(e.id);
            let printed = match outcome {
                Ok(line) => writeln!(std::io::stdout(), "{line}"),
                Err(line) => writeln!(std::io::stderr(), "{line}"),
            };
            if super::tail::closed(printed)? {
                return Ok(());
            }
        }
        tokio::select! {
            _ = follow.changed() => {}
            _ = tokio::time::sleep(super::tail::RECHECK) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Sends one event until it is answered (any status below 500) or its attempts run out. The line
/// to print: `Ok` for an answer, `Err` when it was given up.
async fn deliver(
    client: &reqwest::Client,
    a: &ForwardArgs,
    sources: &Sources,
    store: &std::sync::Arc<dyn crate::store::Store>,
    e: &Event,
) -> Result<String, String> {
    let raw = match store.raw_payload(e.id).await {
        Ok(Some(raw)) => raw,
        Ok(None) => return Err(format!("#{} was pruned before it was sent", e.id)),
        Err(err) => return Err(format!("#{} not forwarded: {err}", e.id)),
    };
    let mut wait = Duration::from_secs(1);
    for attempt in 1..=a.attempts {
        let now = chrono::Utc::now().timestamp();
        let out = match resend::request(e, &raw, sources.get(&e.source), None, now, &a.to) {
            Ok(out) => out,
            Err(err) => return Err(format!("#{} not forwarded: {err}", e.id)),
        };
        let what = format!("#{} {} {}", e.id, e.source, e.event_type);
        match resend::post(client, &a.to, &out).await {
            Ok(answer) if answer.status < 500 => {
                let ms = answer.elapsed.as_millis();
                return Ok(format!("{what} -> {} in {ms} ms", answer.status));
            }
            Ok(answer) => eprintln!("{what} -> {} (attempt {attempt})", answer.status),
            Err(err) => eprintln!("{what} -> {} (attempt {attempt})", error_text(&err)),
        }
        if attempt < a.attempts {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }
    Err(format!("#{} given up after {} attempts", e.id, a.attempts))
}

/// What went wrong with a request, in a few words.
fn error_text(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "cannot connect".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else {
        e.to_string()
    }
}
