//! Calendly: signed with `Calendly-Webhook-Signature: t=<unix>,v1=<hex HMAC-SHA256(signing key,
//! "t.body")>` (3-minute tolerance); type = `event` (`invitee.created`, `invitee.canceled`, …),
//! occurred_at = `created_at`, subject = the invitee's email, summary = who booked what.

use super::{Incoming, Normalized, Provider};
use crate::payload::{str_at, text};
use crate::signature::Scheme;
use crate::signature::pairs::Pairs;

const SCHEME: Pairs = Pairs {
    header: "Calendly-Webhook-Signature",
    separator: ',',
    time: Some("t"),
    signature: "v1",
    joiner: ".",
    tolerance: 180,
};

#[derive(Debug)]
pub struct Calendly;

impl Provider for Calendly {
    fn name(&self) -> &'static str {
        "calendly"
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&SCHEME)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "event") {
            n.event_type = t;
        }
        n.occurred_at = super::rfc3339(v, "created_at");
        n.subject = text(v, "payload/email");
        let event = str_at(v, "payload/scheduled_event/name");
        n.summary = match (str_at(v, "payload/name"), event) {
            (Some(who), Some(what)) => Some(format!("{}: {who}, {what}", n.event_type)),
            (Some(who), None) => Some(format!("{}: {who}", n.event_type)),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn an_invitee_is_the_subject() {
        let body = r#"{"created_at":"2024-03-01T10:00:00.000000Z","event":"invitee.created","payload":{"email":"ann@example.com","name":"Ann","scheduled_event":{"name":"Intro call"}}}"#;
        let n = read("calendly", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "invitee.created");
        assert_eq!(n.subject.as_deref(), Some("ann@example.com"));
        assert_eq!(
            n.summary.as_deref(),
            Some("invitee.created: Ann, Intro call")
        );
        assert!(n.occurred_at.is_some());
    }
}
