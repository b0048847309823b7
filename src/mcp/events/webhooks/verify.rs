//! Endpoint verification: before the first delivery to a callback URL (per principal), its intent
//! to receive is confirmed by the receiver's published `/.well-known/mcp-webhook-receiver.json`
//! covering the URL's path, or else by the challenge handshake. Both go through the SSRF-guarded
//! client, read at most a small answer, and are rate-limited per destination host.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rmcp::ErrorData;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Webhooks, deliver, rand_bytes};
use crate::mcp::events::{CALLBACK_ENDPOINT_ERROR, RESOURCE_EXHAUSTED, error};
use crate::secret::Secret;

/// Verification requests (well-known fetches and challenges) per destination host per minute.
const PER_HOST_PER_MINUTE: u32 = 10;
/// The most of an endpoint's answer that is read (a challenge echo, a well-known document).
const MAX_ANSWER: usize = 64 << 10;
/// How long a fetched well-known document is trusted.
const WELL_KNOWN_TTL: Duration = Duration::from_secs(300);
pub const WELL_KNOWN_PATH: &str = "/.well-known/mcp-webhook-receiver.json";

/// Verification state shared by all subscriptions.
pub struct Verifier {
    per_host: DefaultKeyedRateLimiter<String>,
    /// Per origin: when the document was fetched and the path prefixes it declared.
    documents: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl Default for Verifier {
    fn default() -> Self {
        let n = NonZeroU32::new(PER_HOST_PER_MINUTE).expect("not zero");
        Self {
            per_host: RateLimiter::hashmap(Quota::per_minute(n)),
            documents: Mutex::default(),
        }
    }
}

fn failed(reason: &'static str) -> ErrorData {
    error(
        CALLBACK_ENDPOINT_ERROR,
        format!("the callback endpoint did not confirm the subscription ({reason})"),
        Some(json!({"reason": reason})),
    )
}

/// Reads at most [`MAX_ANSWER`] bytes of an answer (`None` beyond it).
async fn bounded_body(mut resp: reqwest::Response) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

impl Webhooks {
    /// Confirms that `url` wants deliveries, once per (principal, url).
    pub(super) async fn verify_endpoint(
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
        let host = url.host_str().unwrap_or_default().to_owned();
        if self.verifier.per_host.check_key(&host).is_err() {
            return Err(error(
                RESOURCE_EXHAUSTED,
                format!("too many verification requests to {host}; try again in a minute"),
                Some(json!({"limit": "verificationsPerHost", "max": PER_HOST_PER_MINUTE})),
            ));
        }
        if !self.published_receiver(url).await {
            self.challenge(url, secret, id).await?;
        }
        if let Ok(mut v) = self.verified.lock() {
            v.insert(key);
        }
        Ok(())
    }

    /// Whether the URL's origin publishes a well-known document whose receivers cover its path.
    async fn published_receiver(&self, url: &reqwest::Url) -> bool {
        let origin = url.origin().ascii_serialization();
        let cached = self.verifier.documents.lock().ok().and_then(|d| {
            d.get(&origin)
                .filter(|(at, _)| at.elapsed() < WELL_KNOWN_TTL)
                .map(|(_, prefixes)| prefixes.clone())
        });
        let prefixes = match cached {
            Some(p) => p,
            None => {
                let p = self.fetch_document(&origin).await;
                if let Ok(mut d) = self.verifier.documents.lock() {
                    d.retain(|_, (at, _)| at.elapsed() < WELL_KNOWN_TTL);
                    d.insert(origin, (Instant::now(), p.clone()));
                }
                p
            }
        };
        let path = url.path();
        prefixes
            .iter()
            .any(|p| p.starts_with('/') && path.starts_with(p.as_str()))
    }

    /// The path prefixes `origin`'s document declares (none when there is no valid document).
    async fn fetch_document(&self, origin: &str) -> Vec<String> {
        let Ok(resp) = self
            .client
            .get(format!("{origin}{WELL_KNOWN_PATH}"))
            .send()
            .await
        else {
            return Vec::new();
        };
        if !resp.status().is_success() {
            return Vec::new();
        }
        let Ok(Some(body)) = bounded_body(resp).await else {
            return Vec::new();
        };
        let doc: Value = serde_json::from_slice(&body).unwrap_or_default();
        doc["receivers"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The challenge handshake: a signed `verification` envelope whose nonce the endpoint must
    /// echo in a `2xx` body (compared in constant time).
    async fn challenge(
        &self,
        url: &reqwest::Url,
        secret: &Secret,
        id: &str,
    ) -> Result<(), ErrorData> {
        let challenge = hex::encode(rand_bytes());
        let body = json!({"type": "verification", "challenge": challenge}).to_string();
        let msg_id = deliver::control_id("verification");
        let secrets = [secret.clone()];
        let resp = deliver::post(&self.client, url, &secrets, id, &msg_id, body.into_bytes())
            .await
            .map_err(|e| failed(deliver::category(&e)))?;
        if !resp.status().is_success() {
            return Err(failed(deliver::status_category(resp.status())));
        }
        let body = bounded_body(resp)
            .await
            .map_err(|e| failed(deliver::category(&e)))?
            .ok_or_else(|| failed("challenge_failed"))?;
        let echoed: Value =
            serde_json::from_slice(&body).map_err(|_| failed("challenge_failed"))?;
        let echoed = echoed["challenge"].as_str().unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            echoed.as_bytes(),
            challenge.as_bytes(),
        )) {
            return Err(failed("challenge_failed"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_host_gets_its_own_allowance() {
        let v = super::Verifier::default();
        let allowed = |host: &str| {
            (0..20)
                .filter(|_| v.per_host.check_key(&host.to_owned()).is_ok())
                .count()
        };
        assert_eq!(allowed("a.example"), super::PER_HOST_PER_MINUTE as usize);
        assert_eq!(allowed("b.example"), super::PER_HOST_PER_MINUTE as usize);
    }
}
