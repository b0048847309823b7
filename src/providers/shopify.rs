//! Shopify: signed with `X-Shopify-Hmac-Sha256`; type = `X-Shopify-Topic`, id =
//! `X-Shopify-Event-Id` (else `X-Shopify-Webhook-Id`), subject = `X-Shopify-Shop-Domain`.

use super::{Incoming, Normalized, Provider, header};
use crate::secret::Secret;
use crate::signature::{self, Delivery, Rejection, ToSign};

#[derive(Debug)]
pub struct Shopify;

impl Provider for Shopify {
    fn name(&self) -> &'static str {
        "shopify"
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        signature::shopify::verify(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        signature::shopify::sign(secret, d)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let h = d.headers;
        if let Some(topic) = header(h, "x-shopify-topic") {
            n.event_type = topic;
        }
        n.delivery_id = header(h, "x-shopify-event-id")
            .or_else(|| header(h, "x-shopify-webhook-id"))
            .or(n.delivery_id.take());
        n.subject = header(h, "x-shopify-shop-domain");
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn headers_name_the_topic_shop_and_event() {
        let mut h = HeaderMap::new();
        h.insert("x-shopify-topic", "orders/create".parse().unwrap());
        h.insert(
            "x-shopify-event-id",
            "98880550-7158-44d4-b7cd-2c97c8a091b5".parse().unwrap(),
        );
        h.insert(
            "x-shopify-shop-domain",
            "example.myshopify.com".parse().unwrap(),
        );
        let n = read("shopify", &h, "{}");
        assert_eq!(n.event_type, "orders/create");
        assert_eq!(n.subject.as_deref(), Some("example.myshopify.com"));
        assert!(n.delivery_id.unwrap().starts_with("98880550"));
    }
}
