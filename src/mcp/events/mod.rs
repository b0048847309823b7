//! The MCP Events extension (SEP-3415, `modelcontextprotocol/experimental-ext-triggers-events`)
//! for hookd's events: `events/list`, `events/poll`, `events/stream` (push) and
//! `events/subscribe` / `events/unsubscribe` (webhook delivery).
//!
//! One event type per source, named after it, plus `any`. Subscription arguments narrow by
//! `type` and JSON fields (`where`). A cursor is an event id as a string: every delivery mode
//! resumes from it, because the store holds the history.

pub mod advertise;
mod poll;
pub mod stream;
pub mod webhooks;

use rmcp::ErrorData;
use rmcp::RoleServer;
use rmcp::model::{CustomRequest, CustomResult, ErrorCode};
use rmcp::service::RequestContext;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::EventsErrorCodes;
use crate::event::{Event, EventFilter, FieldMatch};

use super::Hookd;

/// The capability's name (`capabilities.events`, `experimental.events`); see [`advertise`].
pub const CAPABILITY: &str = "events";
/// The event type that matches every source.
pub const ANY: &str = "any";

pub const NOT_FOUND: i32 = -32011;
pub const FORBIDDEN: i32 = -32012;
pub const RESOURCE_EXHAUSTED: i32 = -32013;
pub const UNSUPPORTED: i32 = -32014;
pub const CALLBACK_ENDPOINT_ERROR: i32 = -32015;

/// An error of the extension as `codes` numbers it (the constants above are the deployed ones;
/// the SEP's are the same five, twelve lower).
pub fn numbered(mut e: ErrorData, codes: EventsErrorCodes) -> ErrorData {
    if codes == EventsErrorCodes::Sep && (CALLBACK_ENDPOINT_ERROR..=NOT_FOUND).contains(&e.code.0) {
        e.code = ErrorCode(e.code.0 - 12);
    }
    e
}

pub fn error(code: i32, message: impl Into<String>, data: Option<Value>) -> ErrorData {
    ErrorData::new(ErrorCode(code), message.into(), data)
}

/// A wait refused for want of a place (`--max-waits`, `--max-waits-per-credential`).
pub fn no_place(full: crate::waiters::Full) -> ErrorData {
    let limit = match full {
        crate::waiters::Full::All(_) => "waits",
        crate::waiters::Full::Credential(_) => "waitsPerCredential",
    };
    let data = serde_json::json!({"limit": limit, "max": full.max()});
    error(RESOURCE_EXHAUSTED, full.to_string(), Some(data))
}

pub fn invalid(message: impl Into<String>) -> ErrorData {
    ErrorData::invalid_params(message.into(), None)
}

pub(crate) use super::storage;

/// What poll, stream and subscribe requests share: the event type, its arguments, and where to
/// start (`cursor`, `maxAgeMs`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    pub name: String,
    pub arguments: Option<Value>,
    pub cursor: Option<Value>,
    pub max_age_ms: Option<u64>,
}

/// The most JSON a subscription's `arguments` may take (a few types and `where` conditions fit
/// many times over).
const MAX_ARGUMENTS: usize = 8 << 10;

/// Subscription arguments, the same for every event type.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arguments {
    /// One type or several.
    #[serde(rename = "type")]
    types: Option<OneOrMany>,
    #[serde(rename = "where")]
    conditions: Option<serde_json::Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// What one subscription selects: an event type (a source or `any`) narrowed by its arguments.
#[derive(Debug, Clone)]
pub struct Selector {
    pub name: String,
    pub filter: EventFilter,
}

impl Selector {
    /// Parses `name` and `arguments`; the name must be `any` or a source hookd knows.
    pub async fn parse(
        hookd: &Hookd,
        name: &str,
        arguments: Option<&Value>,
    ) -> Result<Self, ErrorData> {
        let known = names(hookd).await?;
        if !known.iter().any(|n| n == name) {
            return Err(error(
                NOT_FOUND,
                format!("no event type {name:?}; events/list names them"),
                Some(json!({"kind": "event"})),
            ));
        }
        // A webhook subscription keeps its arguments in the store: bounded like every name.
        let size = arguments.map_or(0, |v| v.to_string().len());
        if size > MAX_ARGUMENTS {
            return Err(invalid(format!(
                "arguments are {size} bytes as JSON; at most {MAX_ARGUMENTS}"
            )));
        }
        let args: Arguments = match arguments {
            None | Some(Value::Null) => Arguments::default(),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| invalid(format!("arguments do not match the inputSchema: {e}")))?,
        };
        let types = match args.types {
            None => Vec::new(),
            Some(OneOrMany::One(t)) => vec![t],
            Some(OneOrMany::Many(ts)) => ts,
        };
        let fields = match &args.conditions {
            Some(c) => FieldMatch::parse_where(c).map_err(invalid)?,
            None => Vec::new(),
        };
        let sources = if name == ANY {
            Vec::new()
        } else {
            vec![name.to_owned()]
        };
        Ok(Self {
            name: name.to_owned(),
            filter: EventFilter {
                sources,
                types,
                fields,
                ..Default::default()
            },
        })
    }

    /// The filter from `cursor` on.
    pub fn after(&self, cursor: i64) -> EventFilter {
        EventFilter {
            after_id: Some(cursor),
            ..self.filter.clone()
        }
    }
}

/// Parses a cursor: `null` means "from now" (`None`), otherwise an event id as a string.
pub fn parse_cursor(cursor: &Option<Value>) -> Result<Option<i64>, ErrorData> {
    match cursor {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| invalid(format!("cursor {s:?} is not one hookd issued"))),
        Some(other) => Err(invalid(format!(
            "cursor must be a string or null, got {other}"
        ))),
    }
}

/// An event as the extension's `EventOccurrence`.
pub fn occurrence(event: &Event, name: &str) -> Value {
    json!({
        "eventId": event_id(event),
        "name": name,
        "timestamp": event.received_at,
        "data": event,
        "cursor": event.id.to_string(),
    })
}

/// The provider's own delivery id where there is one (so the same upstream event has the same
/// id on every path), else hookd's id.
pub fn event_id(event: &Event) -> String {
    match &event.delivery_id {
        Some(d) => format!("{}:{d}", event.source),
        None => format!("hookd:{}", event.id),
    }
}

/// Every event type: `any` and each source that is configured or has sent events.
async fn names(hookd: &Hookd) -> Result<Vec<String>, ErrorData> {
    let mut names: Vec<String> = hookd.sources.iter().map(|s| s.name.clone()).collect();
    names.extend(
        hookd
            .store
            .sources()
            .await
            .map_err(storage)?
            .into_iter()
            .map(|s| s.source),
    );
    names.sort();
    names.dedup();
    names.insert(0, ANY.to_owned());
    Ok(names)
}

async fn list(hookd: &Hookd) -> Result<Value, ErrorData> {
    let payload = serde_json::to_value(schemars::schema_for!(Event))
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    let input = json!({
        "type": "object",
        "properties": {
            "type": {
                "description": "Only events of this type, or of one of these types (e.g. push, invoice.paid)",
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            },
            "where": {
                "type": "object",
                "description": "JSON field conditions, all of which must hold: keys `payload.` + a dotted path, values strings, numbers, booleans or null",
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]}
            }
        },
        "additionalProperties": false
    });
    let events: Vec<Value> = names(hookd)
        .await?
        .into_iter()
        .map(|name| {
            let description = if name == ANY {
                "Every webhook event hookd stores, from any source".to_owned()
            } else {
                format!(
                    "Every webhook event hookd stores from source {name} (POST /webhook/{name})"
                )
            };
            json!({
                "name": name,
                "description": description,
                "delivery": ["poll", "push", "webhook"],
                "inputSchema": input,
                "payloadSchema": payload,
            })
        })
        .collect();
    Ok(json!({ "events": events }))
}

/// The extension's methods, every one [`handle`] answers (the era test walks this list).
pub const METHODS: &[&str] = &[
    "events/list",
    "events/poll",
    "events/stream",
    "events/subscribe",
    "events/unsubscribe",
];

/// Answers the extension's requests; anything else is "method not found". A 2026-07-28 answer
/// says `resultType: "complete"`, as that era requires of every result (rmcp adds it to the
/// results it builds, not to custom ones; clients such as the AI SDK refuse a result without it).
pub async fn handle(
    hookd: &Hookd,
    request: CustomRequest,
    context: RequestContext<RoleServer>,
) -> Result<CustomResult, ErrorData> {
    let modern = super::era::is_modern(&context);
    let method = request.method.clone();
    let answered = answer(hookd, request, context.clone());
    let mut result = super::trace::traced(&context, &method, "", answered)
        .await
        .map_err(|e| numbered(e, hookd.events_error_codes))?;
    if modern && let Value::Object(fields) = &mut result {
        fields
            .entry("resultType")
            .or_insert_with(|| Value::from("complete"));
    }
    Ok(CustomResult::new(result))
}

async fn answer(
    hookd: &Hookd,
    request: CustomRequest,
    context: RequestContext<RoleServer>,
) -> Result<Value, ErrorData> {
    let params = request.params.clone().unwrap_or(Value::Null);
    let result = match request.method.as_str() {
        "events/list" => list(hookd).await,
        "events/poll" => poll::poll(hookd, params, &context.ct).await,
        "events/stream" => stream::stream(hookd, params, context).await,
        "events/subscribe" => hookd.webhooks.subscribe(hookd, params).await,
        "events/unsubscribe" => hookd.webhooks.unsubscribe(hookd, params).await,
        other => Err(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("method not found: {other}"),
            None,
        )),
    }?;
    Ok(result)
}

/// The largest `maxAgeMs` taken: a century, older than any store (larger is invalid params).
pub const MAX_AGE_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// The oldest receive time `maxAgeMs` lets through, counted with checked arithmetic: a client's
/// number never overflows a date.
fn age_floor(max_age_ms: u64) -> Result<chrono::DateTime<chrono::Utc>, ErrorData> {
    let out_of_range = || {
        invalid(format!(
            "maxAgeMs must be between 0 and {MAX_AGE_MS} (a century), got {max_age_ms}"
        ))
    };
    if max_age_ms > MAX_AGE_MS {
        return Err(out_of_range());
    }
    chrono::TimeDelta::try_milliseconds(max_age_ms as i64)
        .and_then(|age| chrono::Utc::now().checked_sub_signed(age))
        .ok_or_else(out_of_range)
}

/// Where delivery starts for a client `cursor` (`None`: now) and whether events were skipped
/// on the way: older than `max_age_ms`, or removed by retention since the cursor was issued.
pub async fn start(
    hookd: &Hookd,
    selector: &Selector,
    cursor: Option<i64>,
    max_age_ms: Option<u64>,
) -> Result<(i64, bool), ErrorData> {
    let floor = max_age_ms.map(age_floor).transpose()?;
    let store = &hookd.store;
    let Some(cursor) = cursor else {
        return Ok((store.bus().newest(), false));
    };
    // A cursor hookd issued is never beyond what is stored; one beyond is brought back to it.
    let newest = hookd.newest_reaching(cursor).await.map_err(storage)?;
    let cursor = cursor.min(newest);
    let oldest = store
        .query(EventFilter::default(), crate::event::Page::Oldest(1))
        .await
        .map_err(storage)?;
    let mut truncated = oldest.first().is_some_and(|e| e.id > cursor + 1);
    let Some(floor) = floor else {
        return Ok((cursor, truncated));
    };
    let first = store
        .query(selector.after(cursor), crate::event::Page::Oldest(1))
        .await
        .map_err(storage)?;
    let stale = first.first().is_some_and(|e| e.received_at <= floor);
    if !stale {
        return Ok((cursor, truncated));
    }
    truncated = true;
    let fresh = EventFilter {
        received_after: Some(floor),
        ..selector.after(cursor)
    };
    let first_fresh = store
        .query(fresh, crate::event::Page::Oldest(1))
        .await
        .map_err(storage)?;
    Ok((first_fresh.first().map_or(newest, |e| e.id - 1), truncated))
}
