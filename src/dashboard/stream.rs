//! `GET /api/stream`: new events as server-sent events (`data: <row>`), for the live list. Each
//! stream follows the store with `wait::Follow` from the moment it opens; it holds one bounded
//! batch at a time and ends when the client goes away or hookd shuts down.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

use super::Dashboard;
use super::api::{Filters, Row};
use crate::event::Event;
use crate::wait::Follow;

struct Live {
    follow: Follow,
    pending: VecDeque<Event>,
    stop: CancellationToken,
    /// Its place among the waiters, given back when the client goes away.
    _place: crate::waiters::Place,
}

/// How long a stream waits before reading again after the store failed.
const RETRY: Duration = Duration::from_secs(1);

pub async fn live(State(d): State<Arc<Dashboard>>, Query(f): Query<Filters>) -> Response {
    let filter = match f.filter() {
        Ok(filter) => filter,
        Err(why) => return super::api::failed(StatusCode::BAD_REQUEST, why),
    };
    let place = match d.waiters.enter(d.credential.as_deref()) {
        Ok(place) => place,
        Err(full) => return super::api::failed(StatusCode::TOO_MANY_REQUESTS, full.to_string()),
    };
    let now = d.store.bus().newest();
    let live = Live {
        _place: place,
        follow: Follow::new(d.store.clone(), filter, now),
        pending: VecDeque::new(),
        stop: d.shutdown.clone(),
    };
    let events = futures_util::stream::unfold(live, |mut live| async move {
        loop {
            if let Some(e) = live.pending.pop_front() {
                let data = serde_json::to_string(&Row::from(&e)).unwrap_or_default();
                let sse = SseEvent::default().id(e.id.to_string()).data(data);
                return Some((Ok::<_, Infallible>(sse), live));
            }
            match live.follow.next_batch().await {
                Ok(batch) if !batch.is_empty() => {
                    for e in batch {
                        live.follow.handled(e.id);
                        live.pending.push_back(e);
                    }
                }
                Ok(_) => tokio::select! {
                    _ = live.follow.changed() => {}
                    _ = live.stop.cancelled() => return None,
                },
                Err(e) => {
                    tracing::warn!(error = %e, "dashboard stream could not read the store");
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY) => {}
                        _ = live.stop.cancelled() => return None,
                    }
                }
            }
        }
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(d.heartbeat))
        .into_response()
}
