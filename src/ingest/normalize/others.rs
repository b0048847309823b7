//! The providers whose payloads need only a few fields: Standard Webhooks, GitLab, Shopify, Linear.

use axum::http::HeaderMap;

use super::{Body, Normalized, text};

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Standard Webhooks: type = body `type` (generic), id = `webhook-id` (generic), occurred_at =
/// `webhook-timestamp` (or `svix-timestamp`).
pub fn standard(n: &mut Normalized, headers: &HeaderMap, _body: &Body<'_>) {
    n.occurred_at = header(headers, "webhook-timestamp")
        .or_else(|| header(headers, "svix-timestamp"))
        .and_then(|t| t.parse().ok())
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    n.delivery_id = n.delivery_id.take().or_else(|| header(headers, "svix-id"));
}

/// GitLab: type = `object_kind` (`push`, `merge_request`, …), subject = the project path.
pub fn gitlab(n: &mut Normalized, body: &Body<'_>) {
    let v = body.value();
    if let Some(kind) = text(&v, "/object_kind") {
        n.event_type = kind;
    }
    n.subject = text(&v, "/project/path_with_namespace");
    n.summary = Some(format!(
        "{} in {}",
        n.event_type,
        n.subject.as_deref().unwrap_or("?")
    ));
}

/// Shopify: type = `X-Shopify-Topic`, id = `X-Shopify-Event-Id` (else `X-Shopify-Webhook-Id`),
/// subject = `X-Shopify-Shop-Domain`.
pub fn shopify(n: &mut Normalized, headers: &HeaderMap) {
    if let Some(topic) = header(headers, "x-shopify-topic") {
        n.event_type = topic;
    }
    n.delivery_id = header(headers, "x-shopify-event-id")
        .or_else(|| header(headers, "x-shopify-webhook-id"))
        .or(n.delivery_id.take());
    n.subject = header(headers, "x-shopify-shop-domain");
}

/// Linear: type = `<type>.<action>` (e.g. `Issue.create`), id = `Linear-Delivery`.
pub fn linear(n: &mut Normalized, headers: &HeaderMap, body: &Body<'_>) {
    let v = body.value();
    if let (Some(t), Some(a)) = (text(&v, "/type"), text(&v, "/action")) {
        n.event_type = format!("{t}.{a}");
    }
    n.delivery_id = header(headers, "linear-delivery").or(n.delivery_id.take());
    n.subject = text(&v, "/data/identifier").or_else(|| text(&v, "/data/id"));
    n.summary = text(&v, "/data/title").map(|t| format!("{} {t}", n.event_type));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PayloadEncoding;

    #[test]
    fn gitlab_push_and_merge_request() {
        let body = |json| Body {
            encoding: PayloadEncoding::Json,
            json,
        };
        let mut n = Normalized::default();
        gitlab(
            &mut n,
            &body(include_str!("../../../tests/fixtures/gitlab/push.json")),
        );
        assert_eq!(n.event_type, "push");
        assert!(n.subject.is_some());
        let mut n = Normalized::default();
        gitlab(
            &mut n,
            &body(include_str!(
                "../../../tests/fixtures/gitlab/merge_request.json"
            )),
        );
        assert_eq!(n.event_type, "merge_request");
    }

    #[test]
    fn shopify_headers_and_standard_webhooks_time() {
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
        let mut n = Normalized::default();
        shopify(&mut n, &h);
        assert_eq!(n.event_type, "orders/create");
        assert_eq!(n.subject.as_deref(), Some("example.myshopify.com"));
        assert!(n.delivery_id.unwrap().starts_with("98880550"));

        let mut h = HeaderMap::new();
        h.insert("svix-id", "msg_1".parse().unwrap());
        h.insert("svix-timestamp", "1614265330".parse().unwrap());
        let mut n = Normalized::default();
        let json = r#"{"type":"user.created"}"#;
        standard(
            &mut n,
            &h,
            &Body {
                encoding: PayloadEncoding::Json,
                json,
            },
        );
        assert_eq!(n.delivery_id.as_deref(), Some("msg_1"));
        assert_eq!(n.occurred_at.unwrap().timestamp(), 1_614_265_330);
    }

    #[test]
    fn linear_type_and_delivery() {
        let mut h = HeaderMap::new();
        h.insert("linear-delivery", "d-1".parse().unwrap());
        let json = r#"{"action":"create","type":"Issue","data":{"id":"x","identifier":"ENG-1","title":"Fix it"}}"#;
        let mut n = Normalized::default();
        linear(
            &mut n,
            &h,
            &Body {
                encoding: PayloadEncoding::Json,
                json,
            },
        );
        assert_eq!(
            (n.event_type.as_str(), n.delivery_id.as_deref()),
            ("Issue.create", Some("d-1"))
        );
        assert_eq!(n.subject.as_deref(), Some("ENG-1"));
    }
}
