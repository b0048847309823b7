//! Webhook subscriptions (`events/subscribe`), kept in the store so that delivery resumes after a
//! restart without the client subscribing again: as the Events design requires of a server that
//! grants no expiry, and as ChatGPT's guide asks of every subscription. Only verified
//! subscriptions are kept (the record exists because verification succeeded), each until it
//! lapses. Several instances share them through a lease: the one holding it delivers; another
//! takes over when it lapses.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::secret::Secret;

/// A kept subscription and how far its delivery got.
#[derive(Debug, Clone)]
pub struct SavedSubscription {
    pub id: String,
    pub principal: String,
    pub url: String,
    pub name: String,
    /// The subscription's `arguments`, as JSON text.
    pub arguments: Option<String>,
    pub secret: Secret,
    /// When the granted lifetime ends; `None`: no expiry.
    pub expires: Option<DateTime<Utc>>,
    pub progress: Progress,
}

/// Where delivery stands: the watermark and the status a refresh reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub cursor: i64,
    pub active: bool,
    pub last_error: Option<String>,
    pub failed_since: Option<DateTime<Utc>>,
    pub last_delivery_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait Callbacks {
    /// Keeps (or replaces) a subscription, held by `owner` until `lease_until`.
    async fn save_subscription(
        &self,
        s: SavedSubscription,
        owner: String,
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records progress if `owner` still holds the subscription (and renews its lease); `false`
    /// when it does not (another instance took it over, or it was dropped).
    async fn subscription_progress(
        &self,
        id: String,
        owner: String,
        lease_until: DateTime<Utc>,
        progress: Progress,
    ) -> Result<bool, StoreError>;

    /// Forgets the subscriptions whose lifetime ended, then takes every other one whose lease has
    /// lapsed, or is `owner`'s, until `lease_until`; returns them all (the caller starts those it
    /// is not yet delivering).
    async fn claim_subscriptions(
        &self,
        owner: String,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<SavedSubscription>, StoreError>;

    /// Gives up `owner`'s leases (at shutdown), so a restart resumes at once.
    async fn release_subscriptions(&self, owner: String) -> Result<(), StoreError>;

    /// Forgets a kept subscription; `false` if there was none.
    async fn drop_subscription(&self, id: String) -> Result<bool, StoreError>;
}
