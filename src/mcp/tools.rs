//! The MCP tools. Each one parses its arguments, calls the store (or `wait`), and returns
//! structured output; a bad argument or an unknown id is a tool error the model can read and
//! correct, a storage failure is a tool error too (the protocol itself is fine).

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tasks::watch::{EventWait, Held, WaitResult};
use super::{Hookd, limit, storage};
use crate::event::{Event, EventFilter, Page};
use crate::store::{SourceStats, WHERE_SCAN};
use crate::time::parse_time;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RecentArgs {
    /// How many events, 1 to 1000 (default 10). The newest are returned, oldest first.
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
    /// Only events of this source (the `{source}` in `/webhook/{source}`).
    pub source: Option<String>,
    /// Only events of this type (e.g. `push`, `invoice.paid`).
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// JSON field conditions, e.g. {"payload.action": "opened"}: all must hold. Keys are
    /// `payload.` followed by a dotted path (numbers index arrays); values are strings, numbers,
    /// booleans or null.
    #[serde(rename = "where")]
    pub conditions: Option<serde_json::Map<String, serde_json::Value>>,
    /// `false` leaves each event's payload and headers out (they read as `null` and `{}`): a short
    /// list to choose from, then `get_event_by_id` for one whole. Default `true`.
    pub include_payload: Option<bool>,
    /// Only events with a smaller id: the page before one already read (pass its oldest id).
    pub before_id: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ByIdArgs {
    /// The event's id.
    pub event_id: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SinceArgs {
    /// RFC 3339 time, e.g. `2026-11-25T09:00:00Z`; events received after it are returned.
    pub timestamp: String,
    /// Only events of this source (the `{source}` in `/webhook/{source}`).
    pub source: Option<String>,
    /// At most this many events, oldest first, 1 to 1000 (default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
    /// `false` leaves each event's payload and headers out (they read as `null` and `{}`): a short
    /// list to choose from, then `get_event_by_id` for one whole. Default `true`.
    pub include_payload: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct WaitArgs {
    /// Only events of this source (the `{source}` in `/webhook/{source}`).
    pub source: Option<String>,
    /// Only events of this type (e.g. `push`, `invoice.paid`).
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Return the first matching event with an id greater than this. Default: the newest id when
    /// the call starts. Pass the last id you saw to miss nothing between calls.
    pub after_id: Option<i64>,
    /// How long to wait, in seconds: default 30 and at most 300 for a plain call; as a task
    /// (clients that declare the Tasks extension), default 3600 and at most 86400.
    #[schemars(range(min = 0, max = 86400))]
    pub timeout_seconds: Option<f64>,
}

impl Hookd {
    /// `wait_for_event`'s arguments as a wait, held by a request or by a task.
    pub(in crate::mcp) fn event_wait(&self, a: WaitArgs, held: Held) -> Result<EventWait, String> {
        Ok(EventWait {
            deadline: held.deadline(a.timeout_seconds)?,
            after_id: a.after_id.unwrap_or_else(|| self.store.bus().newest()),
            source: super::short("source", a.source)?,
            event_type: super::short("type", a.event_type)?,
        })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SubscribeArgs {
    /// The sources to follow; empty means all.
    #[serde(default)]
    pub sources: Vec<String>,
    /// What you intend to do with the events (kept in the reply for your own reference).
    #[serde(default)]
    pub callback_description: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RejectedArgs {
    /// Only deliveries to this source.
    pub source: Option<String>,
    /// How many, newest first, 1 to 1000 (default 20).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RejectedList {
    pub rejected: Vec<crate::event::Rejected>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EventList {
    pub events: Vec<Event>,
    /// The answer reached its size limit (`--max-answer-bytes`) before `limit` events: `note`
    /// says how to read the rest.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl EventList {
    /// A list answer; when cut short, `read_on` says how to get the rest.
    pub fn new(bounded: crate::store::Bounded, read_on: impl FnOnce(&[Event]) -> String) -> Self {
        let note = bounded.truncated.then(|| {
            format!(
                "answer cut at its size limit after {} events; {}",
                bounded.events.len(),
                read_on(&bounded.events)
            )
        });
        Self {
            truncated: bounded.truncated,
            events: bounded.events,
            note,
        }
    }
}

/// One event with the rows hookd derived from it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WholeEvent {
    #[serde(flatten)]
    pub event: Event,
    /// What hookd derived from it, when anything: `actions`, `pushes`, `deployments` and
    /// `github_activity`, each a list of rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub derived: Option<crate::store::DerivedRows>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SourceList {
    pub sources: Vec<SourceStats>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Subscription {
    /// The newest event id now: wait for events after it.
    pub cursor: i64,
    pub sources: Vec<String>,
    pub callback_description: String,
    pub instruction: String,
}

// Return types are spelled `Result<Json<T>, String>` because the macro reads them to generate
// each tool's output schema; an `Err` is a tool error (`isError: true`) the model can act on.
#[tool_router(vis = "pub(super)")]
impl Hookd {
    #[tool(
        description = "The most recent webhook events, oldest first, optionally of one source and type and matching JSON field conditions (`where`).",
        annotations(read_only_hint = true)
    )]
    async fn get_recent_events(
        &self,
        Parameters(a): Parameters<RecentArgs>,
    ) -> Result<Json<EventList>, String> {
        let filter = EventFilter {
            fields: super::consumer_tools::conditions(a.conditions)?,
            before_id: a.before_id,
            ..EventFilter::of(a.source, a.event_type)
        };
        let page = Page::Newest(limit(a.limit, 10)?);
        let mut events = self
            .store
            .query_within(filter, page, self.max_answer)
            .await
            .map_err(storage)?;
        super::brief_unless(a.include_payload, &mut events.events);
        let stopped = events.scan_stopped_at;
        let mut list = EventList::new(events, |kept| {
            let oldest = kept.first().map_or(0, |e| e.id);
            format!("older ones: call again with before_id={oldest}")
        });
        if let Some(id) = stopped {
            list.note = Some(format!(
                "`where` examined {WHERE_SCAN} events, newest first, down to id {id}, and {} \
                 matched; older events were not examined: call again with before_id={id} to look \
                 further back",
                list.events.len()
            ));
        }
        Ok(Json(list))
    }

    #[tool(
        description = "One event by its id, whole: payload, headers and what hookd derived from it (a Stripe action, pushed commits, a deployment, GitHub activity).",
        annotations(read_only_hint = true)
    )]
    async fn get_event_by_id(
        &self,
        Parameters(a): Parameters<ByIdArgs>,
    ) -> Result<Json<WholeEvent>, String> {
        let read = crate::store::whole_event(self.store.as_ref(), a.event_id).await;
        match read.map_err(storage)? {
            Some((event, derived)) => Ok(Json(WholeEvent {
                event,
                derived: (!derived.is_empty()).then_some(derived),
            })),
            None => Err(format!(
                "no event with id {} (it never existed or retention removed it)",
                a.event_id
            )),
        }
    }

    #[tool(
        description = "Events received after an RFC 3339 time (e.g. 2026-11-25T09:00:00Z), oldest first.",
        annotations(read_only_hint = true)
    )]
    async fn get_events_since(
        &self,
        Parameters(a): Parameters<SinceArgs>,
    ) -> Result<Json<EventList>, String> {
        let since = parse_time(&a.timestamp).map_err(|e| {
            format!(
                "timestamp {:?} is not an RFC 3339 time ({e}); expected e.g. 2026-11-25T09:00:00Z",
                a.timestamp
            )
        })?;
        let filter = EventFilter {
            received_after: Some(since),
            ..EventFilter::of(a.source, None)
        };
        let page = Page::Oldest(limit(a.limit, 100)?);
        let mut events = self
            .store
            .query_within(filter, page, self.max_answer)
            .await
            .map_err(storage)?;
        super::brief_unless(a.include_payload, &mut events.events);
        Ok(Json(EventList::new(events, |kept| {
            let last = kept
                .last()
                .map(|e| crate::time::format_time(e.received_at))
                .unwrap_or_default();
            format!("call again with timestamp {last:?} to read on")
        })))
    }

    #[tool(
        description = "Every source that has sent events, with its event count and last receive time.",
        annotations(read_only_hint = true)
    )]
    async fn get_event_sources(&self) -> Result<Json<SourceList>, String> {
        let sources = self.store.sources().await.map_err(storage)?;
        Ok(Json(SourceList { sources }))
    }

    #[tool(
        description = "Wait until a matching event arrives and return it; returns {timed_out: true} (no event) after timeout_seconds. Pass after_id = the last id you saw to miss nothing. A client that declares the Tasks extension gets a task to poll instead of a held request, and may wait up to a day.",
        annotations(read_only_hint = true)
    )]
    async fn wait_for_event(
        &self,
        Parameters(a): Parameters<WaitArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<WaitResult>, String> {
        let wait = self.event_wait(a, Held::ByRequest)?;
        let _place = self.wait_place().map_err(|full| full.to_string())?;
        let stop = ctx.ct.child_token();
        let result = tokio::select! {
            r = wait.run(self.store.clone(), &stop) => r.map_err(storage)?,
            _ = self.shutdown.cancelled() => None,
        };
        // Cancelled by the client or by hookd stopping: nothing arrived.
        Ok(Json(result.unwrap_or(WaitResult {
            event: None,
            timed_out: true,
        })))
    }

    #[tool(
        description = "Webhook deliveries refused by signature verification, newest first, with the reason (missing_header, malformed_header, bad_signature, stale_timestamp), the headers that were present and the body's size and SHA-256. Use it to debug a provider's setup.",
        annotations(read_only_hint = true)
    )]
    async fn get_rejected_deliveries(
        &self,
        Parameters(a): Parameters<RejectedArgs>,
    ) -> Result<Json<RejectedList>, String> {
        let limit = limit(a.limit, 20)?;
        let rejected = self
            .store
            .rejections(a.source, limit)
            .await
            .map_err(storage)?;
        Ok(Json(RejectedList { rejected }))
    }

    #[tool(
        description = "Start following events: returns a cursor and how to receive each new event with wait_for_event.",
        annotations(read_only_hint = true)
    )]
    async fn subscribe_to_events(
        &self,
        Parameters(a): Parameters<SubscribeArgs>,
    ) -> Result<Json<Subscription>, String> {
        let cursor = self.store.bus().newest();
        let which = match a.sources.as_slice() {
            [] => "any source".to_owned(),
            [one] => format!("source={one:?}"),
            _ => "each of these sources (one call per source, or omit source)".to_owned(),
        };
        let instruction = format!(
            "Call wait_for_event with after_id={cursor} for {which}. Each time it returns an \
             event, handle it, then call wait_for_event again with after_id set to that event's \
             id. On timed_out=true, call again with the same after_id. No event is missed."
        );
        Ok(Json(Subscription {
            cursor,
            sources: a.sources,
            callback_description: a.callback_description,
            instruction,
        }))
    }
}
