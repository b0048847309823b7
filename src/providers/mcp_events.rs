//! MCP Events deliveries (SEP-3415's webhook mode): hookd as the receiver of another MCP server's
//! events, so an assistant has one inbox. Signed with Standard Webhooks using the `whsec_` secret
//! the subscriber gave that server (`delivery.secret`), so a source needs one. The `verification`
//! envelope is answered with its challenge once its signature checks; an `EventOccurrence` is
//! stored with type = its `name`, `occurred_at` = its `timestamp`, subject = the
//! `X-MCP-Subscription-Id` header and delivery id = `webhook-id` (retries dedupe); the `gap` and
//! `terminated` envelopes are stored as events of those types, so the assistant sees them too.

use chrono::DateTime;

use super::standard_webhooks::StandardWebhooks;
use super::{Answer, Incoming, Normalized, Provider, header};
use crate::event::PayloadEncoding;
use crate::payload::{str_at, text};
use crate::secret::Secret;
use crate::signature::{Delivery, Rejection, ToSign};

#[derive(Debug)]
pub struct McpEvents;

impl Provider for McpEvents {
    fn name(&self) -> &'static str {
        "mcp-events"
    }

    fn receives_mcp_events(&self) -> bool {
        true
    }

    fn requires_secret(&self) -> Option<&'static str> {
        Some("the whsec_ secret you give the server in events/subscribe's delivery.secret")
    }

    /// Signed, and identified, as any Standard Webhooks sender.
    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        StandardWebhooks.verify(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        StandardWebhooks.sign(secret, d)
    }

    fn identify(&self, event_type: Option<&str>, delivery_id: &str) -> Vec<(String, String)> {
        StandardWebhooks.identify(event_type, delivery_id)
    }

    fn challenge(&self, d: &Incoming<'_>, _secrets: &[Secret]) -> Option<Answer> {
        if d.encoding != PayloadEncoding::Json {
            return None;
        }
        (str_at(d.body, "type") == Some("verification"))
            .then(|| text(d.body, "challenge"))
            .flatten()
            .map(|c| Answer::json(serde_json::json!({ "challenge": c })))
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let body = d.body;
        n.subject = header(d.headers, "x-mcp-subscription-id");
        let (kind, summary) = match str_at(body, "type") {
            Some("gap") => (
                "gap".to_owned(),
                format!(
                    "events were skipped; the subscription resumes from cursor {}",
                    str_at(body, "cursor").unwrap_or("(none)")
                ),
            ),
            Some("terminated") => (
                "terminated".to_owned(),
                format!(
                    "the subscription ended: {}",
                    str_at(body, "error/message").unwrap_or("no reason given")
                ),
            ),
            Some(other) => (other.to_owned(), format!("{other} envelope")),
            None => {
                let name = str_at(body, "name").unwrap_or("unknown").to_owned();
                n.occurred_at = str_at(body, "timestamp")
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.to_utc());
                // The sender's own one-line summary where its data has one (hookd's does).
                let summary = match (str_at(body, "data/summary"), str_at(body, "eventId")) {
                    (Some(said), _) => format!("{name}: {said}"),
                    (None, Some(id)) => format!("{name} event {id}"),
                    (None, None) => format!("{name} event"),
                };
                (name, summary)
            }
        };
        n.event_type = kind;
        n.summary = Some(summary);
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    fn headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("webhook-id", "github:72d3".parse().unwrap());
        h.insert("x-mcp-subscription-id", "sub_0123".parse().unwrap());
        h
    }

    #[test]
    fn an_occurrence_is_its_name_time_and_subscription() {
        let body = r#"{"eventId":"github:72d3","name":"github","timestamp":"2026-12-02T04:00:00Z",
                       "data":{"id":7},"cursor":"7"}"#;
        let n = read("mcp-events", &headers(), body);
        assert_eq!(n.event_type, "github");
        assert_eq!(n.delivery_id.as_deref(), Some("github:72d3"));
        assert_eq!(n.subject.as_deref(), Some("sub_0123"));
        assert_eq!(
            n.occurred_at.unwrap().to_rfc3339(),
            "2026-12-02T04:00:00+00:00"
        );
        assert_eq!(n.summary.as_deref(), Some("github event github:72d3"));
    }

    #[test]
    fn the_senders_summary_is_kept() {
        let body = r#"{"eventId":"e","name":"github","timestamp":"2026-12-02T04:00:00Z",
                       "data":{"summary":"octocat pushed 1 commit(s)"}}"#;
        let n = read("mcp-events", &headers(), body);
        assert_eq!(
            n.summary.as_deref(),
            Some("github: octocat pushed 1 commit(s)")
        );
    }

    #[test]
    fn control_envelopes_are_events_of_their_type() {
        let gap = read("mcp-events", &headers(), r#"{"type":"gap","cursor":"41"}"#);
        assert_eq!(gap.event_type, "gap");
        assert!(gap.summary.unwrap().contains("cursor 41"));
        let end = r#"{"type":"terminated","error":{"code":-32012,"message":"access revoked"}}"#;
        let end = read("mcp-events", &headers(), end);
        assert_eq!(end.event_type, "terminated");
        assert!(end.summary.unwrap().contains("access revoked"));
    }
}
