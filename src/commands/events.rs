//! `hookd events`: print stored events, or refused deliveries, newest last: one readable line
//! each (as `hookd tail` prints them), or one JSON object per line with `--json`.

use std::io::Write;

use super::StoreArgs;
use super::tail::{closed, line};
use crate::dashboard::api::Row;
use crate::event::Rejected;
use crate::printable::printable;

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// `recent` (default) or `rejected`.
    #[arg(default_value = "recent", value_parser = ["recent", "rejected"])]
    pub what: String,
    /// Only events (or refusals) of this source.
    #[arg(long)]
    pub source: Option<String>,
    /// How many (default 20).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// One JSON object per line (the whole event, payload included) instead of a readable line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn run(a: EventsArgs) -> anyhow::Result<()> {
    let store = a.store.open().await?;
    let mut more = None;
    let lines: Vec<String> = if a.what == "rejected" {
        let mut r = store.rejections(a.source.clone(), a.limit as usize).await?;
        r.reverse();
        r.iter()
            .map(|r| text(a.json, r, refusal))
            .collect::<Result<_, _>>()?
    } else {
        let filter = crate::event::EventFilter::of(a.source.clone(), None);
        let e = store
            .query(filter.clone(), crate::event::Page::Newest(a.limit as usize))
            .await?;
        if e.len() == a.limit as usize {
            let total = store.count(filter).await?;
            more = (total > e.len() as i64).then_some(total);
        }
        e.iter()
            .map(|e| text(a.json, e, |e| line(&Row::from(e))))
            .collect::<Result<_, _>>()?
    };
    if lines.is_empty() && !a.json {
        match a.what.as_str() {
            "rejected" => eprintln!("hookd events: no refused deliveries"),
            _ => eprintln!("hookd events: no events stored"),
        }
    }
    let shown = lines.len();
    let mut out = anstream::stdout();
    for l in lines {
        if closed(writeln!(out, "{l}"))? {
            return Ok(());
        }
    }
    if let Some(total) = more {
        // On stderr, so that what is piped stays the events alone.
        let narrow = if a.source.is_some() {
            ""
        } else {
            ", --source NAME narrows"
        };
        eprintln!(
            "hookd events: the newest {shown} of {total}; --limit N shows more (up to 1000){narrow}, \
             hookd tail follows new ones"
        );
    }
    Ok(())
}

fn text<T: serde::Serialize>(
    json: bool,
    item: &T,
    readable: fn(&T) -> String,
) -> serde_json::Result<String> {
    if json {
        serde_json::to_string(item)
    } else {
        Ok(readable(item))
    }
}

/// A refused delivery in one line: when, which source, why.
fn refusal(r: &Rejected) -> String {
    format!(
        "{} {} {}: {} ({} bytes)",
        r.received_at.format("%Y-%m-%d %H:%M:%S"),
        printable(&r.source),
        r.reason,
        printable(&r.detail),
        r.body_size
    )
}
