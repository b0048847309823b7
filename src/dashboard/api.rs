//! The dashboard's JSON: lists of events (without payloads), one event whole, sources, refused
//! deliveries, consumers, and replay.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Dashboard;
use crate::event::{Event, EventFilter, Page};
use crate::store::{DerivedRows, SearchQuery};

/// One line of the list (and of `hookd tail --url`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Row {
    pub id: i64,
    #[serde(with = "crate::time::text")]
    pub received_at: DateTime<Utc>,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub subject: Option<String>,
    pub summary: Option<String>,
    pub verified: Option<bool>,
}

impl From<&Event> for Row {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id,
            received_at: e.received_at,
            source: e.source.clone(),
            event_type: e.event_type.clone(),
            subject: e.subject.clone(),
            summary: e.summary.clone(),
            verified: e.verified,
        }
    }
}

/// The list's filters.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    pub source: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Words to search for.
    pub q: Option<String>,
    pub limit: Option<usize>,
    /// Only events older than this id: the next page back.
    pub before: Option<i64>,
    /// Only events received after this RFC 3339 time.
    pub since: Option<String>,
    /// Only events received before this RFC 3339 time.
    pub until: Option<String>,
    /// `true`: only verified events; `false`: only those stored unverified.
    pub verified: Option<String>,
}

impl Filters {
    /// The filter the page asked for, or what is wrong with it.
    pub fn filter(&self) -> Result<EventFilter, String> {
        let given = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let time = |name: &str, v: &Option<String>| match given(v) {
            None => Ok(None),
            Some(t) => crate::time::parse_time(&t)
                .map(Some)
                .map_err(|_| format!("{name} must be an RFC 3339 time, e.g. 2026-12-07T09:00:00Z")),
        };
        let verified = match given(&self.verified).as_deref() {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err("verified must be true or false".into()),
        };
        Ok(EventFilter {
            before_id: self.before,
            received_after: time("since", &self.since)?,
            received_before: time("until", &self.until)?,
            verified,
            ..EventFilter::of(given(&self.source), given(&self.event_type))
        })
    }
}

/// An error as the page shows it.
pub(super) fn failed(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({"error": message.to_string()}))).into_response()
}

fn storage(e: crate::store::StoreError) -> Response {
    failed(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("storage error: {e}"),
    )
}

/// `GET /api/events`: the newest events matching the filters (older than `before`, for the next
/// page back), newest first (at most 200), without payloads, bounded by what the list shows.
/// `X-Hookd-More: true` says more events match than the answer holds; `X-Hookd-Total` how many
/// match in all (not for a search, whose matches are not counted).
pub async fn events(State(d): State<Arc<Dashboard>>, Query(f): Query<Filters>) -> Response {
    let filter = match f.filter() {
        Ok(filter) => filter,
        Err(why) => return failed(StatusCode::BAD_REQUEST, why),
    };
    let limit = f.limit.unwrap_or(50).clamp(1, 200);
    let (rows, more): (Vec<Row>, bool) =
        match f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            Some(text) => {
                let query = SearchQuery {
                    text: text.to_owned(),
                    filter: filter.clone(),
                    limit: limit + 1,
                };
                match d.store.search(query).await {
                    Ok(found) => {
                        let more = found.hits.len() > limit || found.scan_stopped_at.is_some();
                        let rows = found.hits.into_iter().take(limit).map(|h| Row {
                            id: h.id,
                            received_at: h.received_at,
                            source: h.source,
                            event_type: h.event_type,
                            subject: h.subject,
                            summary: h.summary,
                            verified: None,
                        });
                        (rows.collect(), more)
                    }
                    Err(e) => return storage(e),
                }
            }
            None => match d
                .store
                .list_within(filter.clone(), Page::Newest(limit + 1), d.max_answer)
                .await
            {
                Ok(read) => {
                    let more = read.truncated
                        || read.scan_stopped_at.is_some()
                        || read.events.len() > limit;
                    let rows = read.events.iter().rev().take(limit).map(Row::from);
                    (rows.collect(), more)
                }
                Err(e) => return storage(e),
            },
        };
    let searching = f.q.as_deref().is_some_and(|q| !q.trim().is_empty());
    // A search's matches, and the verified or not of every event, are not counted (a scan).
    let total = match searching || filter.verified.is_some() {
        true => None,
        false => match total(&d, filter).await {
            Ok(n) => Some(n),
            Err(e) => return storage(e),
        },
    };
    let mut answer = Json(rows).into_response();
    if more {
        answer
            .headers_mut()
            .insert("x-hookd-more", header::HeaderValue::from_static("true"));
    }
    if let Some(n) = total {
        answer.headers_mut().insert("x-hookd-total", n.into());
    }
    answer
}

/// How many events match `filter` on every page: from the per-source counts the store keeps (no
/// scan) unless a type or a time is asked, which is counted.
async fn total(d: &Dashboard, filter: EventFilter) -> Result<i64, crate::store::StoreError> {
    let all = EventFilter {
        before_id: None,
        ..filter
    };
    if !all.types.is_empty() || all.received_after.is_some() || all.received_before.is_some() {
        return d.store.count(all).await;
    }
    let counts = d.store.sources().await?;
    let wanted = |s: &str| all.sources.is_empty() || all.sources.iter().any(|w| w == s);
    Ok(counts
        .iter()
        .filter(|s| wanted(&s.source))
        .map(|s| s.count)
        .sum())
}

/// An event's page: the event whole and the rows derived from it.
#[derive(Serialize)]
struct EventPage {
    #[serde(flatten)]
    event: Event,
    derived: DerivedRows,
}

/// `GET /api/events/{id}`: the event whole, with its derived rows.
pub async fn event(State(d): State<Arc<Dashboard>>, Path(id): Path<i64>) -> Response {
    match crate::store::whole_event(d.store.as_ref(), id).await {
        Ok(Some((event, derived))) => Json(EventPage { event, derived }).into_response(),
        Ok(None) => failed(StatusCode::NOT_FOUND, format!("no event {id}")),
        Err(e) => storage(e),
    }
}

/// A source as the page lists it.
#[derive(Debug, Serialize)]
struct SourceRow {
    name: String,
    /// The URL to give the provider.
    webhook_url: String,
    /// Whether that URL is `--webhook-public-url`'s (else the listener's own address).
    public: bool,
    /// `None` for a name that is not configured (accepted unsigned).
    provider: Option<&'static str>,
    secret_set: bool,
    count: i64,
    #[serde(with = "crate::time::optional_text")]
    last_received_at: Option<DateTime<Utc>>,
}

/// `GET /api/sources`: configured sources and those that sent events, with counts.
pub async fn sources(State(d): State<Arc<Dashboard>>) -> Response {
    let stats = match d.store.sources().await {
        Ok(s) => s,
        Err(e) => return storage(e),
    };
    let mut rows: Vec<SourceRow> = d
        .sources
        .iter()
        .map(|s| SourceRow {
            webhook_url: format!("{}/webhook/{}", d.webhook_base.0, s.name),
            public: d.webhook_base.1,
            name: s.name.clone(),
            provider: Some(s.provider.name()),
            // A source that learns its secret in a handshake (Asana) is not "without one".
            secret_set: !s.is_unsigned(),
            count: 0,
            last_received_at: None,
        })
        .collect();
    for stat in stats {
        match rows.iter_mut().find(|r| r.name == stat.source) {
            Some(row) => {
                row.count = stat.count;
                row.last_received_at = Some(stat.last_received_at);
            }
            None => rows.push(SourceRow {
                webhook_url: format!("{}/webhook/{}", d.webhook_base.0, stat.source),
                public: d.webhook_base.1,
                name: stat.source,
                provider: None,
                secret_set: false,
                count: stat.count,
                last_received_at: Some(stat.last_received_at),
            }),
        }
    }
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
    Json(rows).into_response()
}

/// The most sources `hourly` charts (the busiest).
const CHARTED: usize = 20;

/// `GET /api/sources/hourly`: per source, events received in each of the last 24 hours, oldest
/// hour first (counted from the received-time index: 25 counts per source).
pub async fn hourly(State(d): State<Arc<Dashboard>>) -> Response {
    let stats = match d.store.sources().await {
        Ok(s) => s,
        Err(e) => return storage(e),
    };
    let now = Utc::now();
    let mut out = serde_json::Map::new();
    for stat in stats.into_iter().take(CHARTED) {
        let mut after = Vec::with_capacity(25);
        for hours_ago in (0..=24).rev() {
            let filter = EventFilter {
                received_after: Some(now - chrono::Duration::hours(hours_ago)),
                ..EventFilter::of(Some(stat.source.clone()), None)
            };
            match d.store.count(filter).await {
                Ok(n) => after.push(n),
                Err(e) => return storage(e),
            }
        }
        let per_hour: Vec<i64> = after.windows(2).map(|w| w[0] - w[1]).collect();
        out.insert(stat.source, json!(per_hour));
    }
    Json(out).into_response()
}

/// `GET /api/rejections`: the newest refused deliveries, with reasons.
pub async fn rejections(State(d): State<Arc<Dashboard>>) -> Response {
    match d.store.rejections(None, 100).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => storage(e),
    }
}

/// `GET /api/consumers`: durable consumers, their cursors and backlogs.
pub async fn consumers(State(d): State<Arc<Dashboard>>) -> Response {
    match d.store.consumers().await {
        Ok(c) => Json(c).into_response(),
        Err(e) => storage(e),
    }
}

/// `GET /api/actions`: pending actions (what Stripe events call for), oldest first.
pub async fn actions(State(d): State<Arc<Dashboard>>) -> Response {
    match d.store.pending_actions(None).await {
        Ok(a) => Json(a).into_response(),
        Err(e) => storage(e),
    }
}

/// `GET /api/deployments`: the newest deployment state changes, newest first.
pub async fn deployments(State(d): State<Arc<Dashboard>>) -> Response {
    match d.store.recent_deployments(None, 200).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => storage(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct ReplayTo {
    pub url: String,
}

/// `POST /api/events/{id}/replay` `{"url": …}`: sends the event to `url`, re-signed for its
/// provider; answers what the receiver said.
pub async fn replay(
    State(d): State<Arc<Dashboard>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(why) = same_origin(&headers) {
        return failed(StatusCode::FORBIDDEN, why);
    }
    let Ok(to) = serde_json::from_slice::<ReplayTo>(&body) else {
        return failed(StatusCode::BAD_REQUEST, "send {\"url\": \"http…\"}");
    };
    use crate::resend::ReplayError;
    match crate::resend::replay(d.store.as_ref(), &d.sources, id, &to.url).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => {
            let status = match e {
                ReplayError::Url | ReplayError::UrlTooLong => StatusCode::BAD_REQUEST,
                ReplayError::NotFound(_) => StatusCode::NOT_FOUND,
                ReplayError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
                ReplayError::Payload(_) => StatusCode::UNPROCESSABLE_ENTITY,
                ReplayError::Unreachable(..) => StatusCode::BAD_GATEWAY,
                ReplayError::Busy => StatusCode::TOO_MANY_REQUESTS,
            };
            failed(status, e)
        }
    }
}

/// A write is accepted only as JSON (which a cross-site form cannot send) and, when the browser
/// names an origin, from this host's own.
pub(super) fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err("send the request as application/json");
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => Ok(()),
        Some(origin) => {
            let own = host.map(|h| format!("http://{h}"));
            let own_tls = host.map(|h| format!("https://{h}"));
            if Some(origin.to_owned()) == own || Some(origin.to_owned()) == own_tls {
                Ok(())
            } else {
                Err("this is accepted only from the dashboard's own page")
            }
        }
    }
}
