//! Bitbucket Cloud: signed with `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>`; type =
//! `X-Event-Key` (`repo:push`, `pullrequest:created`, …), delivery id = `X-Request-UUID` (else
//! `X-Hook-UUID`), subject = the repository's full name.

use super::{Incoming, Normalized, Provider, header};
use crate::payload::{first, str_at, text};
use crate::signature::Scheme;
use crate::signature::hub::HUB_SIGNATURE_SHA256;

#[derive(Debug)]
pub struct Bitbucket;

impl Provider for Bitbucket {
    fn name(&self) -> &'static str {
        "bitbucket"
    }

    fn timed(&self) -> bool {
        false
    }

    fn type_in_headers(&self) -> bool {
        true
    }

    fn infer_type(&self, body: &super::Json<'_>) -> Option<&'static str> {
        if crate::payload::at(body, "push").is_some() {
            Some("repo:push")
        } else if crate::payload::at(body, "pullrequest").is_some() {
            Some("pullrequest:updated")
        } else {
            None
        }
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*HUB_SIGNATURE_SHA256)
    }

    fn identify(&self, event_type: Option<&str>, delivery_id: &str) -> Vec<(String, String)> {
        let mut headers = vec![("X-Request-UUID".to_owned(), delivery_id.to_owned())];
        headers.extend(event_type.map(|t| ("X-Event-Key".to_owned(), t.to_owned())));
        headers
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let h = d.headers;
        let v = d.body;
        if let Some(t) = header(h, "x-event-key") {
            n.event_type = t;
        }
        n.delivery_id = header(h, "x-request-uuid")
            .or_else(|| header(h, "x-hook-uuid"))
            .or(n.delivery_id.take());
        n.subject = text(v, "repository/full_name");
        let who = str_at(v, "actor/display_name");
        let what = str_at(v, "pullrequest/title")
            .or_else(|| first(v, "push/changes").and_then(|c| str_at(c, "new/name")))
            .or_else(|| str_at(v, "issue/title"));
        n.summary = what.map(|w| match who {
            Some(a) => format!("{} {w} by {a}", n.event_type),
            None => format!("{} {w}", n.event_type),
        });
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn the_event_key_names_the_type() {
        let mut h = HeaderMap::new();
        h.insert("x-event-key", "repo:push".parse().unwrap());
        h.insert("x-request-uuid", "u-1".parse().unwrap());
        let body = r#"{"actor":{"display_name":"Ann"},"repository":{"full_name":"team/app"},"push":{"changes":[{"new":{"name":"main"}}]}}"#;
        let n = read("bitbucket", &h, body);
        assert_eq!(n.event_type, "repo:push");
        assert_eq!(n.delivery_id.as_deref(), Some("u-1"));
        assert_eq!(n.subject.as_deref(), Some("team/app"));
        assert_eq!(n.summary.as_deref(), Some("repo:push main by Ann"));
    }
}
