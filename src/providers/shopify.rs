//! Shopify: signed with `X-Shopify-Hmac-Sha256`; type = `X-Shopify-Topic`, id =
//! `X-Shopify-Event-Id` (else `X-Shopify-Webhook-Id`), subject = `X-Shopify-Shop-Domain`.

use super::{Incoming, Normalized, Provider, header};
use crate::secret::Secret;
use crate::signature::{Delivery, HmacSha256, Rejection, ToSign, body_signed_by_any, mac};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

#[derive(Debug)]
pub struct Shopify;

impl Provider for Shopify {
    fn name(&self) -> &'static str {
        "shopify"
    }

    fn timed(&self) -> bool {
        false
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        verify(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        sign(secret, d)
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

// ---- The signature ----
// Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`.

const HEADER: &str = "x-shopify-hmac-sha256";

fn verify(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
    let sig = B64
        .decode(d.header(HEADER)?)
        .map_err(|_| Rejection::Malformed(HEADER.to_owned()))?;
    body_signed_by_any::<HmacSha256>(secrets, d.body, &sig)
}

/// The header Shopify would send for `d`.
fn sign(secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
    let sig = mac::<HmacSha256>(secret.expose().as_bytes(), &[d.body]);
    vec![("X-Shopify-Hmac-Sha256".into(), B64.encode(sig))]
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

#[cfg(test)]
mod signature_tests {
    use super::*;
    use crate::signature::test_support::{headers, secrets};
    use hmac::Mac;

    #[test]
    fn base64_hmac_of_the_body() {
        let body = br#"{"id":820982911946154508,"email":"jon@example.com"}"#;
        let mut mac = HmacSha256::new_from_slice(b"shpss_secret").unwrap();
        mac.update(body);
        let sig = B64.encode(mac.finalize().into_bytes());
        let h = headers(&[(HEADER, &sig)]);
        let ok = Delivery {
            headers: &h,
            body,
            now: 0,
            url: "",
        };
        assert_eq!(verify(&secrets(&["shpss_secret"]), &ok), Ok(()));
        assert_eq!(
            verify(&secrets(&["other"]), &ok),
            Err(Rejection::BadSignature)
        );
        let tampered = Delivery {
            headers: &h,
            body: b"{}",
            now: 0,
            url: "",
        };
        assert_eq!(
            verify(&secrets(&["shpss_secret"]), &tampered),
            Err(Rejection::BadSignature)
        );
    }
}
