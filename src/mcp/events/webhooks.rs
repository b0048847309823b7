//! `events/subscribe` with webhook delivery: hookd POSTs each matching event to the client's
//! callback URL, signed with Standard Webhooks using the client's `whsec_` secret.
//!
//! - Identity: a subscription is `(principal, url, name, arguments)`; its `id` is a hash of that.
//!   Subscribing again with the same key refreshes it (new TTL, new secret, reactivated).
//! - Intent: before the first subscription of a principal to a URL, hookd POSTs a signed
//!   `verification` envelope and delivers only if the endpoint echoes its challenge.
//! - Delivery: one worker per subscription sends events in order, each retried with exponential
//!   backoff; the body's `cursor` is that event's id, so everything before it was acknowledged.
//!   After the last retry fails, delivery is suspended (the event is kept) until a refresh.
//! - Lifetime: subscriptions live in memory for the TTL granted (at most a day); a client that
//!   refreshes with its last cursor after a restart of hookd loses nothing.
//! - Safety: callback URLs go through `outbound` (https, public addresses only unless
//!   `--allow-private-callbacks`, checked at connect time, no redirects).

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
    CALLBACK_ENDPOINT_ERROR, FORBIDDEN, NOT_FOUND, RESOURCE_EXHAUSTED, Selector, UNSUPPORTED,
    error, event_id, invalid, occurrence, parse_cursor, start, storage,
};
use crate::event::Event;
use crate::mcp::Hookd;
use crate::secret::Secret;
use crate::signature::{ToSign, standard};
use crate::time::format_time;

const DEFAULT_TTL: Duration = Duration::from_secs(3600);
const MIN_TTL: Duration = Duration::from_secs(60);
const MAX_TTL: Duration = Duration::from_secs(86_400);
const MAX_SUBSCRIPTIONS: usize = 1000;
/// Attempts per event before delivery is suspended: 1 s, 2 s, 4 s … between them (capped).
const ATTEMPTS: u32 = 8;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

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
}

struct Subscription {
    id: String,
    url: reqwest::Url,
    secret: Mutex<Secret>,
    expires: Mutex<DateTime<Utc>>,
    status: Mutex<Status>,
    /// Wakes the worker after a refresh (reactivation, new expiry).
    refreshed: Notify,
    stop: CancellationToken,
}

impl Subscription {
    fn expired(&self) -> bool {
        self.expires
            .lock()
            .map(|e| Utc::now() >= *e)
            .unwrap_or(true)
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
}

/// Why a delivery failed, as the extension's categories.
fn category(e: &reqwest::Error) -> &'static str {
    let chain = format!("{e:?}").to_ascii_lowercase();
    if e.is_timeout() {
        "timeout"
    } else if chain.contains("tls") || chain.contains("certificate") {
        "tls_error"
    } else {
        "connection_refused"
    }
}

fn status_category(code: reqwest::StatusCode) -> &'static str {
    if code.is_client_error() {
        "http_4xx"
    } else {
        "http_5xx"
    }
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

fn ttl(requested: Option<Option<u64>>) -> Duration {
    match requested {
        None => DEFAULT_TTL,
        Some(None) => MAX_TTL,
        Some(Some(ms)) => Duration::from_millis(ms).clamp(MIN_TTL, MAX_TTL),
    }
}

impl Webhooks {
    pub fn new(allow_private: bool, shutdown: CancellationToken) -> Self {
        Self {
            subscriptions: Mutex::default(),
            verified: Mutex::default(),
            client: crate::outbound::callback_client(allow_private),
            allow_private,
            shutdown,
        }
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
        let expires = Utc::now() + ttl(p.ttl_ms);

        if let Some(existing) = self.get(&id).filter(|s| !s.expired()) {
            // A refresh: new secret and expiry, delivery resumed.
            if let Ok(mut s) = existing.secret.lock() {
                *s = secret;
            }
            if let Ok(mut e) = existing.expires.lock() {
                *e = expires;
            }
            let before = existing.status();
            existing.update(|s| s.active = true);
            existing.refreshed.notify_one();
            return Ok(json!({
                "id": id,
                "refreshBefore": format_time(expires),
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
            url,
            secret: Mutex::new(secret),
            expires: Mutex::new(expires),
            status: Mutex::new(Status {
                active: true,
                ..Status::default()
            }),
            refreshed: Notify::new(),
            stop: self.shutdown.child_token(),
        });
        if let Ok(mut subs) = self.subscriptions.lock()
            && let Some(old) = subs.insert(id.clone(), sub.clone())
        {
            old.stop.cancel();
        }
        tokio::spawn(worker(
            hookd.webhooks.clone(),
            hookd.store.clone(),
            sub,
            selector,
            from,
        ));
        Ok(json!({"id": id, "refreshBefore": format_time(expires), "truncated": truncated}))
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
        match self.remove(&id) {
            Some(sub) => {
                sub.stop.cancel();
                Ok(json!({}))
            }
            None => Err(error(
                NOT_FOUND,
                "no such subscription",
                Some(json!({"kind": "subscription"})),
            )),
        }
    }

    /// The verification handshake, once per (principal, url).
    async fn verify_endpoint(
        &self,
        principal: &str,
        url: &reqwest::Url,
        secret: &Secret,
        id: &str,
    ) -> Result<(), ErrorData> {
        let key = (principal.to_owned(), url.to_string());
        if self.verified.lock().is_ok_and(|v| v.contains(&key)) {
            return Ok(());
        }
        let challenge = hex::encode(rand_bytes());
        let body = json!({"type": "verification", "challenge": challenge}).to_string();
        let msg_id = format!("msg_verification_{}", &challenge[..16]);
        let failed = |reason: &'static str| {
            error(
                CALLBACK_ENDPOINT_ERROR,
                format!("the callback endpoint did not confirm the subscription ({reason})"),
                Some(json!({"reason": reason})),
            )
        };
        let resp = self
            .post(url, secret, id, &msg_id, body.into_bytes())
            .await
            .map_err(|e| failed(category(&e)))?;
        if !resp.status().is_success() {
            return Err(failed(status_category(resp.status())));
        }
        let body = resp.bytes().await.map_err(|e| failed(category(&e)))?;
        let echoed: Value =
            serde_json::from_slice(&body).map_err(|_| failed("challenge_failed"))?;
        let echoed = echoed["challenge"].as_str().unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            echoed.as_bytes(),
            challenge.as_bytes(),
        )) {
            return Err(failed("challenge_failed"));
        }
        if let Ok(mut v) = self.verified.lock() {
            v.insert(key);
        }
        Ok(())
    }

    /// One signed POST: Standard Webhooks headers plus `X-MCP-Subscription-Id`.
    async fn post(
        &self,
        url: &reqwest::Url,
        secret: &Secret,
        id: &str,
        msg_id: &str,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let headers = standard::sign(
            secret,
            &ToSign {
                body: &body,
                now: Utc::now().timestamp(),
                delivery_id: msg_id,
            },
        );
        let mut req = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("x-mcp-subscription-id", id);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.body(body).send().await
    }

    /// Delivers one event, retrying with backoff. `false` when every attempt failed (or the
    /// subscription ended meanwhile).
    async fn deliver(&self, sub: &Subscription, event: &Event, name: &str) -> bool {
        let body = occurrence(event, name).to_string().into_bytes();
        let msg_id = event_id(event);
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            let secret = match sub.secret.lock() {
                Ok(s) => s.clone(),
                Err(_) => return false,
            };
            let outcome = match self
                .post(&sub.url, &secret, &sub.id, &msg_id, body.clone())
                .await
            {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(status_category(r.status())),
                Err(e) => Some(category(&e)),
            };
            match outcome {
                None => {
                    sub.update(|s| {
                        s.last_delivery_at = Some(Utc::now());
                        s.last_error = None;
                        s.failed_since = None;
                    });
                    return true;
                }
                Some(reason) => {
                    tracing::debug!(subscription = %sub.id, attempt, reason, "event delivery failed");
                    sub.update(|s| {
                        s.last_error = Some(reason);
                        s.failed_since.get_or_insert_with(Utc::now);
                    });
                }
            }
            if attempt < ATTEMPTS {
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = sub.stop.cancelled() => return false,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        false
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

/// How long a worker waits before reading the store again after it could not.
const STORE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Sends the subscription's events in order until it expires, is removed or hookd stops.
async fn worker(
    webhooks: Arc<Webhooks>,
    store: Arc<dyn crate::store::Store>,
    sub: Arc<Subscription>,
    selector: Selector,
    cursor: i64,
) {
    let mut follow = crate::wait::Follow::new(store, selector.after(cursor), cursor);
    while !sub.stop.is_cancelled() && !sub.expired() {
        if !sub.status().active {
            // Suspended after failures: wait for a refresh (or the end).
            tokio::select! {
                _ = sub.refreshed.notified() => continue,
                _ = until_expired(&sub) => break,
                _ = sub.stop.cancelled() => break,
            }
        }
        let events = match follow.next_batch().await {
            Ok(events) => events,
            Err(e) => {
                // Nothing moves: the same events are read again once the store answers.
                tracing::warn!(error = %storage(e), "webhook worker could not read the store");
                tokio::select! {
                    _ = tokio::time::sleep(STORE_RETRY) => continue,
                    _ = sub.stop.cancelled() => break,
                }
            }
        };
        for e in &events {
            if !webhooks.deliver(&sub, e, &selector.name).await {
                sub.update(|s| s.active = false);
                break;
            }
            follow.handled(e.id);
        }
        if !events.is_empty() {
            continue;
        }
        tokio::select! {
            _ = follow.changed() => {}
            _ = sub.refreshed.notified() => {}
            _ = until_expired(&sub) => break,
            _ = sub.stop.cancelled() => break,
        }
    }
    // Expired or stopped: forget it (unless a newer subscription already took its place).
    if let Ok(mut subs) = webhooks.subscriptions.lock()
        && subs.get(&sub.id).is_some_and(|s| Arc::ptr_eq(s, &sub))
    {
        subs.remove(&sub.id);
    }
}

async fn until_expired(sub: &Subscription) {
    let at = sub
        .expires
        .lock()
        .map(|e| *e)
        .unwrap_or_else(|_| Utc::now());
    let left = (at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left).await;
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
    fn ttls_are_clamped_and_never_unlimited() {
        assert_eq!(ttl(None), DEFAULT_TTL);
        assert_eq!(ttl(Some(None)), MAX_TTL);
        assert_eq!(ttl(Some(Some(1))), MIN_TTL);
        assert_eq!(ttl(Some(Some(u64::MAX))), MAX_TTL);
        assert_eq!(ttl(Some(Some(600_000))), Duration::from_secs(600));
    }
}
