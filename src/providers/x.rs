//! X (the Account Activity API): X checks the URL with a GET carrying `?crc_token=…`, answered
//! with `{"response_token": "sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>"}` (nothing
//! stored); deliveries are signed with `x-twitter-webhooks-signature: sha256=<base64
//! HMAC-SHA256(consumer secret, body)>`. Type = the kind of events the delivery carries
//! (`tweet_create_events`, `favorite_events`, `direct_message_events`, …), subject =
//! `for_user_id`, summary = how many.

use std::sync::LazyLock;

use axum::http::Method;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;

use super::{Answer, Incoming, Normalized, Provider};
use crate::payload::{Json, text};
use crate::secret::Secret;
use crate::signature::{Algorithm, Delivery, Encoding, HmacScheme, HmacSha256, Scheme, mac};

static SCHEME: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "x-twitter-webhooks-signature",
        "sha256=",
        Algorithm::Sha256,
        Encoding::Base64,
        "{body}",
    )
});

const MAX_TOKEN: usize = 512;

#[derive(Debug)]
pub struct X;

impl Provider for X {
    fn name(&self) -> &'static str {
        "x"
    }

    fn timed(&self) -> bool {
        false
    }

    /// X's CRC proves the receiver knows the consumer secret: without one there is no answer.
    fn requires_secret(&self) -> Option<&'static str> {
        Some("the app's Consumer Secret, which X's CRC check is answered with")
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*SCHEME)
    }

    fn handshake(
        &self,
        method: &Method,
        d: &Delivery<'_>,
        secrets: &[Secret],
    ) -> Option<Result<Answer, String>> {
        if method == Method::POST {
            return None;
        }
        let Some(token) = d
            .query("crc_token")
            .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN)
        else {
            return Some(Err(format!(
                "a GET here is X's CRC check: ?crc_token= (1 to {MAX_TOKEN} bytes) expected"
            )));
        };
        let secret = secrets.first()?;
        let sig = mac::<HmacSha256>(secret.expose().as_bytes(), &[token.as_bytes()]);
        Some(Ok(Answer::json(
            json!({ "response_token": format!("sha256={}", B64.encode(sig)) }),
        )))
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        let Some(object) = v.as_object() else {
            return;
        };
        n.subject = text(v, "for_user_id");
        let events = object
            .iter()
            .find(|(k, _)| k.ends_with("_events") || k.ends_with("_event"));
        if let Some((kind, items)) = events {
            n.event_type = kind.to_string();
            let count = items.as_array().map_or(1, <[Json<'_>]>::len);
            n.summary = Some(format!("{count} {kind}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;

    /// The CRC answer, computed here independently as X documents it.
    #[test]
    fn the_crc_is_answered_with_the_hmac_of_the_token() {
        use hmac::Mac;
        let h = HeaderMap::new();
        let d = Delivery {
            headers: &h,
            body: b"",
            now: 0,
            url: "https://h/webhook/x?crc_token=9b4507b3",
        };
        let answer = X.handshake(&Method::GET, &d, &[Secret::new("consumer")]);
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"consumer").unwrap();
        m.update(b"9b4507b3");
        let expected = format!("sha256={}", B64.encode(m.finalize().into_bytes()));
        let body: serde_json::Value = serde_json::from_str(&answer.unwrap().unwrap().body).unwrap();
        assert_eq!(body["response_token"], expected.as_str());
        let none = Delivery {
            url: "https://h/webhook/x",
            ..d
        };
        assert!(matches!(
            X.handshake(&Method::GET, &none, &[Secret::new("c")]),
            Some(Err(_))
        ));
    }

    #[test]
    fn a_delivery_is_named_by_its_events() {
        let body =
            r#"{"for_user_id":"2244994945","tweet_create_events":[{"id_str":"1"},{"id_str":"2"}]}"#;
        let n = read("x", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "tweet_create_events");
        assert_eq!(n.subject.as_deref(), Some("2244994945"));
        assert_eq!(n.summary.as_deref(), Some("2 tweet_create_events"));
    }
}
