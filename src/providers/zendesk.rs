//! Zendesk: signed with `X-Zendesk-Webhook-Signature: <base64 HMAC-SHA256(signing secret,
//! timestamp + body)>` and `X-Zendesk-Webhook-Signature-Timestamp` (an ISO 8601 time, checked
//! within 5 minutes); type = `type` (`zen:event-type:ticket.created`, …) or, for trigger
//! webhooks, the generic reading; delivery id = `id`, subject = the ticket's id, summary = its
//! subject line.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Incoming, Normalized, Provider};
use crate::payload::{str_at, text};
use crate::secret::Secret;
use crate::signature::{
    Delivery, HmacSha256, Rejection, ToSign, check_timestamp, hmac_matches, mac,
};

const SIGNATURE: &str = "x-zendesk-webhook-signature";
const TIMESTAMP: &str = "x-zendesk-webhook-signature-timestamp";
const TOLERANCE: u64 = 300;

#[derive(Debug)]
pub struct Zendesk;

impl Provider for Zendesk {
    fn name(&self) -> &'static str {
        "zendesk"
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let sig = B64
            .decode(d.header(SIGNATURE)?)
            .map_err(|_| Rejection::Malformed(SIGNATURE.into()))?;
        let ts = d.header(TIMESTAMP)?;
        let signed = secrets.iter().any(|s| {
            hmac_matches::<HmacSha256>(s.expose().as_bytes(), &[ts.as_bytes(), d.body], &sig)
        });
        if !signed {
            return Err(Rejection::BadSignature);
        }
        let unix = chrono::DateTime::parse_from_rfc3339(ts)
            .map(|t| t.timestamp().to_string())
            .unwrap_or_else(|_| ts.to_owned());
        check_timestamp(&unix, TIMESTAMP, d.now, TOLERANCE).map(|_| ())
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let ts = chrono::DateTime::from_timestamp(d.now, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let sig = mac::<HmacSha256>(secret.expose().as_bytes(), &[ts.as_bytes(), d.body]);
        vec![
            ("X-Zendesk-Webhook-Signature".into(), B64.encode(sig)),
            ("X-Zendesk-Webhook-Signature-Timestamp".into(), ts),
        ]
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        n.delivery_id = text(v, "id").or(n.delivery_id.take());
        n.occurred_at = super::rfc3339(v, "time");
        n.subject = text(v, "detail/id").or_else(|| text(v, "ticket/id"));
        n.summary = str_at(v, "detail/subject")
            .or_else(|| str_at(v, "ticket/subject"))
            .map(|s| format!("{}: {s}", n.event_type));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;
    use crate::signature::test_support::check;

    #[test]
    fn an_event_names_its_ticket() {
        let body = r#"{"type":"zen:event-type:ticket.created","id":"cbe4028c","time":"2024-01-02T03:04:05Z","detail":{"id":"35436","subject":"Help, my printer is on fire!"}}"#;
        let n = read("zendesk", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "zen:event-type:ticket.created");
        assert_eq!(n.delivery_id.as_deref(), Some("cbe4028c"));
        assert_eq!(n.subject.as_deref(), Some("35436"));
        assert_eq!(
            n.summary.as_deref(),
            Some("zen:event-type:ticket.created: Help, my printer is on fire!")
        );
    }

    /// The documented formula, computed independently: base64(HMAC-SHA256(timestamp + body)).
    #[test]
    fn the_documented_formula_verifies_with_an_iso_timestamp() {
        use hmac::Mac;
        let (ts, body) = ("2024-01-02T03:04:05Z", br#"{"a":1}"#);
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"dGhpc19zZWNyZXQ").unwrap();
        m.update(format!("{ts}{}", std::str::from_utf8(body).unwrap()).as_bytes());
        let sig = B64.encode(m.finalize().into_bytes());
        let headers = [(SIGNATURE, sig.as_str()), (TIMESTAMP, ts)];
        let verify = |s: &[Secret], d: &Delivery<'_>| Zendesk.verify(s, d);
        let at = 1_704_164_645;
        assert_eq!(
            check(verify, &["dGhpc19zZWNyZXQ"], &headers, body, at),
            Ok(())
        );
        let stale = check(verify, &["dGhpc19zZWNyZXQ"], &headers, body, at + 301);
        assert_eq!(stale, Err(Rejection::StaleTimestamp(300)));
    }
}
