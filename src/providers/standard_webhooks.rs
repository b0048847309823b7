//! Standard Webhooks (Svix, Clerk, Resend, OpenAI, …): signed with `webhook-signature` (or
//! `svix-signature`); type = body `type` (generic), id = `webhook-id` (generic) or `svix-id`,
//! occurred_at = `webhook-timestamp` (or `svix-timestamp`).

use super::{Incoming, Normalized, Provider, generic, header};
use crate::secret::Secret;
use crate::signature::{self, Delivery, Rejection, ToSign};

#[derive(Debug)]
pub struct StandardWebhooks;

impl Provider for StandardWebhooks {
    fn name(&self) -> &'static str {
        "standard-webhooks"
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        signature::standard::verify(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        signature::standard::sign(secret, d)
    }

    /// The delivery id travels in `webhook-id`, with the signature.
    fn identify(&self, event_type: Option<&str>, _delivery_id: &str) -> Vec<(String, String)> {
        generic::identify(event_type, None)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let h = d.headers;
        n.occurred_at = header(h, "webhook-timestamp")
            .or_else(|| header(h, "svix-timestamp"))
            .and_then(|t| t.parse().ok())
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0));
        n.delivery_id = n.delivery_id.take().or_else(|| header(h, "svix-id"));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn svix_headers_give_the_id_and_time() {
        let mut h = HeaderMap::new();
        h.insert("svix-id", "msg_1".parse().unwrap());
        h.insert("svix-timestamp", "1614265330".parse().unwrap());
        let n = read("standard-webhooks", &h, r#"{"type":"user.created"}"#);
        assert_eq!(n.event_type, "user.created");
        assert_eq!(n.delivery_id.as_deref(), Some("msg_1"));
        assert_eq!(n.occurred_at.unwrap().timestamp(), 1_614_265_330);
    }
}
