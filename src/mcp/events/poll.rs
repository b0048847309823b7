//! `events/poll`: one request, one answer; the client keeps the cursor.

use rmcp::ErrorData;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Selector, Start, invalid, occurrence, parse_cursor, start, storage};
use crate::event::Page;
use crate::mcp::Hookd;

/// How long a client should wait before polling again when nothing more is waiting.
const NEXT_POLL_MS: u64 = 2000;
const DEFAULT_MAX_EVENTS: usize = 100;
const MAX_EVENTS: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    #[serde(flatten)]
    start: Start,
    max_events: Option<usize>,
}

pub async fn poll(hookd: &Hookd, params: Value) -> Result<Value, ErrorData> {
    let p: Params =
        serde_json::from_value(params).map_err(|e| invalid(format!("events/poll params: {e}")))?;
    let max = p.max_events.unwrap_or(DEFAULT_MAX_EVENTS);
    if !(1..=MAX_EVENTS).contains(&max) {
        return Err(invalid(format!(
            "maxEvents must be 1 to {MAX_EVENTS}, got {max}"
        )));
    }
    let s = &p.start;
    let selector = Selector::parse(hookd, &s.name, s.arguments.as_ref()).await?;
    let requested = parse_cursor(&s.cursor)?;
    let (from, truncated) = start(hookd, &selector, requested, s.max_age_ms).await?;
    // Read before the query: every event up to `checked` is visible to it.
    let checked = hookd.store.bus().newest().max(from);
    let read = if requested.is_none() {
        // A first poll starts from now: nothing to return yet.
        Default::default()
    } else {
        hookd
            .store
            .query_within(
                selector.after(from),
                Page::Oldest(max + 1),
                hookd.max_answer,
            )
            .await
            .map_err(storage)?
    };
    let events = read.events;
    // Cut at the size limit: the client reads on from the cursor at once, as for a full page.
    let has_more = events.len() > max || read.truncated;
    let events = &events[..events.len().min(max)];
    // Everything up to `checked` that matched is in `events` unless the batch was cut short.
    let cursor = match events.last() {
        Some(last) if has_more => last.id,
        Some(last) => last.id.max(checked),
        None => checked,
    };
    let occurrences: Vec<Value> = events
        .iter()
        .map(|e| occurrence(e, &selector.name))
        .collect();
    Ok(json!({
        "events": occurrences,
        "cursor": cursor.to_string(),
        "truncated": truncated,
        "hasMore": has_more,
        "nextPollMs": if has_more { 0 } else { NEXT_POLL_MS },
    }))
}
