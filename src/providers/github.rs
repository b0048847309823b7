//! GitHub: signed with `X-Hub-Signature-256`; type from `X-GitHub-Event` (generic), delivery id
//! from `X-GitHub-Delivery` (generic), subject = `repository.full_name`; pushes, deployments and
//! repository activity as derived rows.

use super::{Incoming, Normalized, Provider};
use crate::derive::{Derived, deploy, github};
use crate::payload::{Json, at, int, str_at};
use crate::secret::Secret;
use crate::signature::{Delivery, HmacSha256, Rejection, ToSign, body_signed_by_any, mac};

#[derive(Debug)]
pub struct GitHub;

impl Provider for GitHub {
    fn name(&self) -> &'static str {
        "github"
    }

    fn toolsets(&self) -> &'static [crate::config::Toolset] {
        &[
            crate::config::Toolset::Github,
            crate::config::Toolset::Deployments,
        ]
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

    fn type_in_headers(&self) -> bool {
        true
    }

    /// By the payload's top-level keys that only one kind of event has.
    fn infer_type(&self, body: &Json<'_>) -> Option<&'static str> {
        let has = |key: &str| at(body, key).is_some();
        Some(match () {
            _ if has("zen") && has("hook_id") => "ping",
            _ if has("commits") && has("ref") => "push",
            _ if has("pull_request") && has("review") => "pull_request_review",
            _ if has("pull_request") && has("comment") => "pull_request_review_comment",
            _ if has("pull_request") => "pull_request",
            _ if has("issue") && has("comment") => "issue_comment",
            _ if has("issue") => "issues",
            _ if has("release") => "release",
            _ if has("workflow_run") => "workflow_run",
            _ if has("workflow_job") => "workflow_job",
            _ if has("check_run") => "check_run",
            _ if has("check_suite") => "check_suite",
            _ if has("deployment_status") => "deployment_status",
            _ if has("deployment") => "deployment",
            _ if has("forkee") => "fork",
            _ => return None,
        })
    }

    fn identify(&self, event_type: Option<&str>, delivery_id: &str) -> Vec<(String, String)> {
        vec![
            ("X-GitHub-Event".into(), event_type.unwrap_or("ping").into()),
            ("X-GitHub-Delivery".into(), delivery_id.into()),
        ]
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let p = d.body;
        if !p.is_object() {
            return;
        }
        n.subject = str_at(p, "repository/full_name").map(str::to_owned);
        n.summary = Some(summary(&n.event_type, p));
        let t = n.event_type.as_str();
        if t == "push" {
            n.derived.extend(
                deploy::pushes(p, d.received_at)
                    .into_iter()
                    .map(Derived::Push),
            );
        }
        if matches!(t, "deployment" | "deployment_status") {
            n.derived
                .extend(deploy::github(t, p, d.received_at).map(Derived::Deployment));
        }
        n.derived
            .extend(github::activity(t, p, d.received_at).map(Derived::GitHub));
    }
}

/// One line: who did what where.
fn summary(event_type: &str, p: &Json<'_>) -> String {
    let who = str_at(p, "sender/login").unwrap_or("someone");
    let repo = str_at(p, "repository/full_name").unwrap_or_default();
    // Where, when the payload says (a delivery without a repository, e.g. an organization's).
    let place = match repo {
        "" => String::new(),
        r => format!(" in {r}"),
    };
    let action = str_at(p, "action").unwrap_or_default();
    let numbered = |key: &str| {
        Some((
            int(p, &format!("{key}/number"))?,
            str_at(p, &format!("{key}/title"))?,
        ))
    };
    match event_type {
        "push" => format!(
            "{who} pushed {} commit(s) to {}{place}",
            at(p, "commits")
                .and_then(Json::as_array)
                .map_or(0, <[_]>::len),
            str_at(p, "ref").unwrap_or("?")
        ),
        "pull_request" => match numbered("pull_request") {
            Some((number, title)) => {
                format!("{who} {action} PR #{number} \"{title}\"{place}")
            }
            None => format!("{who} {action} a pull request{place}"),
        },
        "issues" => match numbered("issue") {
            Some((number, title)) => {
                format!("{who} {action} issue #{number} \"{title}\"{place}")
            }
            None => format!("{who} {action} an issue{place}"),
        },
        "release" => match str_at(p, "release/tag_name") {
            Some(tag) => format!("{who} {action} release {tag}{place}"),
            None => format!("{who} {action} a release{place}"),
        },
        "ping" => format!("ping from {repo}: {}", str_at(p, "zen").unwrap_or_default()),
        other if !action.is_empty() => format!("{other} {action} by {who}{place}"),
        other => format!("{other} by {who}{place}"),
    }
}

// ---- The signature ----
// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.

const HEADER: &str = "x-hub-signature-256";

fn verify(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
    let value = d.header(HEADER)?;
    let sig = value
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| Rejection::Malformed(HEADER.to_owned()))?;
    body_signed_by_any::<HmacSha256>(secrets, d.body, &sig)
}

/// The header GitHub would send for `d`.
fn sign(secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
    let sig = mac::<HmacSha256>(secret.expose().as_bytes(), &[d.body]);
    vec![(
        "X-Hub-Signature-256".into(),
        format!("sha256={}", hex::encode(sig)),
    )]
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    fn run(event: &str, json: &str) -> super::Normalized {
        let mut h = HeaderMap::new();
        h.insert("x-github-event", event.parse().unwrap());
        read("github", &h, json)
    }

    #[test]
    fn a_summary_names_no_place_when_the_payload_has_no_repository() {
        let n = run("organization", r#"{"action":"member_added"}"#);
        assert_eq!(
            n.summary.as_deref(),
            Some("organization member_added by someone")
        );
    }

    #[test]
    fn real_payloads_get_subject_and_summary() {
        let push = run(
            "push",
            include_str!("../../tests/fixtures/github/push.json"),
        );
        assert_eq!(push.subject.as_deref(), Some("Codertocat/Hello-World"));
        assert_eq!(
            push.summary.as_deref(),
            Some("Codertocat pushed 1 commit(s) to refs/heads/master in Codertocat/Hello-World")
        );
        let issue = run(
            "issues",
            include_str!("../../tests/fixtures/github/issues.opened.json"),
        );
        assert!(
            issue
                .summary
                .unwrap()
                .contains("opened issue #1 \"Spelling error in the README file\"")
        );
        let ping = run(
            "ping",
            include_str!("../../tests/fixtures/github/ping.json"),
        );
        assert!(ping.summary.unwrap().starts_with("ping from"));
    }

    #[test]
    fn a_push_derives_its_commits_and_its_activity() {
        let n = run(
            "push",
            include_str!("../../tests/fixtures/github/push.multi_commit.json"),
        );
        let pushes = n
            .derived
            .iter()
            .filter(|r| matches!(r, crate::derive::Derived::Push(_)))
            .count();
        assert_eq!(pushes, 3);
        assert!(
            n.derived
                .iter()
                .any(|r| matches!(r, crate::derive::Derived::GitHub(a) if a.size == Some(3)))
        );
    }
}

#[cfg(test)]
mod signature_tests {
    use super::*;
    use crate::signature::test_support;

    // GitHub Docs, "Validating webhook deliveries" > "Testing the webhook payload validation".
    const SECRET: &str = "It's a Secret to Everybody";
    const SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn check(secret: &[&str], sig: Option<&str>, body: &[u8]) -> Result<(), Rejection> {
        let pairs = sig.map(|s| vec![(HEADER, s)]).unwrap_or_default();
        test_support::check(verify, secret, &pairs, body, 0)
    }

    #[test]
    fn the_documented_vector_verifies() {
        assert_eq!(check(&[SECRET], Some(SIG), b"Hello, World!"), Ok(()));
    }

    #[test]
    fn tampering_wrong_secrets_and_missing_headers_are_refused() {
        assert_eq!(
            check(&[SECRET], Some(SIG), b"Hello, World?"),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(&["wrong"], Some(SIG), b"Hello, World!"),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(&[SECRET], None, b"Hello, World!"),
            Err(Rejection::MissingHeader(HEADER.into()))
        );
        assert_eq!(
            check(&[SECRET], Some("sha1=abc"), b"x"),
            Err(Rejection::Malformed(HEADER.into()))
        );
    }

    #[test]
    fn a_rotated_secret_still_verifies() {
        assert_eq!(
            check(&["new secret", SECRET], Some(SIG), b"Hello, World!"),
            Ok(())
        );
    }
}
