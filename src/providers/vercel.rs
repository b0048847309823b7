//! Vercel: signed with `x-vercel-signature`; the current format (`type: "deployment.succeeded"`,
//! `payload.deployment`, `payload.project`) and the older one (`type: "deployment"`, flat
//! `payload`). Delivery id = the event `id`, occurred_at = `createdAt` (milliseconds), subject =
//! the project; deployments as derived rows.

use super::{Incoming, Normalized, Provider, unix};
use crate::derive::{Derived, deploy};
use crate::payload::{at, str_at, text};
use crate::secret::Secret;
use crate::signature::{self, Delivery, Rejection, ToSign};

#[derive(Debug)]
pub struct Vercel;

impl Provider for Vercel {
    fn name(&self) -> &'static str {
        "vercel"
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        signature::vercel::verify(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        signature::vercel::sign(secret, d)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "type") {
            n.event_type = t;
        }
        n.delivery_id = text(v, "id").or(n.delivery_id.take());
        n.occurred_at = unix(v, "createdAt", true);
        let payload = at(v, "payload");
        let p = |path: &str| payload.and_then(|p| str_at(p, path));
        n.subject = p("project/name")
            .or_else(|| p("deployment/name"))
            .or_else(|| p("project/id"))
            .or_else(|| p("project"))
            .or_else(|| p("name"))
            .map(str::to_owned);
        let url = p("deployment/url").or_else(|| p("url")).unwrap_or_default();
        let sha = p("deployment/meta/githubCommitSha");
        n.summary = Some(format!(
            "{} {} {url}{}",
            n.event_type,
            n.subject.as_deref().unwrap_or("?"),
            sha.map(|s| format!(" ({})", s.chars().take(7).collect::<String>()))
                .unwrap_or_default()
        ));
        let deployment = deploy::vercel(&n.event_type, v, d.received_at);
        n.derived.extend(deployment.map(Derived::Deployment));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn both_payload_formats() {
        let run = |json| read("vercel", &HeaderMap::new(), json);
        let new = run(include_str!(
            "../../tests/fixtures/vercel/deployment.created.json"
        ));
        assert_eq!(new.event_type, "deployment.created");
        assert!(new.delivery_id.unwrap().starts_with("uev_"));
        assert!(new.summary.unwrap().contains("(c163f0e)"));
        assert!(new.occurred_at.is_some());
        assert_eq!(new.derived.len(), 1, "a deployment row");
        let old = run(include_str!(
            "../../tests/fixtures/vercel/sentry.deployment.old-format.body"
        ));
        assert_eq!(old.event_type, "deployment");
        assert_eq!(old.subject.as_deref(), Some("nextjsblog-demo"));
    }

    /// A commit sha is cut by characters, not bytes: a multi-byte one cannot split a character.
    #[test]
    fn a_non_ascii_sha_is_cut_safely() {
        let json = r#"{"type":"deployment.created","payload":{"deployment":{"meta":{"githubCommitSha":"ééééé"}}}}"#;
        let n = read("vercel", &HeaderMap::new(), json);
        assert!(n.summary.unwrap().ends_with("(ééééé)"));
    }
}
