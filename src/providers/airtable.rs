//! Airtable: signed with `X-Airtable-Content-MAC: hmac-sha256=<hex HMAC-SHA256(key, body)>`,
//! where the key is the webhook's `macSecretBase64` decoded (give that base64 text as the
//! secret). A notification says that a base changed, not how (the changes are fetched from
//! Airtable's API): type = `notification`, subject = the base, summary = which webhook.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Incoming, Normalized, Provider};
use crate::payload::{str_at, text};
use crate::secret::Secret;
use crate::signature::{Delivery, HmacSha256, Rejection, ToSign, hmac_matches, mac};

const HEADER: &str = "x-airtable-content-mac";
const PREFIX: &str = "hmac-sha256=";

#[derive(Debug)]
pub struct Airtable;

/// The MAC key: the secret base64-decoded, else its bytes as they are.
fn key(secret: &Secret) -> Vec<u8> {
    let text = secret.expose();
    B64.decode(text)
        .unwrap_or_else(|_| text.as_bytes().to_vec())
}

impl Provider for Airtable {
    fn name(&self) -> &'static str {
        "airtable"
    }

    fn timed(&self) -> bool {
        false
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let value = d.header(HEADER)?;
        let sig = value
            .strip_prefix(PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| Rejection::Malformed(HEADER.into()))?;
        secrets
            .iter()
            .any(|s| hmac_matches::<HmacSha256>(&key(s), &[d.body], &sig))
            .then_some(())
            .ok_or(Rejection::BadSignature)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let sig = mac::<HmacSha256>(&key(secret), &[d.body]);
        vec![(
            "X-Airtable-Content-MAC".into(),
            format!("{PREFIX}{}", hex::encode(sig)),
        )]
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if str_at(v, "webhook/id").is_some() {
            n.event_type = "notification".into();
        }
        n.occurred_at = super::rfc3339(v, "timestamp");
        n.subject = text(v, "base/id");
        n.summary = str_at(v, "webhook/id")
            .map(|w| format!("base changed (webhook {w}): fetch its payloads from Airtable"));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;
    use crate::signature::test_support::check;

    #[test]
    fn a_ping_names_its_base() {
        let body = r#"{"base":{"id":"appYfE4hXpbwFDH2M"},"webhook":{"id":"achW5Ad6IkJjJ1nUE"},"timestamp":"2022-02-01T21:25:05.663Z"}"#;
        let n = read("airtable", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "notification");
        assert_eq!(n.subject.as_deref(), Some("appYfE4hXpbwFDH2M"));
        assert!(n.summary.unwrap().contains("achW5Ad6IkJjJ1nUE"));
    }

    /// The documented scheme, computed independently: the key is macSecretBase64 decoded.
    #[test]
    fn the_key_is_the_decoded_mac_secret() {
        use hmac::Mac;
        let body = br#"{"base":{"id":"app1"}}"#;
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"raw key bytes").unwrap();
        m.update(body);
        let sig = format!("hmac-sha256={}", hex::encode(m.finalize().into_bytes()));
        let encoded = B64.encode(b"raw key bytes");
        let verify = |s: &[Secret], d: &Delivery<'_>| Airtable.verify(s, d);
        let headers = [(HEADER, sig.as_str())];
        assert_eq!(check(verify, &[&encoded], &headers, body, 0), Ok(()));
        let wrong = check(verify, &["cmF3IGtleQ=="], &headers, body, 0);
        assert_eq!(wrong, Err(Rejection::BadSignature));
    }
}
