//! GitHub activity: one row per repository event with what a maintainer wants to know (who,
//! what, which PR/issue/release/workflow, when by GitHub's own clock), for the activity tools.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::payload::{Json, at, int, str_at, text};

/// One GitHub event, compacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Activity {
    pub repo: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The payload's action; for pull requests closed by merging, `merged`.
    pub action: Option<String>,
    /// When it happened by GitHub's timestamps (a push's head commit, a PR's `updated_at`, …),
    /// else when hookd received it.
    #[serde(with = "crate::time::text")]
    #[schemars(with = "String")]
    pub time: DateTime<Utc>,
    /// Who did it (the pusher; a PR's or issue's author; else the sender).
    pub actor: Option<String>,
    /// PR or issue number.
    pub number: Option<i64>,
    /// PR/issue title, release tag, workflow name, head commit message, environment.
    pub title: Option<String>,
    /// Workflow conclusion, deployment state.
    pub state: Option<String>,
    /// The pushed branch.
    pub branch: Option<String>,
    /// Commits in a push (`size`, which counts past GitHub's 20-commit truncation).
    pub size: Option<i64>,
}

fn time(v: &Json<'_>, path: &str) -> Option<DateTime<Utc>> {
    str_at(v, path).and_then(|t| crate::time::parse_time(t).ok())
}

/// The activity row of a GitHub event, or `None` when it is not about a repository.
pub fn activity(
    event_type: &str,
    payload: &Json<'_>,
    received_at: DateTime<Utc>,
) -> Option<Activity> {
    let repo = text(payload, "repository/full_name")?;
    let mut a = Activity {
        repo,
        event_type: event_type.to_owned(),
        action: text(payload, "action"),
        time: received_at,
        actor: text(payload, "sender/login"),
        number: None,
        title: None,
        state: None,
        branch: None,
        size: None,
    };
    let when = match event_type {
        "push" => {
            let commits = at(payload, "commits").and_then(Json::as_array);
            a.actor = text(payload, "pusher/name").or(a.actor);
            a.branch = text(payload, "ref").map(|r| r.trim_start_matches("refs/heads/").to_owned());
            a.size = int(payload, "size").or_else(|| commits.map(|c| c.len() as i64));
            a.title = text(payload, "head_commit/message")
                .map(|m| m.lines().next().unwrap_or("").to_owned());
            time(payload, "head_commit/timestamp")
        }
        "pull_request" => {
            let merged = at(payload, "pull_request/merged").and_then(Json::as_bool) == Some(true);
            if a.action.as_deref() == Some("closed") && merged {
                a.action = Some("merged".into());
            }
            a.number = int(payload, "pull_request/number");
            a.title = text(payload, "pull_request/title");
            a.actor = text(payload, "pull_request/user/login").or(a.actor);
            time(payload, "pull_request/updated_at")
        }
        "issues" => {
            a.number = int(payload, "issue/number");
            a.title = text(payload, "issue/title");
            a.actor = text(payload, "issue/user/login").or(a.actor);
            time(payload, "issue/updated_at")
        }
        "release" => {
            a.title = text(payload, "release/tag_name");
            time(payload, "release/published_at")
        }
        "workflow_run" => {
            a.title = text(payload, "workflow_run/name");
            a.state = text(payload, "workflow_run/conclusion");
            time(payload, "workflow_run/updated_at")
        }
        "deployment_status" => {
            a.title = text(payload, "deployment/environment");
            a.state = text(payload, "deployment_status/state");
            time(payload, "deployment_status/created_at")
        }
        "issue_comment" => {
            a.number = int(payload, "issue/number");
            a.title = text(payload, "issue/title");
            time(payload, "comment/updated_at")
        }
        _ => None,
    };
    if let Some(t) = when {
        a.time = t;
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The activity row of a fixture's event of `event_type`.
    fn row(event_type: &str, name: &str) -> Option<Activity> {
        let p = format!(
            "{}/tests/fixtures/github/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(p).unwrap();
        let payload = crate::payload::parse(text.trim()).unwrap();
        activity(event_type, &payload, Utc::now())
    }

    #[test]
    fn merged_prs_are_told_apart_from_closed_ones() {
        let merged = row("pull_request", "pull_request.closed.merged.json").unwrap();
        assert_eq!(
            (merged.action.as_deref(), merged.number),
            (Some("merged"), Some(2))
        );
        let push = row("push", "push.multi_commit.json").unwrap();
        assert_eq!(
            (push.size, push.branch.as_deref()),
            (Some(3), Some("master"))
        );
        assert_eq!(
            crate::time::format_time(push.time),
            "2019-05-15T15:27:12.000000Z"
        );
        let run = row("workflow_run", "workflow_run.completed.json").unwrap();
        assert_eq!(run.state.as_deref(), Some("success"));
        let no_repo = crate::payload::parse(r#"{"zen": "hi"}"#).unwrap();
        assert_eq!(activity("ping", &no_repo, Utc::now()), None);
    }
}
