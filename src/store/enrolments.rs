//! Secrets a source learns in a handshake (Asana's `X-Hook-Secret`) instead of from
//! `hookd.toml`. A handshake is accepted only while the operator has an enrolment window open
//! for that source (`hookd enrol SOURCE`), and the first one closes it; the secret is kept here,
//! so every instance verifies with it and it survives restarts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::secret::Secret;

#[async_trait]
pub trait Enrolments {
    /// Opens `source`'s window until `until` (replacing one already open).
    async fn open_enrolment(&self, source: String, until: DateTime<Utc>) -> Result<(), StoreError>;

    /// Keeps `secret` as one of `source`'s and closes its window, if a window is open at `now`;
    /// `false` (and nothing kept) when none is.
    async fn enrol(
        &self,
        source: String,
        secret: Secret,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The secrets `source` learned, newest first.
    async fn enrolled_secrets(&self, source: String) -> Result<Vec<Secret>, StoreError>;
}
