//! Jira Cloud (webhooks with a secret): signed with `X-Hub-Signature: sha256=<hex HMAC-SHA256>`
//! of the body; type = `webhookEvent` (`jira:issue_created`, `comment_created`, …), delivery id =
//! `X-Atlassian-Webhook-Identifier`, subject = the issue key, summary = its summary line.

use super::{Incoming, Normalized, Provider, header, unix};
use crate::payload::{str_at, text};
use crate::signature::Scheme;
use crate::signature::hub::HUB_SIGNATURE_SHA256;

#[derive(Debug)]
pub struct Jira;

impl Provider for Jira {
    fn name(&self) -> &'static str {
        "jira"
    }

    fn timed(&self) -> bool {
        false
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*HUB_SIGNATURE_SHA256)
    }

    fn identify(&self, event_type: Option<&str>, delivery_id: &str) -> Vec<(String, String)> {
        let mut headers = super::generic::identify(event_type, None);
        headers.push(("X-Atlassian-Webhook-Identifier".into(), delivery_id.into()));
        headers
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "webhookEvent") {
            n.event_type = t;
        }
        n.delivery_id =
            header(d.headers, "x-atlassian-webhook-identifier").or(n.delivery_id.take());
        n.occurred_at = unix(v, "timestamp", true);
        n.subject = text(v, "issue/key");
        n.summary = str_at(v, "issue/fields/summary").map(|s| {
            let who = str_at(v, "user/displayName").map(|u| format!(" by {u}"));
            format!("{} {s}{}", n.event_type, who.unwrap_or_default())
        });
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn an_issue_event_names_the_issue() {
        let mut h = HeaderMap::new();
        h.insert("x-atlassian-webhook-identifier", "w-1".parse().unwrap());
        let body = r#"{"timestamp":1700000000000,"webhookEvent":"jira:issue_created","user":{"displayName":"Ann"},"issue":{"key":"ENG-7","fields":{"summary":"Login fails"}}}"#;
        let n = read("jira", &h, body);
        assert_eq!(n.event_type, "jira:issue_created");
        assert_eq!(n.delivery_id.as_deref(), Some("w-1"));
        assert_eq!(n.subject.as_deref(), Some("ENG-7"));
        assert_eq!(
            n.summary.as_deref(),
            Some("jira:issue_created Login fails by Ann")
        );
        assert_eq!(n.occurred_at.unwrap().timestamp(), 1_700_000_000);
    }
}
