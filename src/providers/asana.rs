//! Asana: when a webhook is created, Asana POSTs a handshake carrying `X-Hook-Secret`, which
//! must be echoed back; that secret then signs every delivery with `X-Hook-Signature` (hex
//! HMAC-SHA256 of the body). hookd accepts the handshake only while the operator has an
//! enrolment window open for the source (`hookd enrol SOURCE`), and keeps the secret in the
//! store (see `Ingest`). A delivery is a batch of events (empty: a heartbeat): type = the first
//! one's `<resource_type>.<action>` (`task.changed`), subject = its resource, summary = how many.

use std::sync::LazyLock;

use super::{Incoming, Normalized, Provider};
use crate::payload::{Json, at, str_at, text};
use crate::signature::{Algorithm, Encoding, HmacScheme, Scheme};

static SCHEME: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "X-Hook-Signature",
        "",
        Algorithm::Sha256,
        Encoding::Hex,
        "{body}",
    )
});

#[derive(Debug)]
pub struct Asana;

impl Provider for Asana {
    fn name(&self) -> &'static str {
        "asana"
    }

    fn timed(&self) -> bool {
        false
    }

    fn enrols(&self) -> Option<&'static str> {
        Some("x-hook-secret")
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*SCHEME)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let Some(events) = at(d.body, "events").and_then(Json::as_array) else {
            return;
        };
        let Some(first) = events.first() else {
            n.event_type = "heartbeat".into();
            n.summary = Some("no events (Asana's heartbeat)".into());
            return;
        };
        let kind = str_at(first, "resource/resource_type").unwrap_or("resource");
        if let Some(action) = str_at(first, "action") {
            n.event_type = format!("{kind}.{action}");
        }
        n.subject = text(first, "resource/gid");
        n.occurred_at = super::rfc3339(first, "created_at");
        let kinds =
            super::describe::tally(events.iter().map(|e| str_at(e, "action").unwrap_or("?")));
        n.summary = Some(match events.len() {
            1 => format!("{kind} {} {kinds}", n.subject.as_deref().unwrap_or("?")),
            k => format!("{k} events: {kinds}"),
        });
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn a_batch_and_a_heartbeat_read() {
        let body = r#"{"events":[{"user":{"gid":"1"},"created_at":"2024-01-02T03:04:05.000Z","action":"changed","resource":{"gid":"1199","resource_type":"task"}}]}"#;
        let n = read("asana", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "task.changed");
        assert_eq!(n.subject.as_deref(), Some("1199"));
        assert_eq!(n.summary.as_deref(), Some("task 1199 changed"));
        let n = read("asana", &HeaderMap::new(), r#"{"events":[]}"#);
        assert_eq!(n.event_type, "heartbeat");
    }
}
