//! Cal.com: signed with `X-Cal-Signature-256` (hex HMAC-SHA256 of the body with the webhook's
//! secret); type = `triggerEvent` (`BOOKING_CREATED`, …), occurred_at = `createdAt`, subject = the
//! booking's uid, summary = its title and start.

use std::sync::LazyLock;

use super::{Incoming, Normalized, Provider};
use crate::payload::{str_at, text};
use crate::signature::{Algorithm, Encoding, HmacScheme, Scheme};

static SCHEME: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "X-Cal-Signature-256",
        "",
        Algorithm::Sha256,
        Encoding::Hex,
        "{body}",
    )
});

#[derive(Debug)]
pub struct Cal;

impl Provider for Cal {
    fn name(&self) -> &'static str {
        "cal"
    }

    fn timed(&self) -> bool {
        false
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*SCHEME)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "triggerEvent") {
            n.event_type = t;
        }
        n.occurred_at = super::rfc3339(v, "createdAt");
        n.subject = text(v, "payload/uid").or_else(|| text(v, "payload/bookingId"));
        n.summary = str_at(v, "payload/title").map(|t| match str_at(v, "payload/startTime") {
            Some(at) => format!("{}: {t} at {at}", n.event_type),
            None => format!("{}: {t}", n.event_type),
        });
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn a_booking_names_its_uid() {
        let body = r#"{"triggerEvent":"BOOKING_CREATED","createdAt":"2023-05-24T09:30:00.538Z","payload":{"uid":"bFJeNb2uX8ANpT3JL5EfXw","title":"30 min between Pro and Ann","startTime":"2023-05-25T09:30:00Z"}}"#;
        let n = read("cal", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "BOOKING_CREATED");
        assert_eq!(n.subject.as_deref(), Some("bFJeNb2uX8ANpT3JL5EfXw"));
        assert_eq!(
            n.summary.as_deref(),
            Some("BOOKING_CREATED: 30 min between Pro and Ann at 2023-05-25T09:30:00Z")
        );
        assert!(n.occurred_at.is_some());
    }
}
