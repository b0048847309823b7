//! Paddle Billing: signed with `Paddle-Signature: ts=<unix>;h1=<hex HMAC-SHA256(secret key,
//! "ts:body")>` (5-minute tolerance; several `h1` while a secret rotates); type = `event_type`
//! (`transaction.completed`, …), delivery id = `event_id`, occurred_at = `occurred_at`, subject =
//! the entity's id, summary = its customer and status.

use super::{Incoming, Normalized, Provider};
use crate::payload::{str_at, text};
use crate::signature::Scheme;
use crate::signature::pairs::Pairs;

const SCHEME: Pairs = Pairs {
    header: "Paddle-Signature",
    separator: ';',
    time: Some("ts"),
    signature: "h1",
    joiner: ":",
    tolerance: 300,
};

#[derive(Debug)]
pub struct Paddle;

impl Provider for Paddle {
    fn name(&self) -> &'static str {
        "paddle"
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&SCHEME)
    }

    fn with_delivery_id(&self, body: &[u8], delivery_id: &str) -> Option<Vec<u8>> {
        super::with_field(body, "event_id", delivery_id)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "event_type") {
            n.event_type = t;
        }
        n.delivery_id = text(v, "event_id").or(n.delivery_id.take());
        n.occurred_at = super::rfc3339(v, "occurred_at");
        n.subject = text(v, "data/id");
        n.summary = str_at(v, "data/status").map(|s| {
            let customer = str_at(v, "data/customer_id").map(|c| format!(" for {c}"));
            format!("{}: {s}{}", n.event_type, customer.unwrap_or_default())
        });
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn a_transaction_event_names_the_transaction() {
        let body = r#"{"event_id":"evt_01h","event_type":"transaction.completed","occurred_at":"2024-04-12T10:18:49.621022Z","data":{"id":"txn_01h","status":"completed","customer_id":"ctm_01h"}}"#;
        let n = read("paddle", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "transaction.completed");
        assert_eq!(n.delivery_id.as_deref(), Some("evt_01h"));
        assert_eq!(n.subject.as_deref(), Some("txn_01h"));
        assert_eq!(
            n.summary.as_deref(),
            Some("transaction.completed: completed for ctm_01h")
        );
    }
}
