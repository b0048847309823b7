//! hookd's events as MCP resources:
//! - `hookd://events`: the newest events of every source;
//! - `hookd://sources/{source}`: the newest events of one source;
//! - `hookd://events/{id}`: one event.
//!
//! The two lists take `?after={id}` to read forward from a cursor (oldest first); every list
//! answer carries the `cursor` to pass next time.

use rmcp::ErrorData;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate,
};
use serde::Serialize;

use crate::event::{Event, EventFilter, Page};
use crate::store::Store;

pub const EVENTS: &str = "hookd://events";
const SOURCES: &str = "hookd://sources/";
const JSON: &str = "application/json";
/// How many events a list resource holds.
const PAGE: usize = 50;

/// What a resource URI names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// Every event.
    All,
    /// The events of one source.
    Source(String),
    /// One event; it never changes.
    Event(i64),
}

/// The target and the `after` cursor of a URI; `None` for a URI hookd does not serve.
pub fn parse(uri: &str) -> Option<(Target, Option<i64>)> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let after = match query {
        "" => None,
        q => Some(q.strip_prefix("after=")?.parse::<i64>().ok()?),
    };
    let target = if path == EVENTS {
        Target::All
    } else if let Some(id) = path.strip_prefix("hookd://events/") {
        if after.is_some() {
            return None;
        }
        Target::Event(id.parse().ok()?)
    } else {
        let source = path.strip_prefix(SOURCES)?;
        if source.is_empty() || source.contains('/') {
            return None;
        }
        Target::Source(source.to_owned())
    };
    Some((target, after))
}

pub fn source_uri(source: &str) -> String {
    format!("{SOURCES}{source}")
}

#[derive(Serialize)]
struct EventPage {
    /// Pass as `?after=` to read what comes next.
    cursor: i64,
    events: Vec<Event>,
    /// The page reached its size limit (`--max-answer-bytes`): read on from `cursor`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
}

pub async fn list(store: &dyn Store) -> Result<ListResourcesResult, ErrorData> {
    let sources = store.sources().await.map_err(internal)?;
    let mut resources = vec![
        super::inbox::listed(),
        Resource::new(EVENTS, "events")
            .with_description(
                "The newest webhook events of every source (read ?after={id} to page forward)",
            )
            .with_mime_type(JSON),
    ];
    resources.extend(sources.into_iter().map(|s| {
        Resource::new(source_uri(&s.source), format!("source {}", s.source))
            .with_description(format!(
                "The newest events from {} ({} stored, last at {})",
                s.source, s.count, s.last_received_at
            ))
            .with_mime_type(JSON)
    }));
    Ok(ListResourcesResult::with_all_items(resources))
}

pub fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![
        ResourceTemplate::new("hookd://events/{id}", "event")
            .with_description("One stored event, with its full payload")
            .with_mime_type(JSON),
        ResourceTemplate::new("hookd://sources/{source}", "source")
            .with_description(
                "The newest events of one source (the {source} of /webhook/{source}); add ?after={id} to page forward",
            )
            .with_mime_type(JSON),
    ])
}

pub async fn read(
    store: &dyn Store,
    uri: &str,
    max_bytes: usize,
) -> Result<ReadResourceResult, ErrorData> {
    let not_found = || {
        ErrorData::resource_not_found(
            format!(
                "no resource {uri:?}: hookd serves hookd://events, hookd://events/{{id}}, hookd://sources/{{source}} and ui://hookd/inbox"
            ),
            // The requested URI, as SEP-2164 asks.
            Some(serde_json::json!({ "uri": uri })),
        )
    };
    if uri == super::inbox::URI {
        return Ok(ReadResourceResult::new(vec![super::inbox::contents()]));
    }
    let (target, after) = parse(uri).ok_or_else(not_found)?;
    let text = match target {
        Target::Event(id) => {
            let event = store
                .get(id)
                .await
                .map_err(internal)?
                .ok_or_else(not_found)?;
            serde_json::to_string(&event)
        }
        Target::All | Target::Source(_) => {
            let filter = EventFilter {
                sources: match target {
                    Target::Source(s) => vec![s],
                    _ => Vec::new(),
                },
                after_id: after,
                ..Default::default()
            };
            let newest = store.bus().newest();
            let page = if after.is_some() {
                Page::Oldest(PAGE)
            } else {
                Page::Newest(PAGE)
            };
            let read = store
                .query_within(filter, page, max_bytes)
                .await
                .map_err(internal)?;
            let (events, truncated) = (read.events, read.truncated);
            // A full or cut forward page continues from its last event; otherwise everything up
            // to `newest` (read before the query) has been seen, and up to the last event read
            // (which can be newer than this instance's bus knows, on PostgreSQL).
            let cursor = match (after, events.last()) {
                (Some(_), Some(last)) if events.len() == PAGE || truncated => last.id,
                (after, last) => newest.max(after.unwrap_or(0)).max(last.map_or(0, |e| e.id)),
            };
            serde_json::to_string(&EventPage {
                cursor,
                events,
                truncated,
            })
        }
    }
    .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(JSON),
    ]))
}

use super::storage as internal;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_their_targets() {
        assert_eq!(parse("hookd://events"), Some((Target::All, None)));
        assert_eq!(
            parse("hookd://events?after=7"),
            Some((Target::All, Some(7)))
        );
        assert_eq!(parse("hookd://events/12"), Some((Target::Event(12), None)));
        assert_eq!(
            parse("hookd://sources/github?after=3"),
            Some((Target::Source("github".into()), Some(3)))
        );
        for bad in [
            "hookd://events/x",
            "hookd://events?x=1",
            "hookd://events/1?after=2",
            "hookd://sources/",
            "hookd://sources/a/b",
            "file:///etc/passwd",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
