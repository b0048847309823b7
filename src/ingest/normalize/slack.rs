//! Slack: Events API envelopes (delivery id = `event_id`, type = the inner `event.type`, else the
//! envelope's `type`), slash commands and interactive posts (form bodies). Slack's retries
//! (`X-Slack-Retry-Num`) carry the same `event_id`, so they dedupe to the first delivery.

use axum::http::HeaderMap;
use serde_json::Value;

use super::{Body, Normalized, text, unix};
use crate::event::PayloadEncoding;

pub fn apply(n: &mut Normalized, _headers: &HeaderMap, body: &Body<'_>) {
    let v = body.value();
    match body.encoding {
        PayloadEncoding::Form if v.get("command").is_some() => {
            n.event_type = "slash_command".into();
            n.delivery_id = text(&v, "/trigger_id");
            n.subject = text(&v, "/channel_name").map(|c| format!("#{c}"));
            n.summary = Some(format!(
                "{} ran {} {}",
                text(&v, "/user_name").unwrap_or_default(),
                text(&v, "/command").unwrap_or_default(),
                text(&v, "/text").unwrap_or_default()
            ));
        }
        PayloadEncoding::Form if v.get("payload").is_some() => {
            // Interactive components post `payload=<JSON>`.
            let inner: Value = text(&v, "/payload")
                .and_then(|p| serde_json::from_str(&p).ok())
                .unwrap_or_default();
            n.event_type = "interactive".into();
            n.delivery_id = text(&inner, "/trigger_id").or_else(|| text(&inner, "/action_ts"));
            n.summary = text(&inner, "/type").map(|t| format!("interactive {t}"));
        }
        _ => {
            if let Some(t) = text(&v, "/event/type").or_else(|| text(&v, "/type")) {
                n.event_type = t;
            }
            n.delivery_id = text(&v, "/event_id").or(n.delivery_id.take());
            n.occurred_at = unix(&v, "/event_time", false);
            n.subject = text(&v, "/event/channel");
            n.summary = text(&v, "/event/text").map(|t| t.chars().take(120).collect());
        }
    }
}

/// The Events API URL handshake: `{"type":"url_verification","challenge":…}` → the challenge.
pub fn challenge(body: &Body<'_>) -> Option<String> {
    if body.encoding != PayloadEncoding::Json {
        return None;
    }
    let v = body.value();
    (text(&v, "/type").as_deref() == Some("url_verification"))
        .then(|| text(&v, "/challenge"))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(encoding: PayloadEncoding, json: &str) -> Normalized {
        let mut n = Normalized::default();
        apply(&mut n, &HeaderMap::new(), &Body { encoding, json });
        n
    }

    #[test]
    fn events_api_envelopes_use_the_inner_event() {
        let n = run(
            PayloadEncoding::Json,
            include_str!("../../../tests/fixtures/slack/event_callback.app_mention.json"),
        );
        assert_eq!(n.event_type, "app_mention");
        assert_eq!(n.delivery_id.as_deref(), Some("Ev5IECGV8GCQ"));
        assert_eq!(n.subject.as_deref(), Some("C07H8KX6A2M"));
    }

    #[test]
    fn slash_commands_and_the_handshake() {
        let form = crate::ingest::body::decode(
            Some("application/x-www-form-urlencoded"),
            include_bytes!("../../../tests/fixtures/slack/slash_command.txt"),
            false,
        )
        .unwrap();
        let n = run(PayloadEncoding::Form, form.payload.get());
        assert_eq!(n.event_type, "slash_command");
        assert!(n.summary.unwrap().contains("/hookd"));
        let hs = include_str!("../../../tests/fixtures/slack/url_verification.json");
        let body = Body {
            encoding: PayloadEncoding::Json,
            json: hs,
        };
        assert!(challenge(&body).is_some());
    }
}
