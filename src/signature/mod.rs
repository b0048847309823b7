//! What several providers' signatures share: the rejection type, HMAC and timestamp helpers,
//! Standard Webhooks (`standard.rs`, used by several providers and by hookd's own deliveries),
//! the configurable HMAC (`hmac_generic.rs`), the `t=…,v1=…` header (`pairs.rs`) and the
//! `X-Hub-Signature` family (`hub.rs`). A scheme only one provider uses lives in that
//! provider's file (`crate::providers`), which both verifies (ingest, on the raw body bytes
//! before anything is parsed or stored) and signs (`hookd send`, replays, deliveries).
//!
//! Every comparison of a signature goes through `Mac::verify_slice`, which is constant-time, and
//! no error carries a secret or an expected value: only which check failed.

pub mod hmac_generic;
pub mod hub;
pub mod pairs;
mod sign;
pub mod standard;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};

pub use hmac_generic::{Algorithm, Encoding, HmacScheme};
pub use sign::{ToSign, mac};

use crate::secret::Secret;

/// Why a delivery was refused. The messages name the failed check, never a secret or the value
/// hookd expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("missing header {0}")]
    MissingHeader(String),
    /// A provider that signs in the body (Mailgun, Microsoft Graph's `clientState`).
    #[error("missing {0} in the body")]
    MissingField(String),
    #[error("malformed signature header {0}")]
    Malformed(String),
    #[error("bad signature")]
    BadSignature,
    #[error("stale timestamp (older than the {0} s tolerance)")]
    StaleTimestamp(u64),
    #[error("timestamp in the future (beyond the {0} s tolerance)")]
    FutureTimestamp(u64),
}

impl Rejection {
    /// The reason class: `missing_header`, `malformed_header`, `bad_signature`, `stale_timestamp`.
    pub fn class(&self) -> &'static str {
        match self {
            Self::MissingHeader(_) | Self::MissingField(_) => "missing_header",
            Self::Malformed(_) => "malformed_header",
            Self::BadSignature => "bad_signature",
            Self::StaleTimestamp(_) | Self::FutureTimestamp(_) => "stale_timestamp",
        }
    }
}

/// A signature scheme a provider verifies and signs with as it is (see
/// `crate::providers::Provider::scheme`).
pub trait Scheme: Send + Sync {
    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection>;
    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)>;
}

impl Scheme for HmacScheme {
    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        HmacScheme::verify(self, secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        HmacScheme::sign(self, secret, d)
    }
}

impl Scheme for pairs::Pairs {
    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        pairs::Pairs::verify(self, secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        pairs::Pairs::sign(self, secret, d)
    }
}

/// What a verifier needs to know about one delivery.
pub struct Delivery<'a> {
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// Now, in Unix seconds (injected so tests can check timestamp windows).
    pub now: i64,
    /// The URL as the sender called it, query included: `--webhook-public-url` and the path
    /// when that is set (hookd usually sits behind a tunnel or proxy), else the request's own.
    /// Twilio, Square, Trello and HubSpot sign it.
    pub url: &'a str,
}

impl Delivery<'_> {
    /// A header's value as text, or `MissingHeader`.
    pub fn header(&self, name: &str) -> Result<&str, Rejection> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Rejection::MissingHeader(name.to_owned()))
    }

    /// The first value of the query parameter `name`, decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        query_param(self.url, name)
    }
}

/// The first value of the query parameter `name` in `url`, decoded.
pub(crate) fn query_param(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Whether `HMAC-<alg>(key, parts…)` equals `expected`, in constant time.
pub(crate) fn hmac_matches<M: Mac + hmac::digest::KeyInit>(
    key: &[u8],
    parts: &[&[u8]],
    expected: &[u8],
) -> bool {
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
        return false;
    };
    for p in parts {
        mac.update(p);
    }
    mac.verify_slice(expected).is_ok()
}

/// `Ok` if the HMAC of the body alone under any of `secrets` equals `sig` (GitHub, Vercel,
/// Shopify: schemes that sign nothing but the body).
pub(crate) fn body_signed_by_any<M: Mac + hmac::digest::KeyInit>(
    secrets: &[Secret],
    body: &[u8],
    sig: &[u8],
) -> Result<(), Rejection> {
    secrets
        .iter()
        .any(|s| hmac_matches::<M>(s.expose().as_bytes(), &[body], sig))
        .then_some(())
        .ok_or(Rejection::BadSignature)
}

pub(crate) type HmacSha1 = Hmac<sha1::Sha1>;
pub(crate) type HmacSha256 = Hmac<sha2::Sha256>;
pub(crate) type HmacSha512 = Hmac<sha2::Sha512>;

/// Checks a Unix timestamp header against `now` within `tolerance` seconds, both directions.
pub(crate) fn check_timestamp(
    value: &str,
    header: &str,
    now: i64,
    tolerance: u64,
) -> Result<i64, Rejection> {
    let ts: i64 = value
        .trim()
        .parse()
        .map_err(|_| Rejection::Malformed(header.to_owned()))?;
    let age = now.saturating_sub(ts);
    if age > tolerance as i64 {
        return Err(Rejection::StaleTimestamp(tolerance));
    }
    if -age > tolerance as i64 {
        return Err(Rejection::FutureTimestamp(tolerance));
    }
    Ok(ts)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    pub fn secrets(values: &[&str]) -> Vec<Secret> {
        values.iter().map(|v| Secret::new(*v)).collect()
    }

    /// `verify` on one delivery of `body` with `pairs` as its headers, at `now` (Unix seconds),
    /// against `secret_values`: what every scheme's vector tests check.
    pub fn check(
        verify: impl Fn(&[Secret], &Delivery<'_>) -> Result<(), Rejection>,
        secret_values: &[&str],
        pairs: &[(&str, &str)],
        body: &[u8],
        now: i64,
    ) -> Result<(), Rejection> {
        let h = headers(pairs);
        let d = Delivery {
            headers: &h,
            body,
            now,
            url: "",
        };
        verify(&secrets(secret_values), &d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Secret::new("whsec_supersecret");
        assert!(!format!("{s:?}").contains("supersecret"));
        assert!(!format!("{:?}", vec![s]).contains("supersecret"));
    }

    #[test]
    fn timestamps_are_checked_both_ways() {
        assert_eq!(check_timestamp("1000", "t", 1200, 300), Ok(1000));
        assert_eq!(
            check_timestamp("1000", "t", 1301, 300),
            Err(Rejection::StaleTimestamp(300))
        );
        assert_eq!(
            check_timestamp("1400", "t", 1000, 300),
            Err(Rejection::FutureTimestamp(300))
        );
        assert_eq!(
            check_timestamp("soon", "t", 1000, 300),
            Err(Rejection::Malformed("t".into()))
        );
    }
}
