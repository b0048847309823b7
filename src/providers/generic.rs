//! What every delivery gets, whatever its source: the event type and delivery id from well-known
//! headers and the body (a provider's file refines them), and the headers `hookd send` names them
//! with when the provider has no headers of its own.

use axum::http::HeaderMap;

/// Headers that name the event type, most specific first.
const TYPE_HEADERS: &[&str] = &["x-github-event", "x-gitlab-event", "x-event-type"];

/// Headers that carry a provider's idempotency key, most specific first.
const DELIVERY_HEADERS: &[&str] = &[
    "x-github-delivery",
    "webhook-id",
    "svix-id",
    "x-gitlab-event-uuid",
    "idempotency-key",
    "x-request-id",
];

/// Longest accepted type or delivery id; longer values are cut (types) or rejected (ids).
pub const MAX_ID_LEN: usize = 256;

/// The event type: a known type header, else the body's top-level `type` string, else "unknown".
pub fn event_type(headers: &HeaderMap, body_type: Option<&str>) -> String {
    first_header(headers, TYPE_HEADERS)
        .or_else(|| body_type.map(str::trim))
        .filter(|t| !t.is_empty())
        .map(|t| truncate(t, MAX_ID_LEN))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The delivery id from the first idempotency header present, if any.
pub fn delivery_id(headers: &HeaderMap) -> Option<&str> {
    first_header(headers, DELIVERY_HEADERS).filter(|d| !d.is_empty())
}

/// Whether `name` is a header that carries a delivery id (the generic ones and the providers').
pub fn names_delivery(name: &str) -> bool {
    const PROVIDERS: &[&str] = &[
        "linear-delivery",
        "x-shopify-event-id",
        "x-shopify-webhook-id",
    ];
    DELIVERY_HEADERS
        .iter()
        .chain(PROVIDERS)
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// `X-Event-Type` (when a type is given) and `Idempotency-Key` (when a delivery id is given).
pub fn identify(event_type: Option<&str>, delivery_id: Option<&str>) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    if let Some(t) = event_type {
        headers.push(("X-Event-Type".into(), t.into()));
    }
    if let Some(id) = delivery_id {
        headers.push(("Idempotency-Key".into(), id.into()));
    }
    headers
}

fn first_header<'h>(headers: &'h HeaderMap, names: &[&str]) -> Option<&'h str> {
    names
        .iter()
        .find_map(|n| headers.get(*n))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn type_comes_from_headers_then_body_then_unknown() {
        let body = Some("invoice.paid");
        assert_eq!(
            event_type(&headers(&[("x-github-event", "push")]), body),
            "push"
        );
        assert_eq!(
            event_type(&headers(&[("x-event-type", "build")]), body),
            "build"
        );
        assert_eq!(event_type(&HeaderMap::new(), body), "invoice.paid");
        assert_eq!(event_type(&HeaderMap::new(), Some(" ")), "unknown");
        assert_eq!(event_type(&HeaderMap::new(), None), "unknown");
    }

    #[test]
    fn delivery_id_prefers_provider_headers() {
        let h = headers(&[("x-request-id", "r1"), ("x-github-delivery", "g1")]);
        assert_eq!(delivery_id(&h), Some("g1"));
        assert_eq!(
            delivery_id(&headers(&[("idempotency-key", "k")])),
            Some("k")
        );
        assert_eq!(delivery_id(&headers(&[("webhook-id", " ")])), None);
        assert_eq!(delivery_id(&HeaderMap::new()), None);
    }
}
