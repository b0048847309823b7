//! Read queries on PostgreSQL: events by filter, totals, refused deliveries, full-text search.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use crate::event::{Event, EventFilter, Page, PayloadEncoding, Rejected};
use crate::filter::PathStep;
use crate::store::row::{RawEvent, Shape};
use crate::store::{Bounded, Found, SEARCH_SCAN, SearchHit, SearchQuery, SourceStats, StoreError};
use crate::time::format_time;
use async_trait::async_trait;

use super::{Postgres, upkeep};
use crate::store::{Rejections, Search};

/// Bound values of a query being built, with their types; `bind` answers the placeholder to
/// write. A query whose parameters' types are known travels in one round trip (parsed, planned
/// for these values and run, `query_typed`) instead of a prepare and then an execute.
#[derive(Default)]
pub struct Params(Vec<(Box<dyn ToSql + Sync + Send>, Type)>);

/// A value a query binds, and the PostgreSQL type it is sent as.
pub trait Bind: ToSql + Sync + Send + 'static {
    const TYPE: Type;
}

impl Bind for i64 {
    const TYPE: Type = Type::INT8;
}

impl Bind for String {
    const TYPE: Type = Type::TEXT;
}

impl Bind for Vec<String> {
    const TYPE: Type = Type::TEXT_ARRAY;
}

impl Params {
    pub fn bind<T: Bind>(&mut self, value: T) -> String {
        self.0.push((Box::new(value), T::TYPE));
        format!("${}", self.0.len())
    }

    pub fn typed(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        let typed = self.0.iter().map(|(v, t)| (v.as_ref() as _, t.clone()));
        typed.collect()
    }
}

/// `WHERE a AND b …` for `filter`, or nothing, with columns prefixed by `t` (`""` or `"e."`).
pub fn where_clause(filter: &EventFilter, t: &str, p: &mut Params) -> String {
    let mut clauses = indexed_conditions(filter, t, p);
    clauses.extend(field_conditions(
        filter,
        t,
        &format!("{t}payload::jsonb"),
        p,
    ));
    where_of(&clauses)
}

/// `WHERE a AND b …`, or nothing for no conditions.
fn where_of(clauses: &[String]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}

/// The conditions an index answers: sources, types and id or time bounds.
fn indexed_conditions(filter: &EventFilter, t: &str, p: &mut Params) -> Vec<String> {
    let mut clauses = Vec::new();
    if !filter.sources.is_empty() {
        clauses.push(format!(
            "{t}source = ANY({}::text[])",
            p.bind(storable(&filter.sources))
        ));
    }
    if !filter.types.is_empty() {
        clauses.push(format!(
            "{t}type = ANY({}::text[])",
            p.bind(storable(&filter.types))
        ));
    }
    if let Some(after) = filter.after_id {
        clauses.push(format!("{t}id > {}", p.bind(after)));
    }
    if let Some(before) = filter.before_id {
        clauses.push(format!("{t}id < {}", p.bind(before)));
    }
    if let Some(after) = filter.received_after {
        clauses.push(format!("{t}received_at > {}", p.bind(format_time(after))));
    }
    if let Some(before) = filter.received_before {
        clauses.push(format!("{t}received_at < {}", p.bind(format_time(before))));
    }
    match filter.verified {
        Some(true) => clauses.push(format!("{t}verified IS TRUE")),
        Some(false) => clauses.push(format!("{t}verified IS NOT TRUE")),
        None => {}
    }
    clauses
}

/// The values a text column can hold. PostgreSQL refuses a NUL character in a parameter (the
/// whole query would fail), and no stored text holds one (ingest replaces it): a value with one
/// matches nothing, and is left out.
fn storable(values: &[String]) -> Vec<String> {
    let storable = values.iter().filter(|v| !v.contains('\0'));
    storable.cloned().collect()
}

/// The `where` conditions, tested on each payload; `doc` is the payload as `jsonb`.
fn field_conditions(filter: &EventFilter, t: &str, doc: &str, p: &mut Params) -> Vec<String> {
    let mut clauses = Vec::new();
    for f in &filter.fields {
        // `jsonb` cannot hold a NUL character (payloads with one are skipped below), and
        // PostgreSQL refuses one in a parameter: such a condition matches nothing.
        let nul_key = f
            .path
            .iter()
            .any(|s| matches!(s, PathStep::Key(k) if k.contains('\0')));
        if nul_key || f.value.as_str().is_some_and(|v| v.contains('\0')) {
            clauses.push("false".to_owned());
            continue;
        }
        let steps: Vec<String> = f
            .path
            .iter()
            .map(|s| match s {
                PathStep::Key(k) => k.clone(),
                PathStep::Index(i) => i.to_string(),
            })
            .collect();
        // Compared as `jsonb`: a value of another type is simply unequal (nothing is cast, so
        // nothing fails), numbers compare by value (1 = 1.0), and each condition reads `doc` once.
        let value = format!("({doc} #> {}::text[])", p.bind(steps));
        let test = match &f.value {
            serde_json::Value::String(text) => {
                format!("{value} = to_jsonb({}::text)", p.bind(text.clone()))
            }
            other => format!("{value} = {}::text::jsonb", p.bind(other.to_string())),
        };
        // Only JSON and form payloads have fields; a text payload is a bare JSON string. A
        // payload jsonb cannot read is skipped first (CASE: evaluated in order).
        clauses.push(format!(
            "CASE WHEN {t}payload_has_nul THEN false \
             ELSE {t}payload_encoding IN ('json', 'form') AND {test} END"
        ));
    }
    clauses
}

/// The position of the `where` result, the column after `COLUMNS`, in a query's rows (followed
/// by whether the row is the last one the scan's bound allows).
const MATCHES: usize = 14;

const COLUMNS: &str = "id, source, type, delivery_id, received_at, headers, content_type, \
                       payload_encoding, payload, verified, subject, occurred_at, summary, \
                       duplicates";

/// `COLUMNS` for a list: no payload (`null`) and no headers, so neither is read nor held.
const LISTED: &str = "id, source, type, delivery_id, received_at, '{}'::text, content_type, \
                      payload_encoding, 'null'::text, verified, subject, occurred_at, summary, \
                      duplicates";

/// The columns a read of `shape` selects.
fn columns(shape: Shape) -> &'static str {
    match shape {
        Shape::Whole => COLUMNS,
        Shape::Listed => LISTED,
    }
}

fn event(r: &Row) -> Result<Event, StoreError> {
    Ok(raw_event(r).into_event())
}

fn raw_event(r: &Row) -> RawEvent {
    RawEvent {
        event: Event {
            id: r.get(0),
            source: r.get(1),
            event_type: r.get(2),
            delivery_id: r.get(3),
            received_at: super::time(r, 4),
            headers: Default::default(),
            content_type: r.get(6),
            payload_encoding: PayloadEncoding::Json,
            payload: serde_json::Value::Null,
            verified: r.get(9),
            subject: r.get(10),
            occurred_at: super::optional_time(r, 11),
            summary: r.get(12),
            duplicates: r.get(13),
            note: None,
        },
        headers: r.get(5),
        payload_encoding: r.get(7),
        payload: r.get(8),
    }
}

/// The newest committed event id (0 for an empty store).
pub async fn newest_id(c: &tokio_postgres::Client) -> Result<i64, tokio_postgres::Error> {
    let row = c
        .query_one("SELECT COALESCE(max(id), 0) FROM events", &[])
        .await?;
    Ok(row.get(0))
}

pub async fn get(c: &impl GenericClient, id: i64) -> Result<Option<Event>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE id = $1");
    c.query_opt(&sql, &[&id])
        .await?
        .as_ref()
        .map(event)
        .transpose()
}

pub async fn query(
    c: &tokio_postgres::Client,
    filter: &EventFilter,
    page: Page,
    max_bytes: usize,
    shape: Shape,
) -> Result<Bounded, StoreError> {
    let mut p = Params::default();
    let columns = columns(shape);
    let clauses = indexed_conditions(filter, "", &mut p);
    // `where` conditions are a column: rows are examined in id order up to the scan bound, and
    // only those that match are read into events.
    let fields = field_conditions(filter, "", "d.doc", &mut p);
    let (order, limit) = match page {
        Page::Newest(n) => ("DESC", n),
        Page::Oldest(n) => ("ASC", n),
    };
    let scan = Bounded::rows_to_examine(limit, !fields.is_empty());
    let conditions = where_of(&clauses);
    // Several instances stamp times, so times are not in id order: a read from a time goes in
    // time order, straight from the time index (ids break ties).
    let by = if filter.received_after.is_some() && fields.is_empty() {
        format!("received_at {order}, id {order}")
    } else {
        format!("id {order}")
    };
    let sql = if fields.is_empty() {
        format!(
            "SELECT {columns}, true, false FROM events {conditions} ORDER BY {by} LIMIT {}",
            p.bind(scan as i64)
        )
    } else {
        // Only the rows that match travel back, with the bound's last row (`last`: so that the
        // answer can say where the scan stopped), and PostgreSQL stops examining once the page
        // is full. Each payload is parsed into `jsonb` once per row (`doc`, kept apart by
        // OFFSET 0), not once per condition.
        let scan = p.bind(scan as i64);
        let matches = fields.join(" AND ");
        format!(
            "WITH bound AS (SELECT id FROM events {conditions} ORDER BY {by} OFFSET {scan}::int8 - 1 LIMIT 1)
             SELECT s.*, s.id IS NOT DISTINCT FROM (SELECT id FROM bound) FROM (
                 SELECT {columns}, coalesce({matches}, false) AS m FROM events
                 CROSS JOIN LATERAL (SELECT CASE WHEN payload_has_nul OR payload_encoding
                     NOT IN ('json', 'form') THEN NULL ELSE payload::jsonb END AS doc OFFSET 0) d
                 {conditions} ORDER BY {by} LIMIT {scan}) s
             WHERE m OR s.id = (SELECT id FROM bound) ORDER BY {by} LIMIT {}",
            p.bind(limit as i64 + 1)
        )
    };
    // Streamed, so a bound reached early holds no more rows than it returns.
    let rows = c.query_typed_raw(&sql, p.typed()).await?;
    futures_util::pin_mut!(rows);
    let mut out = Bounded::within(max_bytes);
    let (mut examined, mut last) = (0, None);
    while let Some(row) = futures_util::StreamExt::next(&mut rows).await {
        let row = row?;
        // A `where` read examined its whole bound when the bound's last row came back.
        examined = match row.get::<_, bool>(MATCHES + 1) {
            true => scan,
            false => examined + 1,
        };
        last = Some(row.get::<_, i64>(0));
        if !row.get::<_, bool>(MATCHES) {
            continue;
        }
        let raw = raw_event(&row);
        let size = shape.size(&raw);
        if !out.take(raw.into_event(), size) || out.events.len() == limit {
            break;
        }
    }
    out.examined(examined, last, limit, !fields.is_empty());
    if matches!(page, Page::Newest(_)) {
        out.events.reverse();
    }
    Ok(out)
}

pub async fn count(c: &tokio_postgres::Client, filter: &EventFilter) -> Result<i64, StoreError> {
    let mut p = Params::default();
    let sql = format!(
        "SELECT count(*) FROM events {}",
        where_clause(filter, "", &mut p)
    );
    Ok(c.query_typed_one(&sql, &p.typed()).await?.get(0))
}

/// `(source, type, count)` of the events matching `filter`, most first, at most `max` groups.
pub async fn count_by_type(
    c: &tokio_postgres::Client,
    filter: &EventFilter,
    max: usize,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    let mut p = Params::default();
    let clause = where_clause(filter, "", &mut p);
    let limit = p.bind(max as i64);
    let sql = format!(
        "SELECT source, type, count(*) FROM events {clause} GROUP BY source, type
         ORDER BY 3 DESC, 1, 2 LIMIT {limit}"
    );
    let rows = c.query_typed(&sql, &p.typed()).await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

pub async fn sources(c: &impl GenericClient) -> Result<Vec<SourceStats>, StoreError> {
    let rows = c
        .query(
            "SELECT source, count, last_received_at FROM sources ORDER BY count DESC, source",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| SourceStats {
            source: r.get(0),
            count: r.get(1),
            last_received_at: super::time(r, 2),
        })
        .collect())
}

pub async fn rejections(
    c: &impl GenericClient,
    source: Option<&str>,
    limit: usize,
) -> Result<Vec<Rejected>, StoreError> {
    let rows = c
        .query(
            "SELECT source, received_at, reason, detail, headers, body_size, body_sha256
             FROM rejections WHERE $1::text IS NULL OR source = $1 ORDER BY id DESC LIMIT $2",
            &[&source, &(limit as i64)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Rejected {
                source: r.get(0),
                received_at: super::time(r, 1),
                reason: r.get(2),
                detail: r.get(3),
                headers: serde_json::from_str(r.get(4)).map_err(|source| StoreError::Corrupt {
                    what: "a rejection's headers".into(),
                    source,
                })?,
                body_size: r.get::<_, i64>(5) as u64,
                body_sha256: r.get(6),
            })
        })
        .collect()
}

/// The words as a `tsquery` expression that cannot be a syntax error: every word must match (a
/// word with punctuation matches as a phrase); a trailing `*` keeps its prefix meaning.
fn ts_query(text: &str, p: &mut Params) -> Option<String> {
    let terms: Vec<String> = crate::store::search_words(text)
        .map(|word| match word.strip_suffix('*') {
            Some(stem) if stem.chars().any(char::is_alphanumeric) => {
                // Only letters and digits reach the tsquery syntax, so nothing can be an operator.
                let stem: String = stem.chars().filter(|c| c.is_alphanumeric()).collect();
                format!("to_tsquery('simple', {})", p.bind(format!("{stem}:*")))
            }
            _ => format!("phraseto_tsquery('simple', {})", p.bind(word.to_owned())),
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" && "))
}

/// How many of the newest events a search checks row by row before it asks the GIN index.
const SEARCH_WINDOW: i64 = 20_000;

pub async fn search(c: &tokio_postgres::Client, q: &SearchQuery) -> Result<Found, StoreError> {
    // The GIN index finds matches in no particular order, so a word in most events would have
    // every match fetched and sorted. The newest SEARCH_WINDOW events are checked row by row in
    // id order first (a common word fills the limit within a few rows); only when they hold too
    // few hits does the index look further back, where a rare word has few matches.
    let newest: i64 = match q.filter.before_id {
        Some(before) => before - 1,
        None => c
            .query_one("SELECT COALESCE(max(id), 0) FROM events", &[])
            .await?
            .get(0),
    };
    let edge = newest - SEARCH_WINDOW;
    let mut hits = search_part(c, q, true, edge, q.limit).await?;
    if hits.len() == q.limit || edge <= 0 {
        return Ok(Found {
            hits,
            scan_stopped_at: None,
        });
    }
    // A filter that passes none of a common word's matches would have the index fetch them all:
    // with a filter, the index is used only for words with at most SEARCH_SCAN older matches.
    let filtered = q.filter != EventFilter::default();
    if filtered && older_matches(c, q, edge).await? > SEARCH_SCAN as i64 {
        return Ok(Found {
            hits,
            scan_stopped_at: Some(edge + 1),
        });
    }
    let rest = q.limit - hits.len();
    hits.extend(search_part(c, q, false, edge, rest).await?);
    Ok(Found {
        hits,
        scan_stopped_at: None,
    })
}

/// How many events up to `edge` contain the words, counted up to one past `SEARCH_SCAN`.
async fn older_matches(
    c: &tokio_postgres::Client,
    q: &SearchQuery,
    edge: i64,
) -> Result<i64, StoreError> {
    let mut p = Params::default();
    let Some(matcher) = ts_query(&q.text, &mut p) else {
        return Ok(0);
    };
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE id <= {} AND search @@ ({matcher}) LIMIT {}) m",
        p.bind(edge),
        p.bind(SEARCH_SCAN as i64 + 1)
    );
    Ok(c.query_typed_one(&sql, &p.typed()).await?.get(0))
}

/// The newest `limit` hits with ids above `edge` (`recent`, checked row by row) or up to it (from
/// the GIN index).
async fn search_part(
    c: &tokio_postgres::Client,
    q: &SearchQuery,
    recent: bool,
    edge: i64,
    limit: usize,
) -> Result<Vec<SearchHit>, StoreError> {
    let mut p = Params::default();
    let Some(matcher) = ts_query(&q.text, &mut p) else {
        return Ok(Vec::new());
    };
    let conditions = where_clause(&q.filter, "e.", &mut p);
    let also = match conditions.strip_prefix("WHERE ") {
        Some(c) => format!(" AND {c}"),
        None => String::new(),
    };
    // `IS TRUE` keeps the planner off the GIN index for the recent part.
    let part = if recent {
        format!("e.id > {} AND (e.search @@ q.q) IS TRUE", p.bind(edge))
    } else {
        format!("e.id <= {} AND e.search @@ q.q", p.bind(edge))
    };
    // The headline is computed only for the rows the limit keeps.
    let sql = format!(
        "SELECT id, source, type, received_at, summary,
                ts_headline('simple', type || ' ' || coalesce(summary, '') || ' ' || coalesce(search_text, ''),
                            q, 'StartSel=**, StopSel=**, MaxWords=16, MinWords=6, MaxFragments=2, FragmentDelimiter=\" … \"'),
                subject
         FROM (SELECT e.id, e.source, e.type, e.received_at, e.summary, e.search_text, e.subject, q.q
               FROM events e, (SELECT {matcher} AS q) q
               WHERE {part}{also}
               ORDER BY e.id DESC LIMIT {}) hits
         ORDER BY id DESC",
        p.bind(limit as i64)
    );
    let rows = c.query_typed(&sql, &p.typed()).await?;
    Ok(rows
        .iter()
        .map(|r| SearchHit {
            id: r.get(0),
            source: r.get(1),
            event_type: r.get(2),
            received_at: super::time(r, 3),
            summary: r.get(4),
            snippet: r.get(5),
            subject: r.get(6),
        })
        .collect())
}

#[async_trait]
impl Rejections for Postgres {
    async fn record_rejection(&self, rejected: Rejected) -> Result<(), StoreError> {
        upkeep::reject(&self.client().await?, &rejected).await
    }

    async fn rejections(
        &self,
        source: Option<String>,
        limit: usize,
    ) -> Result<Vec<Rejected>, StoreError> {
        rejections(&self.client().await?, source.as_deref(), limit).await
    }
}

#[async_trait]
impl Search for Postgres {
    async fn search(&self, query: SearchQuery) -> Result<Found, StoreError> {
        let client = self.client().await?;
        search(&client, &query).await
    }
}
