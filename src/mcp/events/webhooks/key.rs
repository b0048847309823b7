//! What identifies a subscription and what a subscribe call may ask for: the derived id over
//! `(principal, url, name, arguments)`, the `whsec_` secret's shape, and the lifetime granted.

use std::time::Duration;

use base64::Engine;
use rmcp::ErrorData;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::super::invalid;
use crate::secret::Secret;

const DEFAULT_TTL: Duration = Duration::from_secs(3600);
const MIN_TTL: Duration = Duration::from_secs(60);
const MAX_TTL: Duration = Duration::from_secs(86_400);

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

pub(super) fn subscription_id(
    principal: &str,
    url: &str,
    name: &str,
    arguments: Option<&Value>,
) -> String {
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
pub(super) fn check_secret(secret: Option<&str>) -> Result<Secret, ErrorData> {
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
pub(super) fn ttl(requested: Option<Option<u64>>) -> Option<Duration> {
    match requested {
        None => Some(DEFAULT_TTL),
        Some(None) => None,
        Some(Some(ms)) => Some(Duration::from_millis(ms).clamp(MIN_TTL, MAX_TTL)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
