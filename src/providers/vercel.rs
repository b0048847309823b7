//! Vercel: signed with `x-vercel-signature`; the current format (`type: "deployment.succeeded"`,
//! `payload.deployment`, `payload.project`) and the older one (`type: "deployment"`, flat
//! `payload`). Delivery id = the event `id`, occurred_at = `createdAt` (milliseconds), subject =
//! the project; deployments as derived rows.

use super::{Incoming, Normalized, Provider, unix};
use crate::derive::{Derived, deploy};
use crate::payload::{at, str_at, text};
use crate::secret::Secret;
use crate::signature::{Delivery, HmacSha1, Rejection, ToSign, body_signed_by_any, mac};

#[derive(Debug)]
pub struct Vercel;

impl Provider for Vercel {
    fn name(&self) -> &'static str {
        "vercel"
    }

    fn toolsets(&self) -> &'static [crate::config::Toolset] {
        &[crate::config::Toolset::Deployments]
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

// ---- The signature ----
// Vercel: `x-vercel-signature: <hex HMAC-SHA1(secret, body)>`.

const HEADER: &str = "x-vercel-signature";

fn verify(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
    let sig =
        hex::decode(d.header(HEADER)?).map_err(|_| Rejection::Malformed(HEADER.to_owned()))?;
    body_signed_by_any::<HmacSha1>(secrets, d.body, &sig)
}

/// The header Vercel would send for `d`.
fn sign(secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
    let sig = mac::<HmacSha1>(secret.expose().as_bytes(), &[d.body]);
    vec![("x-vercel-signature".into(), hex::encode(sig))]
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

#[cfg(test)]
mod signature_tests {
    use super::*;
    use crate::signature::test_support;

    // getsentry/sentry's Vercel integration tests: both payload formats, exact bytes.
    const SECRET: &str = "AiK52QASLJXmCXX3X9gO2Zyh";
    const OLD: &[u8] =
        include_bytes!("../../tests/fixtures/vercel/sentry.deployment.old-format.body");
    const NEW: &[u8] =
        include_bytes!("../../tests/fixtures/vercel/sentry.deployment.created.new-format.body");

    fn check(secret: &str, sig: &str, body: &[u8]) -> Result<(), Rejection> {
        test_support::check(verify, &[secret], &[(HEADER, sig)], body, 0)
    }

    #[test]
    fn both_published_vectors_verify_and_tampering_does_not() {
        assert_eq!(
            check(SECRET, "74b587857986545361e8a4253b74cd6224d34869", OLD),
            Ok(())
        );
        assert_eq!(
            check(SECRET, "cecad6333f8652af7d4e9c7b6ad87f1c922a76d3", NEW),
            Ok(())
        );
        assert_eq!(
            check(SECRET, "cecad6333f8652af7d4e9c7b6ad87f1c922a76d3", OLD),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check("other", "74b587857986545361e8a4253b74cd6224d34869", OLD),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(SECRET, "zz", OLD),
            Err(Rejection::Malformed(HEADER.into()))
        );
    }
}
