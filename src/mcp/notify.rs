//! Telling clients that a resource changed: `notifications/resources/updated` for the URIs they
//! follow, through `subscriptions/listen` (2026-07-28) or `resources/subscribe` (older clients).
//!
//! One watcher per listen stream or session sleeps on the bus. When ids commit, it asks the
//! store which followed URIs have events in the new range and notifies those. The bus keeps only
//! the newest id, so a client that reads slowly makes its own watcher fall behind and catch up in
//! one step: it never holds a queue, stalls ingest, or slows other clients.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

use rmcp::RoleServer;
use rmcp::model::ResourceUpdatedNotificationParam;
use rmcp::service::Peer;
use tokio_util::sync::CancellationToken;

use super::resources::{Target, parse};
use crate::event::{EventFilter, Page};
use crate::store::{Store, StoreError};

/// The followed URIs that have events with ids in `seen < id <= newest`. The range is closed
/// above: an event committed while this looks is the next range's, so it is told once.
async fn updated(
    store: &dyn Store,
    uris: &[String],
    seen: i64,
    newest: i64,
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for uri in uris {
        let fired = match parse(uri) {
            Some((Target::All, _)) => newest > seen,
            Some((Target::Source(source), _)) => {
                let filter = EventFilter {
                    sources: vec![source],
                    after_id: Some(seen),
                    ..Default::default()
                };
                let first = store.query(filter, Page::Oldest(1)).await?;
                first.first().is_some_and(|e| e.id <= newest)
            }
            // An event never changes; an unknown URI never fires.
            Some((Target::Event(_), _)) | None => false,
        };
        if fired {
            out.push(uri.clone());
        }
    }
    Ok(out)
}

/// Notifies `send` of each followed URI (as `uris()` says now) that gets new events, until `stop`
/// or until `send` reports the client gone.
pub async fn watch<S, F>(
    store: Arc<dyn Store>,
    uris: impl Fn() -> Vec<String>,
    mut send: S,
    stop: CancellationToken,
) where
    S: FnMut(String) -> F,
    F: Future<Output = bool>,
{
    // Only what commits from now on is news.
    let mut follow = crate::wait::Follow::new(store.clone(), EventFilter::default(), 0);
    let now = follow.newest();
    follow.handled(now);
    loop {
        tokio::select! {
            _ = follow.changed() => {}
            _ = stop.cancelled() => return,
        }
        let newest = follow.newest();
        match updated(store.as_ref(), &uris(), follow.cursor(), newest).await {
            Ok(fired) => {
                for uri in fired {
                    if !send(uri).await {
                        return;
                    }
                }
                follow.handled(newest);
            }
            // Try the same range again on the next commit.
            Err(e) => tracing::warn!(error = %e, "resource watcher could not read the store"),
        }
    }
}

/// The `resources/subscribe` state of one legacy session: what it follows and its watcher, which
/// stops when the session ends (this is dropped) or its client goes away.
#[derive(Default)]
pub struct Subscriptions {
    uris: Arc<Mutex<BTreeSet<String>>>,
    watcher: Mutex<Option<CancellationToken>>,
}

impl Subscriptions {
    pub fn subscribe(&self, store: Arc<dyn Store>, uri: String, peer: Peer<RoleServer>) {
        if let Ok(mut uris) = self.uris.lock() {
            uris.insert(uri);
        }
        let Ok(mut watcher) = self.watcher.lock() else {
            return;
        };
        if watcher.is_some() {
            return;
        }
        let stop = CancellationToken::new();
        *watcher = Some(stop.clone());
        let uris = self.uris.clone();
        let followed = move || {
            uris.lock()
                .map(|u| u.iter().cloned().collect())
                .unwrap_or_default()
        };
        let send = move |uri: String| {
            let peer = peer.clone();
            async move {
                let update = ResourceUpdatedNotificationParam::new(uri);
                peer.notify_resource_updated(update).await.is_ok()
            }
        };
        tokio::spawn(watch(store, followed, send, stop));
    }

    pub fn unsubscribe(&self, uri: &str) {
        if let Ok(mut uris) = self.uris.lock() {
            uris.remove(uri);
        }
    }
}

impl Drop for Subscriptions {
    fn drop(&mut self) {
        if let Some(stop) = self.watcher.get_mut().ok().and_then(Option::take) {
            stop.cancel();
        }
    }
}

/// Longest payload excerpt a channel notification carries; the full event is one
/// `get_event_by_id` away.
const CHANNEL_EXCERPT: usize = 4096;

/// Pushes every event committed from now on to Claude Code as `notifications/claude/channel`
/// (`content`: a summary line and the payload, `meta`: source, type, event id, time), until the
/// client goes away or `stop`.
pub async fn claude_channel(
    store: Arc<dyn Store>,
    peer: Peer<RoleServer>,
    stop: CancellationToken,
) {
    use rmcp::model::{CustomNotification, ServerNotification};
    let now = store.bus().newest();
    let mut follow = crate::wait::Follow::new(store, EventFilter::default(), now);
    loop {
        let events = match follow.next_batch().await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "channel could not read the store");
                Vec::new()
            }
        };
        for e in &events {
            let n =
                CustomNotification::new("notifications/claude/channel", Some(channel_params(e)));
            if peer
                .send_notification(ServerNotification::CustomNotification(n))
                .await
                .is_err()
            {
                return;
            }
            follow.handled(e.id);
        }
        if events.is_empty() {
            tokio::select! {
                _ = follow.changed() => {}
                _ = stop.cancelled() => return,
            }
        }
    }
}

/// A channel notification's params: a summary line and up to `CHANNEL_EXCERPT` of payload in
/// `content`, and the event's source, type, id and time in `meta`.
fn channel_params(e: &crate::event::Event) -> serde_json::Value {
    let mut payload = e.payload.to_string();
    if payload.len() > CHANNEL_EXCERPT {
        let cut = (0..=CHANNEL_EXCERPT)
            .rev()
            .find(|i| payload.is_char_boundary(*i));
        payload.truncate(cut.unwrap_or(0));
        payload.push_str(" …");
    }
    let headline = e.summary.clone().unwrap_or_else(|| e.event_type.clone());
    serde_json::json!({
        "content": format!("{} {} (event {}): {headline}\n{payload}", e.source, e.event_type, e.id),
        "meta": {
            "source": e.source,
            "type": e.event_type,
            "event_id": e.id.to_string(),
            "received_at": e.received_at,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{NewEvent, PayloadEncoding};
    use crate::store::Sqlite;
    use crate::store::prelude::*;

    fn event(source: &str) -> NewEvent {
        NewEvent {
            source: source.into(),
            event_type: "t".into(),
            delivery_id: None,
            received_at: chrono::Utc::now(),
            headers: Default::default(),
            content_type: None,
            payload_encoding: PayloadEncoding::Json,
            payload: crate::payload::JsonText::new("{}".into()).unwrap(),
            verified: None,
            subject: None,
            occurred_at: None,
            summary: None,
            derived: Vec::new(),
            search_words: None,
        }
    }

    /// Found by the Python SDK test under load: a watcher woken by one commit that looked after
    /// the next one had landed told a URI about it twice (once now, once for the next range).
    #[tokio::test]
    async fn a_range_is_closed_above() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(dir.path()).unwrap();
        let github = store.append(event("github")).await.unwrap().id;
        let stripe = store.append(event("stripe")).await.unwrap().id;
        let uris = [
            "hookd://sources/stripe".to_owned(),
            "hookd://events".to_owned(),
        ];
        let first = updated(&store, &uris, 0, github).await.unwrap();
        assert_eq!(
            first,
            ["hookd://events"],
            "stripe's event is the next range's"
        );
        let next = updated(&store, &uris, github, stripe).await.unwrap();
        assert_eq!(next, uris);
        assert!(
            updated(&store, &uris, stripe, stripe)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
