//! One webhook subscription's state: its key, where it delivers, the secrets it signs with, its
//! lifetime and the delivery status a refresh reports.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::secret::Secret;

/// How long deliveries are signed with the previous secret too after a refresh changed it.
const ROTATION_GRACE: Duration = Duration::from_secs(300);

/// What the client sees in `deliveryStatus`; never the endpoint's own words.
#[derive(Debug, Clone, Default)]
pub(super) struct Status {
    pub(super) active: bool,
    pub(super) last_delivery_at: Option<DateTime<Utc>>,
    pub(super) last_error: Option<&'static str>,
    pub(super) failed_since: Option<DateTime<Utc>>,
    /// The delivery watermark: every matching event at or before it was accepted or abandoned.
    pub(super) watermark: i64,
}

/// The secret deliveries are signed with, and the one it replaced while its grace lasts.
pub(super) struct Secrets {
    pub(super) current: Secret,
    pub(super) previous: Option<(Secret, tokio::time::Instant)>,
}

/// A webhook subscription, shared by its worker and by refreshes.
pub(super) struct Subscription {
    pub(super) id: String,
    /// The key's other parts, kept with the subscription in the store.
    pub(super) principal: String,
    pub(super) name: String,
    pub(super) arguments: Option<Value>,
    pub(super) url: reqwest::Url,
    pub(super) secrets: Mutex<Secrets>,
    /// `None`: no expiry.
    pub(super) expires: Mutex<Option<DateTime<Utc>>>,
    pub(super) status: Mutex<Status>,
    /// Wakes the worker after a refresh (reactivation, new expiry).
    pub(super) refreshed: Notify,
    pub(super) stop: CancellationToken,
}

impl Subscription {
    pub(super) fn expired(&self) -> bool {
        self.expires
            .lock()
            .map(|e| e.is_some_and(|at| Utc::now() >= at))
            .unwrap_or(true)
    }

    pub(super) fn no_expiry(&self) -> bool {
        self.expires.lock().is_ok_and(|e| e.is_none())
    }

    /// The secrets to sign with now: the current one, and the previous one during its grace.
    pub(super) fn secrets(&self) -> Vec<Secret> {
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

    pub(super) fn rotate(&self, secret: Secret) {
        if let Ok(mut s) = self.secrets.lock()
            && s.current != secret
        {
            let old = std::mem::replace(&mut s.current, secret);
            s.previous = Some((old, tokio::time::Instant::now() + ROTATION_GRACE));
        }
    }

    pub(super) async fn until_expired(&self) {
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

    pub(super) fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub(super) fn update(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }
}
