//! GitHub: type from `X-GitHub-Event` (with the payload's `action`), delivery id from
//! `X-GitHub-Delivery` (both generic), subject = `repository.full_name`.
//!
//! Push payloads are the busiest webhooks hookd sees, so this reads a few typed fields and lets
//! serde skip the rest instead of building a tree of the whole payload.

use serde::Deserialize;

use super::{Body, Normalized};

#[derive(Deserialize, Default)]
#[serde(default)]
struct Payload {
    action: Option<String>,
    repository: Option<Repo>,
    sender: Option<Login>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    commits: Option<Vec<serde::de::IgnoredAny>>,
    pull_request: Option<Titled>,
    issue: Option<Titled>,
    release: Option<Release>,
    zen: Option<String>,
}

#[derive(Deserialize)]
struct Repo {
    full_name: String,
}
#[derive(Deserialize)]
struct Login {
    login: String,
}
#[derive(Deserialize)]
struct Titled {
    number: u64,
    title: String,
}
#[derive(Deserialize)]
struct Release {
    tag_name: String,
}

pub fn apply(n: &mut Normalized, body: &Body<'_>) {
    let Ok(p) = serde_json::from_str::<Payload>(body.json) else {
        return;
    };
    n.subject = p.repository.as_ref().map(|r| r.full_name.clone());
    let who = p
        .sender
        .map(|s| s.login)
        .unwrap_or_else(|| "someone".into());
    let repo = n.subject.clone().unwrap_or_default();
    let action = p.action.as_deref().unwrap_or("");
    n.summary = Some(match n.event_type.as_str() {
        "push" => format!(
            "{who} pushed {} commit(s) to {} in {repo}",
            p.commits.map_or(0, |c| c.len()),
            p.git_ref.as_deref().unwrap_or("?")
        ),
        "pull_request" => match p.pull_request {
            Some(pr) => format!(
                "{who} {action} PR #{} \"{}\" in {repo}",
                pr.number, pr.title
            ),
            None => format!("{who} {action} a pull request in {repo}"),
        },
        "issues" => match p.issue {
            Some(i) => format!(
                "{who} {action} issue #{} \"{}\" in {repo}",
                i.number, i.title
            ),
            None => format!("{who} {action} an issue in {repo}"),
        },
        "release" => match p.release {
            Some(r) => format!("{who} {action} release {} in {repo}", r.tag_name),
            None => format!("{who} {action} a release in {repo}"),
        },
        "ping" => format!("ping from {repo}: {}", p.zen.unwrap_or_default()),
        other if !action.is_empty() => format!("{other} {action} by {who} in {repo}"),
        other => format!("{other} by {who} in {repo}"),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PayloadEncoding;

    fn run(event: &str, json: &str) -> Normalized {
        let mut n = Normalized {
            event_type: event.into(),
            ..Default::default()
        };
        apply(
            &mut n,
            &Body {
                encoding: PayloadEncoding::Json,
                json,
            },
        );
        n
    }

    #[test]
    fn real_payloads_get_subject_and_summary() {
        let push = run(
            "push",
            include_str!("../../../tests/fixtures/github/push.json"),
        );
        assert_eq!(push.subject.as_deref(), Some("Codertocat/Hello-World"));
        assert_eq!(
            push.summary.as_deref(),
            Some("Codertocat pushed 1 commit(s) to refs/heads/master in Codertocat/Hello-World")
        );
        let issue = run(
            "issues",
            include_str!("../../../tests/fixtures/github/issues.opened.json"),
        );
        assert!(
            issue
                .summary
                .unwrap()
                .contains("opened issue #1 \"Spelling error in the README file\"")
        );
        let ping = run(
            "ping",
            include_str!("../../../tests/fixtures/github/ping.json"),
        );
        assert!(ping.summary.unwrap().starts_with("ping from"));
    }
}
