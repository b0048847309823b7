//! Sentry integration webhooks: signed with `Sentry-Hook-Signature` (hex HMAC-SHA256 of the body
//! with the integration's client secret); type = `Sentry-Hook-Resource` and the payload's
//! `action` (e.g. `issue.created`, `event_alert.triggered`), delivery id = `Request-ID`, subject =
//! the issue's short id, summary = its title.

use std::sync::LazyLock;

use super::{Incoming, Normalized, Provider, header};
use crate::payload::{str_at, text};
use crate::signature::{Algorithm, Encoding, HmacScheme, Scheme};

static SCHEME: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "Sentry-Hook-Signature",
        "",
        Algorithm::Sha256,
        Encoding::Hex,
        "{body}",
    )
});

#[derive(Debug)]
pub struct Sentry;

impl Provider for Sentry {
    fn name(&self) -> &'static str {
        "sentry"
    }

    fn timed(&self) -> bool {
        false
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*SCHEME)
    }

    fn identify(&self, event_type: Option<&str>, delivery_id: &str) -> Vec<(String, String)> {
        let mut headers = vec![("Request-ID".to_owned(), delivery_id.to_owned())];
        let resource = event_type.map(|t| t.split('.').next().unwrap_or(t));
        headers.extend(resource.map(|r| ("Sentry-Hook-Resource".to_owned(), r.to_owned())));
        headers
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        let resource = header(d.headers, "sentry-hook-resource");
        n.event_type = match (resource, str_at(v, "action")) {
            (Some(r), Some(a)) => format!("{r}.{a}"),
            (Some(r), None) => r,
            (None, Some(a)) => a.to_owned(),
            (None, None) => std::mem::take(&mut n.event_type),
        };
        n.delivery_id = header(d.headers, "request-id").or(n.delivery_id.take());
        let issue = |f: &str| {
            text(v, &format!("data/issue/{f}")).or_else(|| text(v, &format!("data/event/{f}")))
        };
        n.subject = issue("shortId").or_else(|| issue("id"));
        n.summary = issue("title").map(|t| format!("{}: {t}", n.event_type));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn resource_and_action_make_the_type() {
        let mut h = HeaderMap::new();
        h.insert("sentry-hook-resource", "issue".parse().unwrap());
        h.insert("request-id", "r-1".parse().unwrap());
        let body = r#"{"action":"created","data":{"issue":{"id":"1170820242","shortId":"APP-1Z","title":"ZeroDivisionError"}}}"#;
        let n = read("sentry", &h, body);
        assert_eq!(n.event_type, "issue.created");
        assert_eq!(n.delivery_id.as_deref(), Some("r-1"));
        assert_eq!(n.subject.as_deref(), Some("APP-1Z"));
        assert_eq!(
            n.summary.as_deref(),
            Some("issue.created: ZeroDivisionError")
        );
    }
}
