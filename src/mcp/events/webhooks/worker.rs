//! One subscription's delivery loop, as the design's delivery model has it: each new event is
//! POSTed as it commits; one that fails is retried on its own schedule while later events go on
//! (so deliveries may arrive out of order); after its last attempt it is abandoned. `413` is never
//! retried; `410` ends the subscription. The `cursor` in every body is the watermark: every matching event at
//! or before it was accepted or abandoned. Delivery is suspended (kept, not skipped) when nearly
//! every attempt over the last hour failed, until the client refreshes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use super::deliver::{self, Outcome};
use super::{Subscription, Webhooks};
use crate::event::{Event, EventFilter, Page};
use crate::mcp::events::{Selector, event_id, storage};
use crate::store::Store;
use crate::wait::Follow;

/// Events waiting for another attempt at most; beyond it no new event is read until some resolve.
const MAX_PENDING: usize = 1000;
/// How long the worker waits before reading the store again after it could not.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// A no-expiry subscription whose delivery has failed this long (suspended, never refreshed) is
/// dropped with a `terminated` envelope: no TTL will ever clean it up otherwise.
const ABANDON_AFTER: chrono::Duration = chrono::Duration::days(3);

/// When a suspended subscription is given up: `None` while it has an expiry (the TTL ends it).
fn abandon_at(
    no_expiry: bool,
    failed_since: Option<chrono::DateTime<Utc>>,
) -> Option<chrono::DateTime<Utc>> {
    no_expiry.then(|| failed_since.unwrap_or_else(Utc::now) + ABANDON_AFTER)
}

/// An event waiting for its next attempt.
struct Retry {
    event: Event,
    attempts: usize,
    due: Instant,
}

/// The last hour's attempts, for the suspension rule: more than 95 % failed over at least 100
/// attempts (the design's guidance), so a blip does not suspend a healthy subscription and a
/// quiet one is not suspended on a handful of failures.
#[derive(Default)]
pub struct FailureRate {
    attempts: VecDeque<(Instant, bool)>,
}

impl FailureRate {
    const WINDOW: Duration = Duration::from_secs(3600);
    const MIN_ATTEMPTS: usize = 100;

    fn record(&mut self, ok: bool) {
        let now = Instant::now();
        self.attempts.push_back((now, ok));
        while let Some((at, _)) = self.attempts.front() {
            if now.duration_since(*at) <= Self::WINDOW {
                break;
            }
            self.attempts.pop_front();
        }
    }

    fn sustained(&self) -> bool {
        let n = self.attempts.len();
        let failed = self.attempts.iter().filter(|(_, ok)| !ok).count();
        n >= Self::MIN_ATTEMPTS && failed * 100 > n * 95
    }
}

/// The loop's state besides the subscription itself.
struct Delivery {
    webhooks: Arc<Webhooks>,
    store: Arc<dyn Store>,
    sub: Arc<Subscription>,
    selector: Selector,
    follow: Follow,
    pending: BTreeMap<i64, Retry>,
    rate: FailureRate,
    /// The receiver answered `410 Gone`: the subscription ends.
    gone: bool,
}

impl Delivery {
    /// Every matching event at or before this was accepted or abandoned.
    fn watermark(&self) -> i64 {
        match self.pending.keys().next() {
            Some(first) => (first - 1).min(self.follow.cursor()),
            None => self.follow.cursor(),
        }
    }

    /// One attempt at `event`. It is never among the pending retries while attempted, so the
    /// body's cursor is the watermark as it stands.
    async fn attempt(&mut self, event: &Event) -> Outcome {
        let body = deliver::event_body(event, &self.selector.name, self.watermark());
        let _room = self.webhooks.host_permit(&self.sub.url).await;
        let outcome = deliver::attempt(
            &self.webhooks.client,
            &self.sub.url,
            &self.sub.secrets(),
            &self.sub.id,
            &event_id(event),
            body,
        )
        .await;
        self.rate.record(outcome == Outcome::Accepted);
        match outcome.category() {
            None => self.sub.update(|s| {
                s.last_delivery_at = Some(Utc::now());
                s.last_error = None;
                s.failed_since = None;
            }),
            Some(reason) => {
                tracing::debug!(subscription = %self.sub.id, event = event.id, reason, "delivery failed");
                self.sub.update(|s| {
                    s.last_error = Some(reason);
                    s.failed_since.get_or_insert_with(Utc::now);
                });
            }
        }
        outcome
    }

    /// After attempt number `attempts` of `event` came to `outcome`: done, or queued again.
    fn settle(&mut self, event: Event, attempts: usize, outcome: Outcome) {
        let delays = &self.webhooks.retry_delays;
        match outcome {
            Outcome::Failed(_) if attempts <= delays.len() => {
                let due = Instant::now() + delays[attempts - 1];
                let id = event.id;
                self.pending.insert(
                    id,
                    Retry {
                        event,
                        attempts,
                        due,
                    },
                );
            }
            Outcome::Failed(reason) => {
                tracing::info!(subscription = %self.sub.id, event = event.id, reason,
                    attempts, "event abandoned after its last attempt");
            }
            Outcome::Gone => {
                tracing::info!(subscription = %self.sub.id, event = event.id,
                    "the receiver answered 410 Gone: the subscription ends");
                self.gone = true;
            }
            Outcome::Accepted | Outcome::Refused(_) => {}
        }
    }

    /// Retries every pending event that is due, oldest first.
    async fn retry_due(&mut self) {
        let now = Instant::now();
        let due: Vec<i64> = self
            .pending
            .iter()
            .filter(|(_, r)| r.due <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if self.sub.stop.is_cancelled() || !self.sub.status().active || self.gone {
                return;
            }
            let Some(retry) = self.pending.remove(&id) else {
                continue;
            };
            let outcome = self.attempt(&retry.event).await;
            self.settle(retry.event, retry.attempts + 1, outcome);
        }
    }

    /// Reads and delivers the next batch of new events; `false` when there were none.
    async fn deliver_new(&mut self) -> bool {
        if self.pending.len() >= MAX_PENDING {
            return false;
        }
        let events = match self.follow.next_batch().await {
            Ok(events) => events,
            Err(e) => {
                // Nothing moves: the same events are read again once the store answers.
                tracing::warn!(error = %storage(e), "webhook worker could not read the store");
                tokio::select! {
                    _ = tokio::time::sleep(STORE_RETRY) => {}
                    _ = self.sub.stop.cancelled() => {}
                }
                return true;
            }
        };
        let any = !events.is_empty();
        for event in events {
            if self.sub.stop.is_cancelled() || !self.sub.status().active || self.gone {
                break;
            }
            self.follow.handled(event.id);
            let outcome = self.attempt(&event).await;
            self.settle(event, 1, outcome);
            self.suspend_if_failing();
        }
        any
    }

    /// Suspends delivery on a sustained failure rate: pending events are dropped from memory, and
    /// delivery resumes from the watermark after a refresh.
    fn suspend_if_failing(&mut self) {
        if !self.rate.sustained() || !self.sub.status().active {
            return;
        }
        tracing::warn!(subscription = %self.sub.id, "delivery suspended: nearly every attempt in the last hour failed");
        let from = self.watermark();
        self.sub.update(|s| s.active = false);
        self.pending.clear();
        self.rate = FailureRate::default();
        self.follow = Follow::new(self.store.clone(), self.selector.after(from), from);
    }

    /// Delivery restarts from the watermark after a while (a refresh after suspension, a restart):
    /// if retention removed events after it meanwhile, the receiver gets a `gap` envelope with the
    /// fresh cursor, and delivery goes on from there. (As for `truncated`, any removed event
    /// counts: hookd cannot tell whether it would have matched.)
    async fn skip_gap(&mut self) {
        let from = self.watermark();
        let oldest = self
            .store
            .query(EventFilter::default(), Page::Oldest(1))
            .await;
        let Some(first) = oldest.ok().and_then(|e| e.into_iter().next()) else {
            return;
        };
        if first.id <= from + 1 {
            return;
        }
        let fresh = first.id - 1;
        let body = serde_json::json!({"type": "gap", "cursor": fresh.to_string()});
        tracing::info!(subscription = %self.sub.id, from, fresh, "events removed by retention were skipped");
        let secrets = self.sub.secrets();
        self.webhooks
            .control(&self.sub.url, &secrets, &self.sub.id, body)
            .await;
        self.pending.clear();
        self.follow = Follow::new(self.store.clone(), self.selector.after(fresh), fresh);
    }

    fn next_due(&self) -> Option<Instant> {
        self.pending.values().map(|r| r.due).min()
    }
}

/// Sends the subscription's events until it expires, is removed or hookd stops.
pub async fn run(
    webhooks: Arc<Webhooks>,
    store: Arc<dyn Store>,
    sub: Arc<Subscription>,
    selector: Selector,
    cursor: i64,
    resumed: bool,
) {
    let follow = Follow::new(store.clone(), selector.after(cursor), cursor);
    let mut d = Delivery {
        webhooks: webhooks.clone(),
        store,
        sub: sub.clone(),
        selector,
        follow,
        pending: BTreeMap::new(),
        rate: FailureRate::default(),
        gone: false,
    };
    if resumed {
        d.skip_gap().await;
    }
    let mut recorded = super::kept::progress(&sub.status());
    while !sub.stop.is_cancelled() && !sub.expired() {
        sub.update(|s| s.watermark = d.watermark());
        let now = super::kept::progress(&sub.status());
        if now != recorded {
            if !webhooks.record(d.store.as_ref(), &sub).await {
                tracing::info!(subscription = %sub.id, "another instance delivers this subscription now");
                break;
            }
            recorded = now;
        }
        if !sub.status().active {
            // Suspended: wait for a refresh (or the end).
            let give_up = abandon_at(sub.no_expiry(), sub.status().failed_since);
            tokio::select! {
                _ = sub.refreshed.notified() => {
                    d.skip_gap().await;
                    continue;
                }
                _ = async { match give_up {
                    Some(at) => tokio::time::sleep((at - Utc::now()).to_std().unwrap_or_default()).await,
                    None => std::future::pending().await,
                } } => {
                    let why = rmcp::ErrorData::new(
                        rmcp::model::ErrorCode(crate::mcp::events::CALLBACK_ENDPOINT_ERROR),
                        "delivery kept failing; the subscription was dropped",
                        Some(serde_json::json!({"reason": sub.status().last_error})),
                    );
                    webhooks.terminate(&d.store, &sub, why).await;
                    break;
                }
                _ = sub.until_expired() => break,
                _ = sub.stop.cancelled() => break,
            }
        }
        d.retry_due().await;
        d.suspend_if_failing();
        let more = d.deliver_new().await;
        if d.gone {
            webhooks.end(&d.store, &sub).await;
            return;
        }
        if more {
            continue;
        }
        sub.update(|s| s.watermark = d.watermark());
        let due = d.next_due();
        tokio::select! {
            _ = d.follow.changed() => {}
            _ = async { match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            } } => {}
            _ = sub.refreshed.notified() => {}
            _ = sub.until_expired() => break,
            _ = sub.stop.cancelled() => break,
        }
    }
    // Stopping (hookd shuts down): what was delivered since the last record is recorded, so a
    // restart does not send it again.
    sub.update(|s| s.watermark = d.watermark());
    if super::kept::progress(&sub.status()) != recorded {
        webhooks.record(d.store.as_ref(), &sub).await;
    }
    webhooks.forget(&sub);
}

#[cfg(test)]
mod tests {
    use super::{ABANDON_AFTER, FailureRate, abandon_at};

    #[test]
    fn only_no_expiry_subscriptions_are_given_up_three_days_after_failing() {
        let since = chrono::Utc::now() - chrono::Duration::hours(1);
        assert_eq!(
            abandon_at(false, Some(since)),
            None,
            "a TTL ends the others"
        );
        assert_eq!(abandon_at(true, Some(since)), Some(since + ABANDON_AFTER));
    }

    #[test]
    fn suspension_needs_a_sustained_rate_over_enough_attempts() {
        let mut r = FailureRate::default();
        for _ in 0..99 {
            r.record(false);
        }
        assert!(!r.sustained(), "99 attempts are too few to judge");
        r.record(false);
        assert!(r.sustained());
        let mut healthy = FailureRate::default();
        for i in 0..200 {
            healthy.record(i % 10 == 0);
        }
        assert!(!healthy.sustained(), "90 % failures is not above 95 %");
        let mut mostly = FailureRate::default();
        for i in 0..200 {
            mostly.record(i % 50 == 0);
        }
        assert!(mostly.sustained(), "98 % failures is");
    }
}
