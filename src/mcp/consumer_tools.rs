//! Durable consumers and search: `next_events` / `ack_events` / `list_consumers` give an agent
//! each event once across restarts of itself and of hookd; `search_events` finds events by text.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Hookd, limit, storage, wait_seconds};
use crate::event::{Event, EventFilter, FieldMatch, Page};
use crate::store::{Consumer, SEARCH_SCAN, SearchHit, SearchQuery};
use crate::time::parse_time;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NextArgs {
    /// The consumer's name (letters, digits, `.`, `_`, `-`, `:`; at most 128). A new name starts
    /// before the oldest stored event.
    pub consumer: String,
    /// Only events of these sources. Use the same filters on every call of one consumer.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Only events of these types.
    #[serde(default)]
    pub types: Vec<String>,
    /// JSON field conditions, e.g. {"payload.action": "opened"}: all must hold.
    #[serde(rename = "where")]
    pub conditions: Option<Map<String, Value>>,
    /// At most this many events, 1 to 1000 (default 10).
    #[schemars(range(min = 1, max = 1000))]
    pub max: Option<u32>,
    /// Wait up to this many seconds (at most 300) for a first event when there is none (default 0).
    #[schemars(range(min = 0, max = 300))]
    pub wait_seconds: Option<f64>,
    /// `false` leaves each event's payload and headers out (they read as `null` and `{}`): a short
    /// list to choose from, then `get_event_by_id` for one whole. Default `true`.
    pub include_payload: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NextEvents {
    pub consumer: String,
    /// The consumer's committed cursor: every event up to it was acknowledged.
    pub cursor: i64,
    /// The events after the cursor that match, oldest first. The cursor has not moved.
    pub events: Vec<Event>,
    /// Pass this to ack_events once these events are handled: the last event's id, or, when
    /// none matched, the newest id checked (so non-matching events are not scanned again). A
    /// `where` examines at most 2,000 events per call: when it stops there, this is the last id
    /// it examined, and the next call goes on from it.
    pub ack_up_to: i64,
    /// The answer reached its size limit (`--max-answer-bytes`) before `max` events: acknowledge
    /// these and call again for the rest.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AckArgs {
    /// The consumer's name, as given to `next_events`.
    pub consumer: String,
    /// Every event up to and including this id is handled. A smaller id than the cursor is
    /// ignored.
    pub up_to_id: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Acked {
    pub consumer: String,
    /// The cursor before this call (0 for a new consumer).
    pub previous: i64,
    /// The committed cursor now.
    pub cursor: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConsumerList {
    pub consumers: Vec<Consumer>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// Words to find in the events' type, summary and payload; all must match. `word*` matches
    /// a prefix.
    pub query: String,
    /// Only events of this source (the `{source}` in `/webhook/{source}`).
    pub source: Option<String>,
    /// Only events of this type (e.g. `push`, `invoice.paid`).
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Only events received after this RFC 3339 time.
    pub since: Option<String>,
    /// At most this many hits, newest first, 1 to 1000 (default 20).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
    /// Only events with a smaller id: the page before one already read (pass its oldest id).
    pub before_id: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchHits {
    pub hits: Vec<SearchHit>,
    /// Set when a filtered search stopped before `limit` hits: it says how far it looked and how
    /// to look further back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A `where` argument as field conditions.
pub(super) fn conditions(
    conditions: Option<Map<String, Value>>,
) -> Result<Vec<FieldMatch>, String> {
    conditions.map_or(Ok(Vec::new()), |c| FieldMatch::parse_where(&c))
}

fn consumer_name(name: &str) -> Result<(), String> {
    let ok = (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "consumer {name:?} is not a valid name: use 1 to 128 letters, digits, `.`, `_`, `-` or `:`"
        ))
    }
}

#[tool_router(router = consumer_router, vis = "pub(super)")]
impl Hookd {
    #[tool(
        description = "The events after a durable consumer's committed cursor (optionally of some sources and types, matching `where`), waiting up to wait_seconds for a first one. Does not move the cursor: call ack_events with ack_up_to once they are handled. Each event is delivered until acknowledged, across restarts.",
        annotations(read_only_hint = true)
    )]
    async fn next_events(
        &self,
        Parameters(a): Parameters<NextArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<NextEvents>, String> {
        consumer_name(&a.consumer)?;
        let max = limit(a.max, 10)?;
        let timeout = wait_seconds(a.wait_seconds, 0.0, "wait_seconds")?;
        let cursor = self
            .store
            .consumer_cursor(a.consumer.clone())
            .await
            .map_err(storage)?
            .unwrap_or(0);
        let filter = EventFilter {
            sources: a.sources,
            types: a.types,
            after_id: Some(cursor),
            fields: conditions(a.conditions)?,
            ..Default::default()
        };
        // Everything up to `checked` is committed before the query reads.
        let mut checked = self.store.bus().newest();
        let mut read = self
            .store
            .query_within(filter.clone(), Page::Oldest(max), self.max_answer)
            .await
            .map_err(storage)?;
        if read.events.is_empty() && read.scan_stopped_at.is_none() && !timeout.is_zero() {
            let first = self.wait_for(filter.clone(), timeout, &ctx).await?;
            checked = self.store.bus().newest();
            if first.is_some() {
                read = self
                    .store
                    .query_within(filter, Page::Oldest(max), self.max_answer)
                    .await
                    .map_err(storage)?;
            }
        }
        // A `where` that stopped at its scan bound examined everything up to where it stopped.
        let ack_up_to = match read.scan_stopped_at {
            Some(stopped) => stopped,
            None => read.events.last().map_or(checked.max(cursor), |e| e.id),
        };
        super::brief_unless(a.include_payload, &mut read.events);
        Ok(Json(NextEvents {
            consumer: a.consumer,
            cursor,
            events: read.events,
            ack_up_to,
            truncated: read.truncated,
        }))
    }

    #[tool(
        description = "Commit a durable consumer's cursor: every event up to and including up_to_id is handled. Acknowledging backwards is ignored.",
        annotations(read_only_hint = false, idempotent_hint = true)
    )]
    async fn ack_events(&self, Parameters(a): Parameters<AckArgs>) -> Result<Json<Acked>, String> {
        consumer_name(&a.consumer)?;
        let newest = self.newest_reaching(a.up_to_id).await.map_err(storage)?;
        if a.up_to_id < 0 || a.up_to_id > newest {
            return Err(format!(
                "up_to_id {} is not an event id that exists yet (the newest is {newest})",
                a.up_to_id
            ));
        }
        let previous = self
            .store
            .consumer_cursor(a.consumer.clone())
            .await
            .map_err(storage)?
            .unwrap_or(0);
        let cursor = self
            .store
            .ack(a.consumer.clone(), a.up_to_id)
            .await
            .map_err(storage)?;
        Ok(Json(Acked {
            consumer: a.consumer,
            previous,
            cursor,
        }))
    }

    #[tool(
        description = "Every durable consumer with its committed cursor, its backlog (stored events after the cursor) and when it last acknowledged.",
        annotations(read_only_hint = true)
    )]
    async fn list_consumers(&self) -> Result<Json<ConsumerList>, String> {
        let consumers = self.store.consumers().await.map_err(storage)?;
        Ok(Json(ConsumerList { consumers }))
    }

    #[tool(
        description = "Full-text search over events' type, summary and payload, newest first, with a highlighted snippet naming the field each part comes from (`title: Add **Apple** **Pay**`, matches in **bold**). All words must match; `word*` matches a prefix.",
        annotations(read_only_hint = true)
    )]
    async fn search_events(
        &self,
        Parameters(a): Parameters<SearchArgs>,
    ) -> Result<Json<SearchHits>, String> {
        if a.query.trim().is_empty() {
            return Err("query must contain at least one word".into());
        }
        let received_after = match &a.since {
            Some(s) => Some(parse_time(s).map_err(|e| {
                format!(
                    "since {s:?} is not an RFC 3339 time ({e}); expected e.g. 2026-11-25T09:00:00Z"
                )
            })?),
            None => None,
        };
        let query = SearchQuery {
            text: a.query,
            filter: EventFilter {
                received_after,
                before_id: a.before_id,
                ..EventFilter::of(a.source, a.event_type)
            },
            limit: limit(a.limit, 20)?,
        };
        let mut found = self.store.search(query).await.map_err(storage)?;
        // Each snippet's lines named by the fields they come from, found in the stored payloads.
        let payloads =
            futures_util::future::join_all(found.hits.iter().map(|h| self.store.raw_payload(h.id)))
                .await;
        for (hit, raw) in found.hits.iter_mut().zip(payloads) {
            if let Ok(Some(raw)) = raw {
                hit.snippet = super::snippet::labelled(&hit.snippet, &raw);
            }
        }
        let note = found.scan_stopped_at.map(|id| {
            format!(
                "{} of the matches examined passed the filter; matches older than id {id} were \
                 not examined (a filtered search looks at about {SEARCH_SCAN} matches per call): \
                 call again with before_id={id} to look further back",
                found.hits.len()
            )
        });
        Ok(Json(SearchHits {
            hits: found.hits,
            note,
        }))
    }
}
