//! Token introspection (RFC 7662) for the identity provider's opaque access tokens: hookd asks
//! the provider's `introspection_endpoint`, authenticated as its own client
//! (`client_secret_basic`), and keeps each answer for [`KEPT`] (at most [`MAX_KEPT`] answers,
//! keyed by the token's SHA-256, never the token itself). At most [`AT_ONCE`] questions are in
//! flight, so a flood of invented tokens cannot open unbounded connections to the provider.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::claims::{Refusal, ScopeList};
use super::scope::Grant;
use crate::secret::Secret;

/// How long an answer (either way) is reused: a revoked token works at most this much longer.
pub const KEPT: Duration = Duration::from_secs(30);
/// The most answers kept.
pub const MAX_KEPT: usize = 10_000;
/// The most questions to the provider in flight.
pub const AT_ONCE: usize = 16;
/// The largest answer read.
const MAX_ANSWER: usize = 64 * 1024;

type Answer = Result<Grant, Refusal>;

pub struct Introspection {
    client_id: String,
    secret: Secret,
    kept: Mutex<HashMap<[u8; 32], (Answer, Instant)>>,
    permits: Semaphore,
}

/// What the provider said of a token (RFC 7662 §2.2).
#[derive(Deserialize)]
pub struct Said {
    pub active: bool,
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    aud: Option<ScopeList>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub scp: Option<ScopeList>,
}

impl Said {
    /// `aud`, one or many.
    pub fn audiences(&self) -> Vec<&str> {
        match &self.aud {
            Some(ScopeList::One(a)) => vec![a.as_str()],
            Some(ScopeList::Many(list)) => list.iter().map(String::as_str).collect(),
            None => Vec::new(),
        }
    }
}

impl Introspection {
    pub fn new(client_id: String, secret: Secret) -> Self {
        Self {
            client_id,
            secret,
            kept: Mutex::new(HashMap::new()),
            permits: Semaphore::new(AT_ONCE),
        }
    }

    /// The answer kept for `token`, if still fresh.
    pub fn kept(&self, token: &str) -> Option<Answer> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(&digest(token))
            .filter(|(_, at)| at.elapsed() < KEPT)
            .map(|(answer, _)| answer.clone())
    }

    /// Keeps `answer` for `token`; when full, the stale answers go, and if none is stale, all.
    pub fn keep(&self, token: &str, answer: &Answer) {
        if *answer == Err(Refusal::Unavailable) {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= MAX_KEPT {
            kept.retain(|_, (_, at)| at.elapsed() < KEPT);
            if kept.len() >= MAX_KEPT {
                kept.clear();
            }
        }
        kept.insert(digest(token), (answer.clone(), Instant::now()));
    }

    /// Asks `endpoint` about `token`.
    pub async fn ask(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        token: &str,
    ) -> Result<Said, String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let body = form(&[("token", token), ("token_type_hint", "access_token")]);
        let mut response = client
            .post(endpoint)
            .basic_auth(
                form_component(&self.client_id),
                Some(form_component(self.secret.expose())),
            )
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{endpoint}: {}", e.without_url()))?;
        if !response.status().is_success() {
            return Err(format!("{endpoint}: HTTP {}", response.status()));
        }
        let mut answer = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if answer.len() + chunk.len() > MAX_ANSWER {
                return Err(format!("{endpoint}: answer larger than {MAX_ANSWER} bytes"));
            }
            answer.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&answer).map_err(|e| format!("{endpoint}: {e}"))
    }
}

impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// `application/x-www-form-urlencoded`.
fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// One form-encoded component (RFC 6749 §2.3.1 encodes client credentials this way too).
fn form_component(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_components_are_encoded() {
        assert_eq!(form_component("a b:c/d+é"), "a+b%3Ac%2Fd%2B%C3%A9");
        assert_eq!(
            form(&[("token", "x=y&z"), ("token_type_hint", "access_token")]),
            "token=x%3Dy%26z&token_type_hint=access_token"
        );
    }
}
