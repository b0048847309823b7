//! `events/subscribe` with webhook delivery: hookd POSTs each matching event to the client's
//! callback URL, signed with Standard Webhooks using the client's `whsec_` secret.
//!
//! - Identity: a subscription is `(principal, url, name, arguments)`; its `id` is a hash of that.
//!   Subscribing again with the same key refreshes it (new TTL, new secret, reactivated); for a
//!   short while after a new secret, deliveries carry a signature with each (rotation).
//! - Intent: before the first subscription of a principal to a URL, hookd POSTs a signed
//!   `verification` envelope and delivers only if the endpoint echoes its challenge.
//! - Delivery: `worker` (one per subscription), the POST itself in `deliver`.
//! - Lifetime: the TTL granted (at most a day), or none for `ttlMs: null`. Every subscription is
//!   kept in the store with its progress until it lapses (`kept`), as ChatGPT's guide asks:
//!   delivery resumes after a restart by itself, and another instance sharing the store takes it
//!   over. A receiver answering `410 Gone` ends it.
//! - Safety: callback URLs go through `outbound` (https, public addresses only unless
//!   `--allow-private-callbacks`, checked at connect time, no redirects).

mod deliver;
mod kept;
mod key;
mod subscription;
mod verify;
mod worker;

use key::{check_secret, subscription_id, ttl};
use subscription::{Secrets, Status, Subscription};

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rmcp::ErrorData;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{
    FORBIDDEN, RESOURCE_EXHAUSTED, Selector, UNSUPPORTED, error, invalid, parse_cursor, start,
    storage,
};
use crate::mcp::Hookd;
use crate::secret::Secret;
use crate::time::format_time;

const MAX_SUBSCRIPTIONS: usize = 1000;
/// One credential's share of them, so that one client cannot take them all.
const MAX_PER_CREDENTIAL: usize = MAX_SUBSCRIPTIONS / 4;
/// Deliveries in flight to one host at most, across all subscriptions.
const PER_HOST_DELIVERIES: usize = 8;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribeParams {
    #[serde(flatten)]
    start: super::Start,
    delivery: DeliveryParams,
    /// Absent: the default TTL; `null`: no expiry asked (hookd grants its longest).
    #[serde(default, deserialize_with = "present")]
    ttl_ms: Option<Option<u64>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
struct DeliveryParams {
    mode: Option<String>,
    url: String,
    secret: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UnsubscribeParams {
    name: String,
    arguments: Option<Value>,
    delivery: DeliveryParams,
}

/// Every webhook subscription of this hookd, shared by all sessions.
pub struct Webhooks {
    subscriptions: Mutex<HashMap<String, Arc<Subscription>>>,
    verified: Mutex<HashSet<(String, String)>>,
    client: reqwest::Client,
    allow_private: bool,
    shutdown: CancellationToken,
    /// The waits between attempts to deliver one event (`--callback-retries`); one more attempt
    /// than there are waits.
    retry_delays: Vec<Duration>,
    /// This instance, as the holder of kept subscriptions' leases.
    owner: String,
    verifier: verify::Verifier,
    /// Per destination host, the deliveries that may be in flight.
    hosts: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
    /// How the errors in `terminated` messages are numbered.
    codes: crate::config::EventsErrorCodes,
    /// Every subscription's delivery loop, so that shutdown lets them record where they got
    /// before the leases are given up.
    workers: tokio_util::task::TaskTracker,
}

impl Webhooks {
    pub fn new(
        allow_private: bool,
        retry_delays: Vec<Duration>,
        codes: crate::config::EventsErrorCodes,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            codes,
            workers: tokio_util::task::TaskTracker::new(),
            subscriptions: Mutex::default(),
            verified: Mutex::default(),
            client: crate::outbound::callback_client(allow_private),
            allow_private,
            shutdown,
            retry_delays,
            owner: format!("hookd-{}", hex::encode(rand_bytes())),
            verifier: Default::default(),
            hosts: Mutex::default(),
        }
    }

    /// POSTs a control envelope (`{"type": kind, …}`, `webhook-id` `msg_<kind>_<random>`), once.
    async fn control(
        &self,
        url: &reqwest::Url,
        secrets: &[Secret],
        subscription: &str,
        body: Value,
    ) -> deliver::Outcome {
        let kind = body["type"].as_str().unwrap_or("control").to_owned();
        let _room = self.host_permit(url).await;
        let outcome = deliver::attempt(
            &self.client,
            url,
            secrets,
            subscription,
            &deliver::control_id(&kind),
            body.to_string().into_bytes(),
        )
        .await;
        tracing::info!(subscription, kind, ?outcome, "control envelope sent");
        outcome
    }

    /// Waits for room to deliver to `url`'s host (at most `PER_HOST_DELIVERIES` at once).
    async fn host_permit(&self, url: &reqwest::Url) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let room = {
            let mut hosts = self.hosts.lock().ok()?;
            // Forget hosts with nothing in flight (a permit holds its semaphore).
            hosts.retain(|_, s| Arc::strong_count(s) > 1);
            hosts
                .entry(host)
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(PER_HOST_DELIVERIES)))
                .clone()
        };
        room.acquire_owned().await.ok()
    }

    /// Drops an ended subscription (unless a newer one already took its place).
    fn forget(&self, sub: &Arc<Subscription>) {
        if let Ok(mut subs) = self.subscriptions.lock()
            && subs.get(&sub.id).is_some_and(|s| Arc::ptr_eq(s, sub))
        {
            subs.remove(&sub.id);
        }
    }

    /// Registers `sub` and starts delivering it from `from` (`resumed`: a kept subscription taken
    /// up again, which first checks for a gap).
    fn run(
        &self,
        hookd: &Hookd,
        sub: Arc<Subscription>,
        selector: Selector,
        from: i64,
        resumed: bool,
    ) {
        if let Ok(mut subs) = self.subscriptions.lock()
            && let Some(old) = subs.insert(sub.id.clone(), sub.clone())
        {
            old.stop.cancel();
        }
        self.workers.spawn(worker::run(
            hookd.webhooks.clone(),
            hookd.store.clone(),
            sub,
            selector,
            from,
            resumed,
        ));
    }

    fn get(&self, id: &str) -> Option<Arc<Subscription>> {
        self.subscriptions.lock().ok()?.get(id).cloned()
    }

    fn remove(&self, id: &str) -> Option<Arc<Subscription>> {
        self.subscriptions.lock().ok()?.remove(id)
    }

    pub async fn subscribe(&self, hookd: &Hookd, params: Value) -> Result<Value, ErrorData> {
        let principal = hookd.caller().ok_or_else(|| {
            error(
                FORBIDDEN,
                "events/subscribe needs an authenticated client: start hookd with HOOKD_MCP_TOKEN, or use stdio",
                None,
            )
        })?;
        let p: SubscribeParams = serde_json::from_value(params)
            .map_err(|e| invalid(format!("events/subscribe params: {e}")))?;
        if let Some(mode) = p.delivery.mode.as_deref().filter(|m| *m != "webhook") {
            return Err(error(
                UNSUPPORTED,
                format!("events/subscribe delivers by webhook only, not {mode:?}"),
                Some(json!({"feature": "deliveryMode", "value": mode})),
            ));
        }
        let url = crate::outbound::check_callback_url(&p.delivery.url, self.allow_private)
            .map_err(invalid)?;
        let secret = check_secret(p.delivery.secret.as_deref())?;
        let s = &p.start;
        let selector = Selector::parse(hookd, &s.name, s.arguments.as_ref()).await?;
        let id = subscription_id(&principal, url.as_str(), &s.name, s.arguments.as_ref());
        let expires = ttl(p.ttl_ms).map(|t| Utc::now() + t);

        if let Some(existing) = self.get(&id).filter(|s| !s.expired()) {
            // A refresh: new secret and expiry, delivery resumed.
            existing.rotate(secret);
            if let Ok(mut e) = existing.expires.lock() {
                *e = expires;
            }
            let before = existing.status();
            existing.update(|s| s.active = true);
            self.keep(hookd, &existing).await?;
            existing.refreshed.notify_one();
            return Ok(json!({
                "id": id,
                "refreshBefore": expires.map(format_time),
                "cursor": before.watermark.to_string(),
                "truncated": false,
                "deliveryStatus": {
                    "active": before.active,
                    "lastDeliveryAt": before.last_delivery_at.map(format_time),
                    "lastError": before.last_error,
                    "failedSince": before.failed_since.map(format_time),
                },
            }));
        }
        let (all, mine) = self.subscriptions.lock().map_or((0, 0), |s| {
            let mine = s.values().filter(|sub| sub.principal == principal).count();
            (s.len(), mine)
        });
        if all >= MAX_SUBSCRIPTIONS {
            return Err(error(
                RESOURCE_EXHAUSTED,
                "too many webhook subscriptions",
                Some(json!({"limit": "subscriptions", "max": MAX_SUBSCRIPTIONS})),
            ));
        }
        if mine >= MAX_PER_CREDENTIAL {
            return Err(error(
                RESOURCE_EXHAUSTED,
                format!(
                    "this credential has {MAX_PER_CREDENTIAL} webhook subscriptions, its share of \
                     the {MAX_SUBSCRIPTIONS}; unsubscribe one first"
                ),
                Some(json!({"limit": "subscriptionsPerCredential", "max": MAX_PER_CREDENTIAL})),
            ));
        }
        self.verify_endpoint(&principal, &url, &secret, &id).await?;
        let (from, truncated) =
            start(hookd, &selector, parse_cursor(&s.cursor)?, s.max_age_ms).await?;
        let sub = Arc::new(Subscription {
            id: id.clone(),
            principal,
            name: s.name.clone(),
            arguments: s.arguments.clone(),
            url,
            secrets: Mutex::new(Secrets {
                current: secret,
                previous: None,
            }),
            expires: Mutex::new(expires),
            status: Mutex::new(Status {
                active: true,
                watermark: from,
                ..Status::default()
            }),
            refreshed: Notify::new(),
            stop: self.shutdown.child_token(),
        });
        self.keep(hookd, &sub).await?;
        tracing::info!(subscription = %id, host = sub.url.host_str().unwrap_or("-"), name = %sub.name,
            expires = %expires.map_or("never".into(), format_time), "webhook subscription created");
        self.run(hookd, sub, selector, from, false);
        Ok(json!({
            "id": id,
            "refreshBefore": expires.map(format_time),
            "cursor": from.to_string(),
            "truncated": truncated,
        }))
    }

    pub async fn unsubscribe(&self, hookd: &Hookd, params: Value) -> Result<Value, ErrorData> {
        let principal = hookd.caller().ok_or_else(|| {
            error(
                FORBIDDEN,
                "events/unsubscribe needs an authenticated client",
                None,
            )
        })?;
        let p: UnsubscribeParams = serde_json::from_value(params)
            .map_err(|e| invalid(format!("events/unsubscribe params: {e}")))?;
        let url = reqwest::Url::parse(&p.delivery.url)
            .map_err(|e| invalid(format!("delivery.url: {e}")))?;
        // The id is derived from the caller's own principal, so only its own subscription can be
        // named: whether another credential has one is never touched nor told.
        let id = subscription_id(&principal, url.as_str(), &p.name, p.arguments.as_ref());
        if let Some(sub) = self.remove(&id) {
            sub.stop.cancel();
        }
        // The subscription may be delivered by another instance sharing the store.
        hookd
            .store
            .drop_subscription(id.clone())
            .await
            .map_err(storage)?;
        // Idempotent, as ChatGPT's guide asks: a client retrying after a lost answer, or
        // unsubscribing what already expired, succeeds.
        Ok(json!({}))
    }
}

/// A fresh random nonce.
fn rand_bytes() -> [u8; 16] {
    let mut out = [0u8; 16];
    // The OS random source does not fail on the platforms hookd runs on; a zero nonce would
    // only make one handshake guessable, never skip it.
    let _ = getrandom::fill(&mut out);
    out
}
