//! `events/subscribe` with webhook delivery: hookd POSTs each matching event to the client's
//! callback URL, signed with Standard Webhooks using the client's `whsec_` secret.
//!
//! - Identity: a subscription is `(principal, url, name, arguments)`; its `id` is a hash of that.
//!   Subscribing again with the same key refreshes it (new TTL, new secret, reactivated); for a
//!   short while after a new secret, deliveries carry a signature with each (rotation).
//! - Intent: before the first subscription of a principal to a URL, hookd POSTs a signed
//!   `verification` envelope and delivers only if the endpoint echoes its challenge.
//! - Delivery: `worker` (one per subscription), the POST itself in `deliver`.
//! - Lifetime: subscriptions live in memory for the TTL granted (at most a day); a client that
//!   refreshes with its last cursor after a restart of hookd loses nothing. `ttlMs: null` is
//!   granted (no expiry): such a subscription is kept in the store with its progress and
//!   delivery resumes after a restart by itself (`kept`).
//! - Safety: callback URLs go through `outbound` (https, public addresses only unless
//!   `--allow-private-callbacks`, checked at connect time, no redirects).

mod deliver;
mod kept;
mod verify;
mod worker;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use rmcp::ErrorData;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{
    FORBIDDEN, NOT_FOUND, RESOURCE_EXHAUSTED, Selector, UNSUPPORTED, error, invalid, parse_cursor,
    start, storage,
};
use crate::mcp::Hookd;
use crate::secret::Secret;
use crate::time::format_time;

const DEFAULT_TTL: Duration = Duration::from_secs(3600);
const MIN_TTL: Duration = Duration::from_secs(60);
const MAX_TTL: Duration = Duration::from_secs(86_400);
const MAX_SUBSCRIPTIONS: usize = 1000;
/// How long deliveries are signed with the previous secret too after a refresh changed it.
const ROTATION_GRACE: Duration = Duration::from_secs(300);
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

/// What the client sees in `deliveryStatus`; never the endpoint's own words.
#[derive(Debug, Clone, Default)]
struct Status {
    active: bool,
    last_delivery_at: Option<DateTime<Utc>>,
    last_error: Option<&'static str>,
    failed_since: Option<DateTime<Utc>>,
    /// The delivery watermark: every matching event at or before it was accepted or abandoned.
    watermark: i64,
}

/// The secret deliveries are signed with, and the one it replaced while its grace lasts.
struct Secrets {
    current: Secret,
    previous: Option<(Secret, tokio::time::Instant)>,
}

struct Subscription {
    id: String,
    /// The key's other parts, kept with a no-expiry subscription.
    principal: String,
    name: String,
    arguments: Option<Value>,
    url: reqwest::Url,
    secrets: Mutex<Secrets>,
    /// `None`: no expiry (kept in the store).
    expires: Mutex<Option<DateTime<Utc>>>,
    status: Mutex<Status>,
    /// Wakes the worker after a refresh (reactivation, new expiry).
    refreshed: Notify,
    stop: CancellationToken,
    /// Saved in the store (no expiry): progress is written there as delivery moves.
    kept: std::sync::atomic::AtomicBool,
}

impl Subscription {
    fn expired(&self) -> bool {
        self.expires
            .lock()
            .map(|e| e.is_some_and(|at| Utc::now() >= at))
            .unwrap_or(true)
    }

    fn no_expiry(&self) -> bool {
        self.expires.lock().is_ok_and(|e| e.is_none())
    }

    /// The secrets to sign with now: the current one, and the previous one during its grace.
    fn secrets(&self) -> Vec<Secret> {
        let Ok(s) = self.secrets.lock() else {
            return Vec::new();
        };
        let mut all = vec![s.current.clone()];
        if let Some((old, until)) = &s.previous
            && tokio::time::Instant::now() < *until
        {
            all.push(old.clone());
        }
        all
    }

    fn rotate(&self, secret: Secret) {
        if let Ok(mut s) = self.secrets.lock()
            && s.current != secret
        {
            let old = std::mem::replace(&mut s.current, secret);
            s.previous = Some((old, tokio::time::Instant::now() + ROTATION_GRACE));
        }
    }

    async fn until_expired(&self) {
        let at = self
            .expires
            .lock()
            .map(|e| *e)
            .unwrap_or_else(|_| Some(Utc::now()));
        match at {
            Some(at) => tokio::time::sleep((at - Utc::now()).to_std().unwrap_or_default()).await,
            None => std::future::pending().await,
        }
    }

    fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }
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
}

/// JSON with object keys sorted, so equal arguments hash equally.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

fn subscription_id(principal: &str, url: &str, name: &str, arguments: Option<&Value>) -> String {
    let mut h = Sha256::new();
    for part in [
        principal,
        url,
        name,
        &canonical(arguments.unwrap_or(&Value::Null)),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("sub_{}", &hex::encode(h.finalize())[..16])
}

/// A Standard Webhooks secret: `whsec_` and the base64 of 24 to 64 bytes.
fn check_secret(secret: Option<&str>) -> Result<Secret, ErrorData> {
    let secret = secret.ok_or_else(|| invalid("delivery.secret is required (a whsec_ secret)"))?;
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .ok_or_else(|| invalid("delivery.secret must be whsec_ followed by base64"))?;
    if !(24..=64).contains(&key.len()) {
        return Err(invalid("delivery.secret must encode 24 to 64 random bytes"));
    }
    Ok(Secret::new(secret))
}

/// The lifetime granted: `None` (no expiry) when the client asked for none (`ttlMs: null`).
fn ttl(requested: Option<Option<u64>>) -> Option<Duration> {
    match requested {
        None => Some(DEFAULT_TTL),
        Some(None) => None,
        Some(Some(ms)) => Some(Duration::from_millis(ms).clamp(MIN_TTL, MAX_TTL)),
    }
}

impl Webhooks {
    pub fn new(
        allow_private: bool,
        retry_delays: Vec<Duration>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
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
        tokio::spawn(worker::run(
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
        let principal = hookd.principal.clone().ok_or_else(|| {
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
            self.keep_or_forget(hookd, &existing).await?;
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
        if self.subscriptions.lock().map(|s| s.len()).unwrap_or(0) >= MAX_SUBSCRIPTIONS {
            return Err(error(
                RESOURCE_EXHAUSTED,
                "too many webhook subscriptions",
                Some(json!({"limit": "subscriptions", "max": MAX_SUBSCRIPTIONS})),
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
            kept: Default::default(),
        });
        self.keep_or_forget(hookd, &sub).await?;
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
        let principal = hookd.principal.clone().ok_or_else(|| {
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
        let id = subscription_id(&principal, url.as_str(), &p.name, p.arguments.as_ref());
        let local = self.remove(&id);
        if let Some(sub) = &local {
            sub.stop.cancel();
        }
        // A no-expiry subscription may be delivered by another instance sharing the store.
        let kept = hookd
            .store
            .drop_subscription(id.clone())
            .await
            .map_err(storage)?;
        match local.is_some() || kept {
            true => Ok(json!({})),
            false => Err(error(
                NOT_FOUND,
                "no such subscription",
                Some(json!({"kind": "subscription"})),
            )),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_every_part_of_the_key_but_not_on_key_order() {
        let a = json!({"type": "push", "where": {"payload.a": 1}});
        let b = json!({"where": {"payload.a": 1}, "type": "push"});
        let id = subscription_id("p", "https://x/", "github", Some(&a));
        assert_eq!(id, subscription_id("p", "https://x/", "github", Some(&b)));
        assert_ne!(id, subscription_id("q", "https://x/", "github", Some(&a)));
        assert_ne!(id, subscription_id("p", "https://y/", "github", Some(&a)));
        assert_ne!(id, subscription_id("p", "https://x/", "any", Some(&a)));
        assert_ne!(id, subscription_id("p", "https://x/", "github", None));
        assert!(id.starts_with("sub_") && id.len() == 20);
    }

    #[test]
    fn secrets_must_be_standard_webhooks_secrets() {
        let ok = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        );
        assert!(check_secret(Some(&ok)).is_ok());
        let short = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode([7u8; 8])
        );
        for bad in [
            None,
            Some("hunter2"),
            Some("whsec_!!!"),
            Some(short.as_str()),
        ] {
            assert!(check_secret(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ttls_are_clamped_and_null_is_no_expiry() {
        assert_eq!(ttl(None), Some(DEFAULT_TTL));
        assert_eq!(ttl(Some(None)), None);
        assert_eq!(ttl(Some(Some(1))), Some(MIN_TTL));
        assert_eq!(ttl(Some(Some(u64::MAX))), Some(MAX_TTL));
        assert_eq!(ttl(Some(Some(600_000))), Some(Duration::from_secs(600)));
    }
}
