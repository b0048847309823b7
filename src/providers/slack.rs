//! Slack: signed with `X-Slack-Signature` over a timestamp; Events API envelopes (delivery id =
//! `event_id`, type = the inner `event.type`, else the envelope's `type`), slash commands and
//! interactive posts (form bodies), and the Events API URL handshake. Slack's retries
//! (`X-Slack-Retry-Num`) carry the same `event_id`, so they dedupe to the first delivery.

use super::{Answer, Incoming, Normalized, Provider, unix};
use crate::event::PayloadEncoding;
use crate::payload::{Json, at, str_at, text};
use crate::secret::Secret;
use crate::signature::{
    Delivery, HmacSha256, Rejection, ToSign, check_timestamp, hmac_matches, mac,
};

#[derive(Debug)]
pub struct Slack;

impl Provider for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        verify(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        sign(secret, d)
    }

    /// `{"type":"url_verification","challenge":…}` → the challenge.
    fn challenge(&self, d: &Incoming<'_>, _secrets: &[Secret]) -> Option<Answer> {
        if d.encoding != PayloadEncoding::Json {
            return None;
        }
        (str_at(d.body, "type") == Some("url_verification"))
            .then(|| text(d.body, "challenge"))
            .flatten()
            .map(|c| Answer::json(serde_json::json!({ "challenge": c })))
    }

    /// Events API deliveries carry `event_id`; slash commands and interactions name theirs by a
    /// `trigger_id` Slack issues, which a replay cannot change.
    fn with_delivery_id(&self, body: &[u8], delivery_id: &str) -> Option<Vec<u8>> {
        super::with_field(body, "event_id", delivery_id)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        match d.encoding {
            PayloadEncoding::Form if at(v, "command").is_some() => {
                n.event_type = "slash_command".into();
                n.delivery_id = text(v, "trigger_id");
                n.subject = str_at(v, "channel_name").map(|c| format!("#{c}"));
                n.summary = Some(format!(
                    "{} ran {} {}",
                    str_at(v, "user_name").unwrap_or_default(),
                    str_at(v, "command").unwrap_or_default(),
                    str_at(v, "text").unwrap_or_default()
                ));
            }
            PayloadEncoding::Form if at(v, "payload").is_some() => {
                // Interactive components post `payload=<JSON>`: a small second document.
                let inner = str_at(v, "payload").and_then(|p| crate::payload::parse(p).ok());
                let inner = inner.unwrap_or(Json::Null);
                n.event_type = "interactive".into();
                n.delivery_id = text(&inner, "trigger_id").or_else(|| text(&inner, "action_ts"));
                n.summary = str_at(&inner, "type").map(|t| format!("interactive {t}"));
            }
            _ => {
                if let Some(t) = text(v, "event/type").or_else(|| text(v, "type")) {
                    n.event_type = t;
                }
                n.delivery_id = text(v, "event_id").or(n.delivery_id.take());
                n.occurred_at = unix(v, "event_time", false);
                n.subject = text(v, "event/channel");
                n.summary = str_at(v, "event/text").map(|t| t.chars().take(120).collect());
            }
        }
    }
}

// ---- The signature ----
// Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + ts + ":" + body)>` with
// `X-Slack-Request-Timestamp` within 5 minutes.

const SIGNATURE: &str = "x-slack-signature";
const TIMESTAMP: &str = "x-slack-request-timestamp";
const TOLERANCE: u64 = 300;

fn verify(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
    let ts = d.header(TIMESTAMP)?;
    let sig = d
        .header(SIGNATURE)?
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| Rejection::Malformed(SIGNATURE.to_owned()))?;
    let signed = secrets.iter().any(|s| {
        let parts: [&[u8]; 4] = [b"v0:", ts.as_bytes(), b":", d.body];
        hmac_matches::<HmacSha256>(s.expose().as_bytes(), &parts, &sig)
    });
    if !signed {
        return Err(Rejection::BadSignature);
    }
    check_timestamp(ts, TIMESTAMP, d.now, TOLERANCE).map(|_| ())
}

/// The headers Slack would send for `d`.
fn sign(secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
    let ts = d.now.to_string();
    let parts: [&[u8]; 4] = [b"v0:", ts.as_bytes(), b":", d.body];
    let sig = mac::<HmacSha256>(secret.expose().as_bytes(), &parts);
    vec![
        ("X-Slack-Request-Timestamp".into(), ts),
        (
            "X-Slack-Signature".into(),
            format!("v0={}", hex::encode(sig)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::{read, read_tree};
    use super::*;

    #[test]
    fn events_api_envelopes_use_the_inner_event() {
        let n = read(
            "slack",
            &HeaderMap::new(),
            include_str!("../../tests/fixtures/slack/event_callback.app_mention.json"),
        );
        assert_eq!(n.event_type, "app_mention");
        assert_eq!(n.delivery_id.as_deref(), Some("Ev5IECGV8GCQ"));
        assert_eq!(n.subject.as_deref(), Some("C07H8KX6A2M"));
    }

    #[test]
    fn slash_commands_and_the_handshake() {
        let form = crate::ingest::body::decode(
            Some("application/x-www-form-urlencoded"),
            include_bytes!("../../tests/fixtures/slack/slash_command.txt"),
        )
        .unwrap();
        let n = read_tree(&Slack, &HeaderMap::new(), PayloadEncoding::Form, &form.tree);
        assert_eq!(n.event_type, "slash_command");
        assert!(n.summary.unwrap().contains("/hookd"));
        let hs = include_str!("../../tests/fixtures/slack/url_verification.json");
        let tree = crate::payload::parse(hs.trim()).unwrap();
        let settings = super::super::Settings::default();
        let d = Incoming {
            headers: &HeaderMap::new(),
            encoding: PayloadEncoding::Json,
            body: &tree,
            received_at: chrono::Utc::now(),
            settings: &settings,
        };
        assert!(Slack.challenge(&d, &[]).is_some());
    }
}

#[cfg(test)]
mod signature_tests {
    use super::*;
    use crate::signature::test_support;

    // Slack docs, "Verifying requests from Slack" (step-by-step walk-through).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

    fn check(secret: &str, body: &str, now: i64) -> Result<(), Rejection> {
        let pairs = [(SIGNATURE, SIG), (TIMESTAMP, TS)];
        test_support::check(verify, &[secret], &pairs, body.as_bytes(), now)
    }

    #[test]
    fn the_documented_vector_verifies_at_its_time() {
        assert_eq!(check(SECRET, BODY, 1_531_420_618 + 60), Ok(()));
    }

    #[test]
    fn stale_future_tampered_wrong_secret_and_missing_are_refused() {
        let ts: i64 = TS.parse().unwrap();
        assert_eq!(
            check(SECRET, BODY, ts + 301),
            Err(Rejection::StaleTimestamp(300))
        );
        assert_eq!(
            check(SECRET, BODY, ts - 301),
            Err(Rejection::FutureTimestamp(300))
        );
        assert_eq!(
            check(SECRET, &BODY.replace("roadrunner", "coyote"), ts),
            Err(Rejection::BadSignature)
        );
        assert_eq!(check("0000", BODY, ts), Err(Rejection::BadSignature));
        let no_time = [(SIGNATURE, SIG)];
        assert_eq!(
            test_support::check(verify, &[SECRET], &no_time, BODY.as_bytes(), ts),
            Err(Rejection::MissingHeader(TIMESTAMP.into()))
        );
    }
}
