//! Mailgun: the signature travels in the body. A JSON delivery carries `signature: {timestamp,
//! token, signature}` beside `event-data`; a form delivery (routes, legacy webhooks) carries the
//! same three fields. `signature` is the hex HMAC-SHA256 of timestamp + token with the HTTP
//! webhook signing key, and the timestamp is refused beyond 5 minutes. The signature covers the
//! timestamp and token only, not the event data (Mailgun's design), so the token is the delivery
//! id: a captured delivery sent again is a duplicate, not a new event. Type = `event-data.event`
//! (`delivered`, `failed`, `opened`, …), subject = the recipient, summary = the message's subject.

use hmac::Mac;

use super::{Incoming, Normalized, Provider};
use crate::payload::{Json, at, str_at, text};
use crate::secret::Secret;
use crate::signature::{Delivery, HmacSha256, Rejection, ToSign, check_timestamp, mac};

const TOLERANCE: u64 = 300;

#[derive(Debug)]
pub struct Mailgun;

/// `(timestamp, token, signature)` from a JSON body's `signature` object or a form's fields.
fn fields(body: &[u8]) -> Option<(String, String, String)> {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let s = &v["signature"];
        let get = |k: &str| s[k].as_str().map(str::to_owned);
        return Some((get("timestamp")?, get("token")?, get("signature")?));
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Some((get("timestamp")?, get("token")?, get("signature")?))
}

impl Provider for Mailgun {
    fn name(&self) -> &'static str {
        "mailgun"
    }

    fn signs_body(&self) -> bool {
        false
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let (timestamp, token, signature) =
            fields(d.body).ok_or_else(|| Rejection::MissingField("signature".into()))?;
        let sig = hex::decode(&signature).map_err(|_| Rejection::Malformed("signature".into()))?;
        let signed = secrets.iter().any(|s| {
            let Ok(mut m) = <HmacSha256 as Mac>::new_from_slice(s.expose().as_bytes()) else {
                return false;
            };
            m.update(timestamp.as_bytes());
            m.update(token.as_bytes());
            m.verify_slice(&sig).is_ok()
        });
        if !signed {
            return Err(Rejection::BadSignature);
        }
        check_timestamp(&timestamp, "signature.timestamp", d.now, TOLERANCE).map(|_| ())
    }

    /// The signature is in the body.
    fn sign(&self, _secret: &Secret, _d: &ToSign<'_>) -> Vec<(String, String)> {
        Vec::new()
    }

    /// A JSON body with its `signature` object set, the token being the delivery id.
    fn sign_body(&self, secret: &Secret, d: &ToSign<'_>) -> Option<Vec<u8>> {
        let mut body: serde_json::Value = serde_json::from_slice(d.body).ok()?;
        let ts = d.now.to_string();
        let token = d.delivery_id;
        let sig = mac::<HmacSha256>(
            secret.expose().as_bytes(),
            &[ts.as_bytes(), token.as_bytes()],
        );
        body.as_object_mut()?.insert(
            "signature".into(),
            serde_json::json!({"timestamp": ts, "token": token, "signature": hex::encode(sig)}),
        );
        serde_json::to_vec(&body).ok()
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        let data: &Json<'_> = at(v, "event-data").unwrap_or(v);
        if let Some(t) = text(data, "event") {
            n.event_type = t;
        }
        n.delivery_id = text(v, "signature/token")
            .or_else(|| text(v, "token"))
            .or(n.delivery_id.take());
        n.subject = text(data, "recipient");
        n.occurred_at = crate::payload::at(data, "timestamp")
            .and_then(|t| t.as_f64())
            .and_then(|t| chrono::DateTime::from_timestamp(t as i64, 0));
        n.summary = str_at(data, "message/headers/subject")
            .or_else(|| str_at(data, "subject"))
            .map(|s| format!("{}: {s}", n.event_type));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;
    use crate::signature::test_support::check;

    /// The documented scheme, computed independently, in a form body as routes send it.
    #[test]
    fn a_form_delivery_verifies() {
        use hmac::Mac;
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"key-1").unwrap();
        m.update(b"1700000000abcdef0123");
        let sig = hex::encode(m.finalize().into_bytes());
        let body =
            format!("timestamp=1700000000&token=abcdef0123&signature={sig}&recipient=a%40b.c");
        let verify = |s: &[Secret], d: &Delivery<'_>| Mailgun.verify(s, d);
        let at = 1_700_000_100;
        assert_eq!(check(verify, &["key-1"], &[], body.as_bytes(), at), Ok(()));
        let wrong = check(verify, &["key-2"], &[], body.as_bytes(), at);
        assert_eq!(wrong, Err(Rejection::BadSignature));
        let stale = check(verify, &["key-1"], &[], body.as_bytes(), at + 400);
        assert_eq!(stale, Err(Rejection::StaleTimestamp(300)));
    }

    #[test]
    fn an_event_names_its_recipient() {
        let body = r#"{"signature":{"timestamp":"1529006854","token":"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0","signature":"d2271d12299f6592d9d44cd9d250f0704e4674c30d79d07c47a66f95ce71cf55"},"event-data":{"event":"delivered","timestamp":1521472262.908181,"recipient":"alice@example.com","message":{"headers":{"subject":"Test delivery webhook"}}}}"#;
        let n = read("mailgun", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "delivered");
        assert_eq!(
            n.delivery_id.as_deref(),
            Some("a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0")
        );
        assert_eq!(n.subject.as_deref(), Some("alice@example.com"));
        assert_eq!(
            n.summary.as_deref(),
            Some("delivered: Test delivery webhook")
        );
    }
}
