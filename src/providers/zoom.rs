//! Zoom: signed with `x-zm-signature: v0=<hex HMAC-SHA256(secret token, "v0:" + timestamp + ":"
//! + body)>` and `x-zm-request-timestamp` (5-minute tolerance). Before it sends events Zoom
//! validates the URL with a signed `endpoint.url_validation` event, answered with its
//! `plainToken` and `encryptedToken` (the hex HMAC-SHA256 of the token with the secret token);
//! nothing is stored. Type = `event` (`meeting.started`, …), delivery id = `x-zm-trackingid`,
//! occurred_at = `event_ts`, subject = the object's id, summary = its topic.

use std::sync::LazyLock;

use serde_json::json;

use super::{Answer, Incoming, Normalized, Provider, header, unix};
use crate::payload::{id_at, str_at, text};
use crate::secret::Secret;
use crate::signature::{HmacScheme, HmacSha256, Scheme, mac};

static SCHEME: LazyLock<HmacScheme> = LazyLock::new(|| HmacScheme {
    timestamp_header: Some("x-zm-request-timestamp".into()),
    tolerance_seconds: Some(300),
    ..HmacScheme::new(
        "x-zm-signature",
        "v0=",
        crate::signature::Algorithm::Sha256,
        crate::signature::Encoding::Hex,
        "v0:{timestamp}:{body}",
    )
});

/// The longest `plainToken` answered.
const MAX_TOKEN: usize = 256;

#[derive(Debug)]
pub struct Zoom;

impl Provider for Zoom {
    fn name(&self) -> &'static str {
        "zoom"
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*SCHEME)
    }

    fn challenge(&self, d: &Incoming<'_>, secrets: &[Secret]) -> Option<Answer> {
        if str_at(d.body, "event") != Some("endpoint.url_validation") {
            return None;
        }
        let token = str_at(d.body, "payload/plainToken")?;
        let secret = secrets.first()?;
        if token.len() > MAX_TOKEN {
            return None;
        }
        let encrypted = hex::encode(mac::<HmacSha256>(
            secret.expose().as_bytes(),
            &[token.as_bytes()],
        ));
        Some(Answer::json(
            json!({ "plainToken": token, "encryptedToken": encrypted }),
        ))
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "event") {
            n.event_type = t;
        }
        n.delivery_id = header(d.headers, "x-zm-trackingid").or(n.delivery_id.take());
        n.occurred_at = unix(v, "event_ts", true);
        n.subject = id_at(v, "payload/object/id");
        n.summary = str_at(v, "payload/object/topic").map(|t| format!("{}: {t}", n.event_type));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;

    #[test]
    fn a_meeting_event_names_the_meeting() {
        let body = r#"{"event":"meeting.started","event_ts":1700000000000,"payload":{"account_id":"a","object":{"id":"85331136001","topic":"Standup"}}}"#;
        let n = read("zoom", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "meeting.started");
        assert_eq!(n.subject.as_deref(), Some("85331136001"));
        assert_eq!(n.summary.as_deref(), Some("meeting.started: Standup"));
    }

    /// Zoom's documented answer: the token and its hex HMAC-SHA256 with the secret token,
    /// computed here independently.
    #[test]
    fn url_validation_is_answered_with_the_encrypted_token() {
        use hmac::Mac;
        let body = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
        let tree = crate::payload::parse(body).unwrap();
        let settings = super::super::Settings::default();
        let d = Incoming {
            headers: &HeaderMap::new(),
            encoding: crate::event::PayloadEncoding::Json,
            body: &tree,
            received_at: chrono::Utc::now(),
            settings: &settings,
        };
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"zoom-secret").unwrap();
        m.update(b"qgg8vlvZRS6UYooatFL8Aw");
        let expected = hex::encode(m.finalize().into_bytes());
        let answer = Zoom.challenge(&d, &[Secret::new("zoom-secret")]).unwrap();
        let got: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(got["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
        assert_eq!(got["encryptedToken"], expected.as_str());
        assert_eq!(Zoom.challenge(&d, &[]), None, "no secret, no answer");
    }
}
