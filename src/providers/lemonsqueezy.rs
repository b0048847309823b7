//! Lemon Squeezy: signed with `X-Signature` (hex HMAC-SHA256 of the body with the webhook's
//! signing secret); type = `meta.event_name` (also `X-Event-Name`: `order_created`,
//! `subscription_updated`, …), subject = the object's id, summary = its customer and total.

use std::sync::LazyLock;

use super::{Incoming, Normalized, Provider, header};
use crate::payload::{str_at, text};
use crate::signature::{Algorithm, Encoding, HmacScheme, Scheme};

static SCHEME: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "X-Signature",
        "",
        Algorithm::Sha256,
        Encoding::Hex,
        "{body}",
    )
});

#[derive(Debug)]
pub struct LemonSqueezy;

impl Provider for LemonSqueezy {
    fn name(&self) -> &'static str {
        "lemonsqueezy"
    }

    fn timed(&self) -> bool {
        false
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*SCHEME)
    }

    fn identify(&self, event_type: Option<&str>, delivery_id: &str) -> Vec<(String, String)> {
        let mut headers = super::generic::identify(None, Some(delivery_id));
        headers.extend(event_type.map(|t| ("X-Event-Name".to_owned(), t.to_owned())));
        headers
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "meta/event_name").or_else(|| header(d.headers, "x-event-name")) {
            n.event_type = t;
        }
        n.subject = text(v, "data/id");
        let who = str_at(v, "data/attributes/user_email");
        let total = str_at(v, "data/attributes/total_formatted");
        n.summary = match (who, total) {
            (Some(w), Some(t)) => Some(format!("{}: {w}, {t}", n.event_type)),
            (Some(w), None) => Some(format!("{}: {w}", n.event_type)),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn meta_names_the_event() {
        let body = r#"{"meta":{"event_name":"order_created"},"data":{"type":"orders","id":"1","attributes":{"user_email":"jo@example.com","total_formatted":"$9.00"}}}"#;
        let n = read("lemonsqueezy", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "order_created");
        assert_eq!(n.subject.as_deref(), Some("1"));
        assert_eq!(
            n.summary.as_deref(),
            Some("order_created: jo@example.com, $9.00")
        );
    }
}
