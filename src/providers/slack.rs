//! Slack: signed with `X-Slack-Signature` over a timestamp; Events API envelopes (delivery id =
//! `event_id`, type = the inner `event.type`, else the envelope's `type`), slash commands and
//! interactive posts (form bodies), and the Events API URL handshake. Slack's retries
//! (`X-Slack-Retry-Num`) carry the same `event_id`, so they dedupe to the first delivery.

use super::{Incoming, Normalized, Provider, unix};
use crate::event::PayloadEncoding;
use crate::payload::{Json, at, str_at, text};
use crate::secret::Secret;
use crate::signature::{self, Delivery, Rejection, ToSign};

#[derive(Debug)]
pub struct Slack;

impl Provider for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        signature::slack::verify(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        signature::slack::sign(secret, d)
    }

    /// `{"type":"url_verification","challenge":…}` → the challenge.
    fn challenge(&self, d: &Incoming<'_>) -> Option<String> {
        if d.encoding != PayloadEncoding::Json {
            return None;
        }
        (str_at(d.body, "type") == Some("url_verification"))
            .then(|| text(d.body, "challenge"))
            .flatten()
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
        assert!(Slack.challenge(&d).is_some());
    }
}
