//! GitHub: signed with `X-Hub-Signature-256`; type from `X-GitHub-Event` (generic), delivery id
//! from `X-GitHub-Delivery` (generic), subject = `repository.full_name`; pushes, deployments and
//! repository activity as derived rows.

use super::{Incoming, Normalized, Provider};
use crate::derive::{Derived, deploy, github};
use crate::payload::{Json, at, int, str_at};
use crate::signature::Scheme;
use crate::signature::hub::HubSignature256;

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

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&HubSignature256)
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
