//! Sources whose secret is learned in a handshake (Asana's `X-Hook-Secret`): the handshake is
//! answered only while the operator has an enrolment window open (`hookd enrol SOURCE`), and the
//! secret is kept in the store, where every instance reads it. Deliveries verify with the
//! configured secrets and the learned ones, read again from the store when a delivery fails with
//! those known (at most once a second per source), so a secret another instance learned counts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use chrono::Utc;

use super::{Ingest, IngestError, Outcome};
use crate::providers::Answer;
use crate::secret::Secret;
use crate::signature::{Delivery, Rejection};
use crate::sources::Source;
use crate::store::StoreError;

/// The longest secret a handshake may give.
const MAX_SECRET: usize = 256;
/// How often a source's learned secrets may be read again after a failed verification.
const REREAD: Duration = Duration::from_secs(1);

/// Each source's learned secrets and when they were read.
#[derive(Debug, Default)]
pub struct Learned(Mutex<HashMap<String, (Instant, Vec<Secret>)>>);

impl Learned {
    fn get(&self, source: &str) -> Option<(Instant, Vec<Secret>)> {
        self.0.lock().ok()?.get(source).cloned()
    }

    fn set(&self, source: &str, secrets: Vec<Secret>) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(source.to_owned(), (Instant::now(), secrets));
        }
    }
}

impl Ingest {
    /// Keeps the secret in `header` if `source`'s window is open, and echoes it as the provider
    /// asks; else refuses, saying how to open one.
    pub(super) async fn enrol(
        &self,
        source: &str,
        header: &'static str,
        value: &HeaderValue,
    ) -> Result<Outcome, IngestError> {
        let secret = value
            .to_str()
            .ok()
            .filter(|s| !s.is_empty() && s.len() <= MAX_SECRET)
            .ok_or_else(|| {
                IngestError::Handshake(format!("{header} must be 1 to {MAX_SECRET} characters"))
            })?;
        let kept = self
            .store
            .enrol(source.to_owned(), Secret::new(secret), Utc::now())
            .await?;
        if !kept {
            tracing::warn!(source, "enrolment handshake refused: no window is open");
            return Err(IngestError::Handshake(format!(
                "no enrolment window is open for source {source:?}: run `hookd enrol {source}` \
                 where hookd runs, then create the webhook again"
            )));
        }
        tracing::info!(
            source,
            "source enrolled: its new secret is kept in the store"
        );
        self.learned
            .set(source, self.store.enrolled_secrets(source.into()).await?);
        let mut answer = Answer::empty(200);
        answer.headers.push((header, secret.to_owned()));
        Ok(Outcome::Answer(answer))
    }

    /// Verifies `d` with `s`'s configured and learned secrets.
    pub(super) async fn verify_enrolled(
        &self,
        s: &Source,
        d: &Delivery<'_>,
    ) -> Result<Result<(), Rejection>, StoreError> {
        let name = s.name.as_str();
        let known = self.learned.get(name);
        let verify = |learned: &[Secret]| {
            let keys: Vec<Secret> = s.secrets.iter().chain(learned).cloned().collect();
            s.provider.verify(&keys, d)
        };
        if let Some((read_at, learned)) = &known {
            let result = verify(learned);
            if result.is_ok() || read_at.elapsed() < REREAD {
                return Ok(result);
            }
        }
        let learned = self.store.enrolled_secrets(name.to_owned()).await?;
        let result = verify(&learned);
        self.learned.set(name, learned);
        Ok(result)
    }
}
