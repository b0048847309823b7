//! Pushes and deployments, for correlating a commit with where it was deployed. Pushes come from
//! GitHub `push` events (one row per commit); deployments from Vercel (both payload formats) and
//! from GitHub `deployment` / `deployment_status` events (which Netlify, Render, GitHub Actions
//! and Vercel's GitHub integration emit).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::bounds::{MAX_ROWS, clipped};
use crate::payload::{Json, at, int, str_at, text};

/// One pushed commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Push {
    pub repo: String,
    pub branch: String,
    pub sha: String,
    pub message: String,
    pub author: String,
    /// The commit's own timestamp (when hookd received the push, if the commit has none).
    #[serde(with = "crate::time::text")]
    #[schemars(with = "String")]
    pub time: DateTime<Utc>,
}

/// One deployment state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Deployment {
    /// `vercel` or `github`.
    pub platform: String,
    /// Vercel project name, or the GitHub repository for GitHub deployments.
    pub project: String,
    pub deployment_id: String,
    /// `building`, `ready`, `error`, `canceled`, `pending`, … (normalized across platforms).
    pub state: String,
    pub url: Option<String>,
    pub sha: Option<String>,
    pub environment: Option<String>,
    /// When this state was reached.
    #[serde(with = "crate::time::text")]
    #[schemars(with = "String")]
    pub time: DateTime<Utc>,
    /// For a final state (`ready`, `error`, `canceled`): seconds since the deployment's first
    /// recorded state, when hookd saw it.
    pub duration_seconds: Option<i64>,
}

impl Deployment {
    /// Whether no further state follows this one.
    pub fn is_final(&self) -> bool {
        matches!(self.state.as_str(), "ready" | "error" | "canceled")
    }

    /// Sets `duration_seconds` from the time of the deployment's first recorded state.
    pub fn set_duration(&mut self, first: Option<DateTime<Utc>>) {
        self.duration_seconds = first
            .filter(|f| *f != self.time)
            .map(|f| (self.time - f).num_seconds());
    }
}

/// The commits of a GitHub `push` payload; `now` is when it arrived.
pub fn pushes(payload: &Json<'_>, now: DateTime<Utc>) -> Vec<Push> {
    let (Some(repo), Some(git_ref)) = (
        str_at(payload, "repository/full_name"),
        str_at(payload, "ref"),
    ) else {
        return Vec::new();
    };
    // Copied into every row: cut once, and at most `MAX_ROWS` rows (GitHub sends 20 commits at
    // most), so no body makes many copies of a long value.
    let branch = clipped(git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref));
    let repo = clipped(repo);
    let commits = at(payload, "commits")
        .and_then(Json::as_array)
        .unwrap_or_default();
    commits
        .iter()
        .filter_map(|c| {
            Some(Push {
                repo: repo.clone(),
                branch: branch.clone(),
                sha: text(c, "id")?,
                message: text(c, "message").unwrap_or_default(),
                author: text(c, "author/username")
                    .or_else(|| text(c, "author/name"))
                    .unwrap_or_default(),
                time: str_at(c, "timestamp")
                    .and_then(|t| crate::time::parse_time(t).ok())
                    .unwrap_or(now),
            })
        })
        .take(MAX_ROWS)
        .collect()
}

/// The event types whose deployment row can be a final state (`Deployment::is_final`): Vercel's
/// in either format, and GitHub's `deployment_status`. A watch for a deployment's end reads only
/// these.
pub fn final_types() -> Vec<String> {
    let ends = [
        "succeeded",
        "ready",
        "promoted",
        "error",
        "canceled",
        "cancelled",
    ];
    let vercel = ends
        .iter()
        .flat_map(|end| [format!("deployment.{end}"), format!("deployment-{end}")]);
    vercel.chain(["deployment_status".to_owned()]).collect()
}

/// A Vercel deployment event, current or old format; `now` is when it arrived.
pub fn vercel(event_type: &str, payload: &Json<'_>, now: DateTime<Utc>) -> Option<Deployment> {
    let p = at(payload, "payload")?;
    let state = match event_type
        .trim_start_matches("deployment")
        .trim_start_matches(['.', '-'])
    {
        "" | "created" => "building",
        "succeeded" | "ready" | "promoted" => "ready",
        "error" => "error",
        "canceled" | "cancelled" => "canceled",
        _ => return None,
    };
    let time = int(payload, "createdAt")
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or(now);
    Some(Deployment {
        platform: "vercel".into(),
        project: text(p, "deployment/name")
            .or_else(|| text(p, "project/name"))
            .or_else(|| text(p, "name"))
            .or_else(|| text(p, "project"))
            .or_else(|| text(p, "project/id"))?,
        deployment_id: text(p, "deployment/id").or_else(|| text(p, "deploymentId"))?,
        state: state.into(),
        url: text(p, "deployment/url").or_else(|| text(p, "url")),
        sha: text(p, "deployment/meta/githubCommitSha")
            .or_else(|| text(p, "deployment/meta/gitlabCommitSha")),
        environment: text(p, "target"),
        time,
        duration_seconds: None,
    })
}

/// A GitHub `deployment` (created: pending) or `deployment_status` event; `now` is when it
/// arrived.
pub fn github(event_type: &str, payload: &Json<'_>, now: DateTime<Utc>) -> Option<Deployment> {
    let d = at(payload, "deployment")?;
    let (state, time, url) = match event_type {
        "deployment" => ("pending".to_owned(), str_at(d, "created_at"), None),
        "deployment_status" => {
            let st = at(payload, "deployment_status")?;
            let state = match str_at(st, "state")? {
                "success" => "ready".to_owned(),
                "failure" | "error" => "error".to_owned(),
                "in_progress" | "queued" => "building".to_owned(),
                "inactive" => "inactive".to_owned(),
                other => other.to_owned(),
            };
            let url = text(st, "environment_url")
                .or_else(|| text(st, "target_url"))
                .filter(|u| !u.is_empty());
            (state, str_at(st, "created_at"), url)
        }
        _ => return None,
    };
    let id = at(d, "id")?;
    Some(Deployment {
        platform: "github".into(),
        project: text(payload, "repository/full_name")?,
        deployment_id: id.as_str().map_or_else(|| id.to_string(), str::to_owned),
        state,
        url,
        sha: text(d, "sha"),
        environment: text(d, "environment"),
        time: time
            .and_then(|t| crate::time::parse_time(t).ok())
            .unwrap_or(now),
        duration_seconds: None,
    })
}

/// `Ok(prefix)` for 7 to 40 hex characters (lower-cased), else a message saying what is expected.
pub fn sha_prefix(input: &str) -> Result<String, String> {
    let p = input.trim().to_ascii_lowercase();
    if (7..=40).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(p)
    } else {
        Err(format!(
            "commit_sha must be 7 to 40 hex characters, got {input:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f` applied to a fixture's parsed payload.
    fn with<R>(path: &str, f: impl FnOnce(&Json<'_>) -> R) -> R {
        let p = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(p).unwrap();
        f(&crate::payload::parse(text.trim()).unwrap())
    }

    #[test]
    fn pushes_are_one_row_per_commit() {
        let now = Utc::now();
        let rows = with("github/push.multi_commit.json", |p| pushes(p, now));
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (rows[0].repo.as_str(), rows[0].branch.as_str()),
            ("Codertocat/Hello-World", "master")
        );
        assert_eq!(rows[2].sha, "c163f0ef641b445a13631e663504bda4b3db1e21");
        assert!(with("github/push.tag_deleted.json", |p| pushes(p, now)).is_empty());
    }

    #[test]
    fn deployments_from_vercel_and_github() {
        let now = Utc::now();
        let ok = with("vercel/deployment.succeeded.json", |p| {
            vercel("deployment.succeeded", p, now)
        })
        .unwrap();
        assert_eq!(
            (ok.project.as_str(), ok.state.as_str()),
            ("hello-world", "ready")
        );
        assert_eq!(
            ok.sha.as_deref(),
            Some("c163f0ef641b445a13631e663504bda4b3db1e21")
        );
        let old = with("vercel/sentry.deployment.old-format.body", |p| {
            vercel("deployment", p, now)
        })
        .unwrap();
        assert_eq!(
            (old.project.as_str(), old.state.as_str()),
            ("nextjsblog-demo", "building")
        );
        let gh = with("github/deployment_status.created.json", |p| {
            github("deployment_status", p, now)
        })
        .unwrap();
        assert_eq!(
            (gh.state.as_str(), gh.sha.as_deref()),
            ("ready", Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e"))
        );
        assert_eq!(
            with("github/deployment.created.json", |p| github(
                "deployment",
                p,
                now
            ))
            .unwrap()
            .state,
            "pending"
        );
    }

    #[test]
    fn sha_prefixes_are_hex_only() {
        assert_eq!(sha_prefix("C163F0E"), Ok("c163f0e".into()));
        for bad in ["c163f0", "c163f0e%", "c163f0e_", "zzzzzzz", &"a".repeat(41)] {
            assert!(sha_prefix(bad).is_err(), "{bad}");
        }
    }
}
