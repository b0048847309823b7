//! Subscriptions kept in the store (every one, with its granted lifetime; `ttlMs: null` ones
//! without an end): saved when granted and at each refresh (only after the endpoint was verified,
//! so the record is its verification), their progress written as delivery moves, and taken up
//! again after a restart, or by another instance sharing the store when the one delivering stops
//! renewing its lease. Those whose lifetime ended are forgotten there as leases are renewed.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rmcp::ErrorData;
use serde_json::Value;
use tokio::sync::Notify;

use super::{Secrets, Status, Subscription, Webhooks};
use crate::mcp::Hookd;
use crate::mcp::events::{Selector, storage};
use crate::store::{Progress, SavedSubscription};

/// How long a lease lasts without renewal; renewed (and lapsed ones taken) every third of it.
const LEASE: Duration = Duration::from_secs(15);

/// How long shutdown waits for the delivery loops to stop and record their progress.
const STOPPING: Duration = Duration::from_secs(3);

fn lease_until() -> chrono::DateTime<Utc> {
    Utc::now() + LEASE
}

/// What the store keeps of a subscription's status.
pub fn progress(s: &Status) -> Progress {
    Progress {
        cursor: s.watermark,
        active: s.active,
        last_error: s.last_error.map(str::to_owned),
        failed_since: s.failed_since,
        last_delivery_at: s.last_delivery_at,
    }
}

/// A `lastError` read back from the store, as one of the categories.
fn category(stored: Option<&str>) -> Option<&'static str> {
    stored.and_then(|s| super::deliver::CATEGORIES.into_iter().find(|c| *c == s))
}

impl Webhooks {
    /// Saves `sub` (or replaces its saved copy, at a refresh), held by this instance.
    pub(super) async fn keep(
        &self,
        hookd: &Hookd,
        sub: &Arc<Subscription>,
    ) -> Result<(), ErrorData> {
        let saved = SavedSubscription {
            id: sub.id.clone(),
            principal: sub.principal.clone(),
            url: sub.url.to_string(),
            name: sub.name.clone(),
            arguments: sub.arguments.as_ref().map(Value::to_string),
            secret: sub
                .secrets
                .lock()
                .map_or_else(|_| crate::secret::Secret::new(""), |s| s.current.clone()),
            expires: sub.expires.lock().ok().and_then(|e| *e),
            progress: progress(&sub.status()),
        };
        hookd
            .store
            .save_subscription(saved, self.owner.clone(), lease_until())
            .await
            .map_err(storage)?;
        Ok(())
    }

    /// Writes a subscription's progress; `false` when this instance no longer holds it.
    pub(super) async fn record(&self, store: &dyn crate::store::Store, sub: &Subscription) -> bool {
        let written = store
            .subscription_progress(
                sub.id.clone(),
                self.owner.clone(),
                lease_until(),
                progress(&sub.status()),
            )
            .await;
        match written {
            Ok(held) => held,
            Err(e) => {
                // Delivery goes on; the next write records where it got.
                tracing::warn!(error = %storage(e), subscription = %sub.id, "could not record delivery progress");
                true
            }
        }
    }

    /// Delivers the kept subscriptions this instance can take, until hookd stops: every third of
    /// a lease it renews its own and takes lapsed ones (after a restart, its own from before, or
    /// those of an instance that stopped); at shutdown it gives its leases up.
    pub async fn deliver_kept(self: Arc<Self>, hookd: Hookd) {
        loop {
            match hookd
                .store
                .claim_subscriptions(self.owner.clone(), lease_until())
                .await
            {
                Ok(held) => self.take_up(&hookd, held).await,
                Err(e) => tracing::warn!(error = %storage(e), "could not renew kept subscriptions"),
            }
            tokio::select! {
                _ = tokio::time::sleep(LEASE / 3) => {}
                _ = self.shutdown.cancelled() => break,
            }
        }
        // The delivery loops record their last progress as they stop (while this instance still
        // holds the leases), so that a restart neither skips nor repeats an event. Bounded: a
        // POST in flight ends within the callback client's timeout, or is left to be sent again.
        self.workers.close();
        let _ = tokio::time::timeout(STOPPING, self.workers.wait()).await;
        if let Err(e) = hookd.store.release_subscriptions(self.owner.clone()).await {
            tracing::warn!(error = %storage(e), "could not release kept subscriptions");
        }
    }

    /// Starts delivering each held subscription not already running here, and stops those that
    /// are no longer held (dropped, lapsed, or taken over).
    async fn take_up(&self, hookd: &Hookd, held: Vec<SavedSubscription>) {
        let running: Vec<Arc<Subscription>> = self
            .subscriptions
            .lock()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default();
        for sub in &running {
            if !held.iter().any(|h| h.id == sub.id) {
                sub.stop.cancel();
                self.forget(sub);
            }
        }
        for saved in held {
            if running.iter().any(|s| s.id == saved.id) {
                continue;
            }
            let id = saved.id.clone();
            let (url, secret) = (saved.url.clone(), saved.secret.clone());
            if let Err(why) = self.resume(hookd, saved).await {
                tracing::warn!(subscription = %id, why = %why.message, "a kept subscription cannot resume; terminated");
                self.terminated(&url, secret, &id, why).await;
                let _ = hookd.store.drop_subscription(id).await;
            }
        }
    }

    /// Ends a subscription from hookd's side: a `terminated` envelope, then it is forgotten here
    /// and in the store.
    pub(super) async fn terminate(
        &self,
        store: &Arc<dyn crate::store::Store>,
        sub: &Arc<Subscription>,
        why: ErrorData,
    ) {
        let secret = sub.secrets().into_iter().next();
        if let Some(secret) = secret {
            self.terminated(sub.url.as_str(), secret, &sub.id, why)
                .await;
        }
        self.end(store, sub).await;
    }

    /// Forgets a subscription here and in the store (it ended: the receiver said it is gone, or
    /// hookd gave it up).
    pub(super) async fn end(&self, store: &Arc<dyn crate::store::Store>, sub: &Arc<Subscription>) {
        if let Err(e) = store.drop_subscription(sub.id.clone()).await {
            // It lapses by its expiry, or is taken up again and ends the same way.
            tracing::warn!(error = %storage(e), subscription = %sub.id, "could not forget an ended subscription");
        }
        sub.stop.cancel();
        self.forget(sub);
    }

    /// Tells the receiver a subscription ended (a `terminated` envelope; one attempt).
    async fn terminated(&self, url: &str, secret: crate::secret::Secret, id: &str, why: ErrorData) {
        if let Ok(url) = reqwest::Url::parse(url) {
            let why = crate::mcp::events::numbered(why, self.codes);
            let body = serde_json::json!({"type": "terminated", "error": why});
            self.control(&url, &[secret], id, body).await;
        }
    }

    /// Resumes delivery of a kept subscription from its stored watermark; the reason it cannot,
    /// as the error a `terminated` envelope carries.
    async fn resume(&self, hookd: &Hookd, saved: SavedSubscription) -> Result<(), ErrorData> {
        let unreadable = |e: String| {
            ErrorData::internal_error(format!("the kept subscription is unreadable: {e}"), None)
        };
        let arguments: Option<Value> = match &saved.arguments {
            Some(text) => Some(serde_json::from_str(text).map_err(|e| unreadable(e.to_string()))?),
            None => None,
        };
        let selector = Selector::parse(hookd, &saved.name, arguments.as_ref()).await?;
        let url = reqwest::Url::parse(&saved.url).map_err(|e| unreadable(e.to_string()))?;
        let p = saved.progress;
        tracing::info!(subscription = %saved.id, cursor = p.cursor, "resuming a kept subscription");
        let sub = Arc::new(Subscription {
            id: saved.id,
            principal: saved.principal,
            name: saved.name,
            arguments,
            url,
            secrets: std::sync::Mutex::new(Secrets {
                current: saved.secret,
                previous: None,
            }),
            expires: std::sync::Mutex::new(saved.expires),
            status: std::sync::Mutex::new(Status {
                active: p.active,
                last_delivery_at: p.last_delivery_at,
                last_error: category(p.last_error.as_deref()),
                failed_since: p.failed_since,
                watermark: p.cursor,
            }),
            refreshed: Notify::new(),
            stop: self.shutdown.child_token(),
        });
        self.run(hookd, sub, selector, p.cursor, true);
        Ok(())
    }
}
