//! `events/poll`: one request, one answer; the client keeps the cursor. With `timeoutMs` it is a
//! long poll: the answer waits until a matching event commits (woken by the bus, like
//! `wait_for_event`) or the time is up (then `events: []`).

use std::time::Duration;

use rmcp::ErrorData;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Selector, Start, invalid, occurrence, parse_cursor, start, storage};
use crate::event::Page;
use crate::mcp::Hookd;

/// How long a client should wait before polling again when nothing more is waiting.
const NEXT_POLL_MS: u64 = 2000;
const DEFAULT_MAX_EVENTS: usize = 100;
const MAX_EVENTS: usize = 1000;
/// The longest a poll may be held (`timeoutMs`), as `wait_for_event`'s longest wait. Without
/// `timeoutMs` a poll answers at once.
pub const MAX_TIMEOUT_MS: u64 = crate::wait::MAX_WAIT.as_millis() as u64;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    #[serde(flatten)]
    start: Start,
    max_events: Option<usize>,
    timeout_ms: Option<u64>,
}

pub async fn poll(
    hookd: &Hookd,
    params: Value,
    ct: &CancellationToken,
) -> Result<Value, ErrorData> {
    let p: Params =
        serde_json::from_value(params).map_err(|e| invalid(format!("events/poll params: {e}")))?;
    let max = p.max_events.unwrap_or(DEFAULT_MAX_EVENTS);
    if !(1..=MAX_EVENTS).contains(&max) {
        return Err(invalid(format!(
            "maxEvents must be 1 to {MAX_EVENTS}, got {max}"
        )));
    }
    let timeout = p.timeout_ms.unwrap_or(0);
    if timeout > MAX_TIMEOUT_MS {
        return Err(invalid(format!(
            "timeoutMs must be 0 to {MAX_TIMEOUT_MS}, got {timeout}"
        )));
    }
    let s = &p.start;
    let selector = Selector::parse(hookd, &s.name, s.arguments.as_ref()).await?;
    let requested = parse_cursor(&s.cursor)?;
    let (from, truncated) = start(hookd, &selector, requested, s.max_age_ms).await?;
    let read_page = async || {
        // Taken before the query: every event up to `checked` is visible to it.
        let checked = hookd.store.bus().newest().max(from);
        let page = Page::Oldest(max + 1);
        let read = hookd
            .store
            .query_within(selector.after(from), page, hookd.max_answer)
            .await
            .map_err(storage)?;
        Ok::<_, ErrorData>((checked, read))
    };
    let (checked, read) = match requested {
        // A first poll starts from now: nothing to return, nothing to wait for.
        None => (hookd.store.bus().newest().max(from), Default::default()),
        Some(_) => {
            let mut page = read_page().await?;
            if page.1.events.is_empty() && timeout > 0 {
                // A long poll: wait as `wait_for_event` does, then read the page.
                let _place = hookd.wait_place().map_err(super::no_place)?;
                let wait = crate::wait::next_event(
                    hookd.store.clone(),
                    selector.after(from),
                    Duration::from_millis(timeout),
                    &hookd.shutdown,
                );
                tokio::select! {
                    waited = wait => { waited.map_err(storage)?; }
                    _ = ct.cancelled() => {}
                }
                page = read_page().await?;
            }
            page
        }
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
