//! GitHub activity from the outside: a day of signed GitHub deliveries (the fixtures' story, moved
//! to today) through HTTP, then each activity tool's exact answer.

use crate::common;

use common::mcp::{ERAS, call_err, call_ok, connect_http};
use common::{TestApp, fixture};
use serde_json::json;

const REPO: &str = "Codertocat/Hello-World";

/// The fixture with its dates moved to today (GitHub's own timestamps drive the time windows).
fn today(name: &str) -> Vec<u8> {
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    String::from_utf8(fixture(&format!("github/{name}")))
        .unwrap()
        .replace("2019-05-15", &date)
        .replace("2020-10-05", &date)
        .into_bytes()
}

async fn send(app: &TestApp, event: &str, delivery: &str, body: Vec<u8>) {
    let extra = [("x-github-event", event), ("x-github-delivery", delivery)];
    let signer = ("github", "gh");
    let r = common::post_signed(app.webhook, "github", signer, 0, &extra, body).await;
    assert_eq!(r.status, 200, "{event}: {:?}", r.body);
}

#[tokio::test]
async fn a_day_in_a_repository_reads_like_a_maintainer_would_tell_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hookd.toml");
    std::fs::write(
        &config,
        "[sources.github]\nprovider = \"github\"\nsecret = \"gh\"\n",
    )
    .unwrap();
    let app = TestApp::start_with(|c| c.config = Some(config)).await;

    // Last year's push: stored, but outside every window below.
    send(&app, "push", "d0", fixture("github/push.json")).await;
    let day = [
        ("push", "push.json"),
        ("pull_request", "pull_request.opened.json"),
        ("issues", "issues.opened.json"),
        ("pull_request", "pull_request.closed.merged.json"),
        ("push", "push.multi_commit.json"),
        ("issues", "issues.closed.json"),
        ("release", "release.published.json"),
        ("deployment_status", "deployment_status.created.json"),
        ("workflow_run", "workflow_run.completed.json"),
    ];
    for (i, (event, file)) in day.iter().enumerate() {
        send(&app, event, &format!("d{}", i + 1), today(file)).await;
    }

    let c = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let repos = call_ok(&c, "list_tracked_repos", json!({})).await;
    let counts: Vec<(&str, i64)> = repos["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["repo"].as_str().unwrap(),
                r["total_events"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts.len(), 2);
    assert!(
        counts.contains(&(REPO, 9)) && counts.contains(&("octo-org/octo-repo", 1)),
        "{counts:?}"
    );

    let activity = call_ok(&c, "get_repo_activity", json!({"repo": REPO, "hours": 48})).await;
    assert_eq!(
        activity["total_events"], 8,
        "last year's push is outside the window"
    );
    assert_eq!(
        activity["events_by_type"],
        json!({"push": 2, "pull_request": 2, "issues": 2, "release": 1, "deployment_status": 1})
    );
    let pr = "#2 Update the README with new information.";
    let issue = "#1 Spelling error in the README file";
    assert_eq!(
        activity["highlights"],
        json!({
            "commits_pushed": 4,
            "prs_opened": [pr],
            "prs_merged": [pr],
            "prs_closed_unmerged": [],
            "issues_opened": [issue],
            "issues_closed": [issue],
            "releases": ["0.0.1"],
            "workflow_runs_by_conclusion": {},
            "deployments_by_state": {"success": 1},
        })
    );
    let recent = activity["recent_events"].as_array().unwrap();
    assert_eq!(recent.len(), 8);
    // A row carries only what it has: an issue has no branch, state or size to report as null.
    for row in recent {
        let empty: Vec<&String> = row
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v.is_null())
            .map(|(k, _)| k)
            .collect();
        assert!(empty.is_empty(), "no null fields: {row}");
    }
    assert_eq!(
        (recent[0]["type"].as_str(), recent[0]["action"].as_str()),
        (Some("issues"), Some("closed")),
        "newest by GitHub's clock"
    );
    let only = call_ok(
        &c,
        "get_repo_activity",
        json!({"repo": REPO, "hours": 48, "event_type": "release"}),
    )
    .await;
    assert_eq!(only["total_events"], 1);
    let octo = call_ok(
        &c,
        "get_repo_activity",
        json!({"repo": "octo-org/octo-repo", "hours": 48}),
    )
    .await;
    assert_eq!(
        octo["highlights"]["workflow_runs_by_conclusion"],
        json!({"success": 1})
    );

    let commits = call_ok(&c, "summarize_commits", json!({"repo": REPO, "hours": 48})).await;
    assert_eq!(
        commits,
        json!({
            "repo": REPO,
            "period_hours": 48,
            "total_pushes": 2,
            "total_commits": 4,
            "contributors": ["Codertocat"],
            "recent_messages": [
                "Add vercel.json for production deploys",
                "Fix spelling of 'commit' in README",
                "Add CONTRIBUTING guide",
                "Initial commit",
            ],
            "by_branch": {"master": {"pushes": 2, "commits": 4}},
        })
    );

    let prs = call_ok(&c, "get_pr_activity", json!({"repo": REPO, "hours": 48})).await;
    assert_eq!(prs["total_pr_events"], 2);
    let entry = json!([{"number": 2, "title": "Update the README with new information.", "user": "Codertocat"}]);
    assert_eq!(prs["by_action"], json!({"opened": entry, "merged": entry}));

    let err = call_err(&c, "get_repo_activity", json!({"repo": REPO, "hours": 0})).await;
    assert!(err.contains("positive number of hours"), "{err}");
    // Any window may be asked for: a century reaches last year's push.
    let all = json!({"repo": REPO, "hours": 876_000});
    let all = call_ok(&c, "get_repo_activity", all).await;
    let day = call_ok(&c, "get_repo_activity", json!({"repo": REPO})).await;
    assert_eq!(all["total_events"], 9, "every event of the repository");
    assert_eq!(day["total_events"], 8, "today's only");
    let all = json!({"repo": REPO, "hours": u32::MAX});
    assert_eq!(
        call_ok(&c, "get_repo_activity", all).await["total_events"],
        9
    );
    app.stop().await;
}
