//! SendGrid (Twilio SendGrid's signed Event Webhook): `X-Twilio-Email-Event-Webhook-Signature`
//! is a base64 ECDSA P-256 / SHA-256 signature of `X-Twilio-Email-Event-Webhook-Timestamp` +
//! the body, verified with the verification key SendGrid shows (`public_key`: base64 DER, as
//! shown); the timestamp is refused beyond 5 minutes. A delivery is an array of events: type =
//! the first one's `event` (`delivered`, `bounce`, `open`, …), delivery id = the `sg_event_id`s,
//! subject = the first email, summary = how many of which.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};

use super::{Incoming, Normalized, Provider, unix};
use crate::payload::{Json, str_at, text};
use crate::secret::Secret;
use crate::signature::{Delivery, Rejection, ToSign, check_timestamp};

const SIGNATURE: &str = "x-twilio-email-event-webhook-signature";
const TIMESTAMP: &str = "x-twilio-email-event-webhook-timestamp";
const TOLERANCE: u64 = 300;

/// The DER of a P-256 SubjectPublicKeyInfo before its 65-byte uncompressed point.
const SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The uncompressed point in a base64 DER public key.
fn point(key: &str) -> Option<Vec<u8>> {
    let der = B64.decode(key.trim()).ok()?;
    let point = der.strip_prefix(&SPKI_PREFIX[..])?;
    (point.len() == 65 && point[0] == 4).then(|| point.to_vec())
}

fn key_pair(private: &Secret) -> Result<EcdsaKeyPair, String> {
    let der = B64
        .decode(private.expose().trim())
        .map_err(|_| "not base64".to_owned())?;
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der, &SystemRandom::new())
        .map_err(|e| e.to_string())
}

#[derive(Debug)]
pub struct SendGrid;

impl Provider for SendGrid {
    fn name(&self) -> &'static str {
        "sendgrid"
    }

    fn parse_public_key(&self, key: &str) -> Option<Result<(), String>> {
        Some(point(key).map(|_| ()).ok_or_else(|| {
            "expected the base64 P-256 verification key SendGrid shows (MFkwEwYHKoZIzj0CAQYI…)"
                .into()
        }))
    }

    fn public_key(&self, private: &Secret) -> Option<Result<String, String>> {
        Some(
            key_pair(private)
                .map(|k| B64.encode([&SPKI_PREFIX[..], k.public_key().as_ref()].concat())),
        )
    }

    fn new_private_key(&self) -> Option<Secret> {
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).ok()?;
        Some(Secret::new(B64.encode(der.as_ref())))
    }

    fn verify(&self, keys: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let sig = B64
            .decode(d.header(SIGNATURE)?)
            .map_err(|_| Rejection::Malformed(SIGNATURE.into()))?;
        let ts = d.header(TIMESTAMP)?;
        let message = [ts.as_bytes(), d.body].concat();
        let signed = keys.iter().filter_map(|k| point(k.expose())).any(|p| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, p)
                .verify(&message, &sig)
                .is_ok()
        });
        if !signed {
            return Err(Rejection::BadSignature);
        }
        check_timestamp(ts, TIMESTAMP, d.now, TOLERANCE).map(|_| ())
    }

    fn sign(&self, private: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let Ok(pair) = key_pair(private) else {
            return Vec::new();
        };
        let ts = d.now.to_string();
        let Ok(sig) = pair.sign(&SystemRandom::new(), &[ts.as_bytes(), d.body].concat()) else {
            return Vec::new();
        };
        vec![
            (
                "X-Twilio-Email-Event-Webhook-Signature".into(),
                B64.encode(sig.as_ref()),
            ),
            ("X-Twilio-Email-Event-Webhook-Timestamp".into(), ts),
        ]
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let Some(events) = d.body.as_array().filter(|e| !e.is_empty()) else {
            return;
        };
        let first = &events[0];
        if let Some(t) = text(first, "event") {
            n.event_type = t;
        }
        let ids: Vec<&str> = events
            .iter()
            .filter_map(|e| str_at(e, "sg_event_id"))
            .collect();
        n.delivery_id = (!ids.is_empty()).then(|| ids.join(","));
        n.subject = text(first, "email");
        n.occurred_at = unix(first, "timestamp", false);
        n.summary = Some(summary(events));
    }
}

/// `delivered to a@example.com` for one event; `3 events: delivered ×2, open` for several.
fn summary(events: &[Json<'_>]) -> String {
    if let [one] = events {
        let kind = str_at(one, "event").unwrap_or("?");
        return match str_at(one, "email") {
            Some(e) => format!("{kind}: {e}"),
            None => kind.to_owned(),
        };
    }
    let kinds = super::describe::tally(events.iter().map(|e| str_at(e, "event").unwrap_or("?")));
    format!("{} events: {kinds}", events.len())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;

    #[test]
    fn a_batch_names_its_events() {
        let body = r#"[{"email":"a@example.com","timestamp":1513299569,"event":"delivered","sg_event_id":"e1"},{"email":"b@example.com","event":"delivered","sg_event_id":"e2"},{"email":"a@example.com","event":"open","sg_event_id":"e3"}]"#;
        let n = read("sendgrid", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "delivered");
        assert_eq!(n.delivery_id.as_deref(), Some("e1,e2,e3"));
        assert_eq!(n.subject.as_deref(), Some("a@example.com"));
        assert_eq!(n.summary.as_deref(), Some("3 events: delivered ×2, open"));
    }

    /// SendGrid's documented verification key parses; other text does not.
    #[test]
    fn the_verification_key_is_a_p256_key() {
        let documented = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
        assert_eq!(SendGrid.parse_public_key(documented), Some(Ok(())));
        assert!(matches!(SendGrid.parse_public_key("MFkw"), Some(Err(_))));
    }
}
