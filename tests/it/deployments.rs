//! The deployment monitor from the outside: signed GitHub pushes and deployment events and Vercel
//! deployment webhooks through HTTP, then the tools' exact answers.

use crate::common;

use common::mcp::{ERAS, call_err, call_ok, connect_http};
use common::{TestApp, fixture};
use serde_json::json;

const CONFIG: &str = "[sources.github]\nprovider = \"github\"\nsecret = \"gh\"\n\n\
                      [sources.vercel]\nprovider = \"vercel\"\nsecret = \"vc\"\n";

async fn send(app: &TestApp, source: &str, event: Option<&str>, body: Vec<u8>) {
    let (provider, secret) = match source {
        "github" => ("github", "gh"),
        _ => ("vercel", "vc"),
    };
    let extra: Vec<(&str, &str)> = event.map(|e| ("x-github-event", e)).into_iter().collect();
    let signer = (provider, secret);
    let r = common::post_signed(app.webhook, source, signer, 0, &extra, body).await;
    assert_eq!(r.status, 200, "{source} {event:?}: {:?}", r.body);
}

#[tokio::test]
async fn pushes_and_deployments_correlate_by_commit() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hookd.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let app = TestApp::start_with(|c| c.config = Some(config)).await;

    // The fixtures' story: "Initial commit" fails to deploy; three commits later c163f0e deploys.
    send(&app, "github", Some("push"), fixture("github/push.json")).await;
    send(
        &app,
        "vercel",
        None,
        fixture("vercel/deployment.error.json"),
    )
    .await;
    send(
        &app,
        "github",
        Some("push"),
        fixture("github/push.multi_commit.json"),
    )
    .await;
    send(
        &app,
        "vercel",
        None,
        fixture("vercel/deployment.created.json"),
    )
    .await;
    send(
        &app,
        "vercel",
        None,
        fixture("vercel/deployment.succeeded.json"),
    )
    .await;
    send(
        &app,
        "github",
        Some("deployment"),
        fixture("github/deployment.created.json"),
    )
    .await;
    send(
        &app,
        "github",
        Some("deployment_status"),
        fixture("github/deployment_status.created.json"),
    )
    .await;
    // A new deployment starting now, for the last-24-hours window.
    let now_ms = chrono::Utc::now().timestamp_millis().to_string();
    let fresh = String::from_utf8(fixture("vercel/deployment.created.json"))
        .unwrap()
        .replace("1557934053118", &now_ms)
        .replace("dpl_", "dpl_fresh_")
        .replace("uev_", "uev_fresh_");
    send(&app, "vercel", None, fresh.into_bytes()).await;
    // A tag deletion carries no commits.
    send(
        &app,
        "github",
        Some("push"),
        fixture("github/push.tag_deleted.json"),
    )
    .await;

    let c = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let pushes = call_ok(
        &c,
        "get_recent_pushes",
        json!({"repo": "Codertocat/Hello-World"}),
    )
    .await;
    let shas: Vec<&str> = pushes["pushes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["sha"].as_str().unwrap()[..7])
        .collect();
    assert_eq!(
        shas,
        ["c163f0e", "cdf786c", "5ddc6c1", "6113728"],
        "one row per commit, newest first"
    );
    assert_eq!(pushes["pushes"][0]["branch"], "master");
    assert_eq!(pushes["pushes"][0]["author"], "Codertocat");
    let two = call_ok(&c, "get_recent_pushes", json!({"limit": 2})).await;
    assert_eq!(two["pushes"].as_array().unwrap().len(), 2);

    let deployed = call_ok(
        &c,
        "correlate_push_to_deployment",
        json!({"commit_sha": "C163F0E"}),
    )
    .await;
    assert_eq!(deployed["deployed"], true);
    assert_eq!(deployed["pushes"].as_array().unwrap().len(), 1);
    let states: Vec<&str> = deployed["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["building", "ready", "building"]);
    assert_eq!(
        deployed["deployments"][1]["url"],
        "hello-world-si4ppk5y2-codertocat.vercel.app"
    );

    let failed = call_ok(
        &c,
        "correlate_push_to_deployment",
        json!({"commit_sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246"}),
    )
    .await;
    assert_eq!(failed["deployed"], false);
    assert_eq!(failed["pushes"][0]["message"], "Initial commit");
    assert_eq!(failed["deployments"][0]["state"], "error");

    let gh = call_ok(
        &c,
        "correlate_push_to_deployment",
        json!({"commit_sha": "f95f852"}),
    )
    .await;
    let gh_states: Vec<&str> = gh["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        gh_states,
        ["pending", "ready"],
        "GitHub deployment, then its success status"
    );
    assert_eq!(gh["deployments"][0]["platform"], "github");

    for bad in ["c163f0", "c163f0e%", "c163f0e' OR 1=1 --", "zzzzzzz"] {
        let err = call_err(
            &c,
            "correlate_push_to_deployment",
            json!({"commit_sha": bad}),
        )
        .await;
        assert!(err.contains("7 to 40 hex characters"), "{bad}: {err}");
    }

    let status = call_ok(
        &c,
        "get_deployment_status",
        json!({"project": "hello-world"}),
    )
    .await;
    let latest = status["latest"]["deployment_id"].as_str().unwrap();
    assert!(latest.starts_with("dpl_fresh_"), "{latest}");
    assert_eq!(status["last_24h_by_state"], json!({"building": 1}));
    // c163f0e was pushed at 15:27:12Z and Vercel reported it ready at 15:28:41.907Z.
    assert_eq!(status["lead_time_seconds"], 89);
    let unknown = call_ok(&c, "get_deployment_status", json!({"project": "nope"})).await;
    assert_eq!(unknown["latest"], serde_json::Value::Null);

    let recent = call_ok(
        &c,
        "get_recent_deployments",
        json!({"project": "hello-world", "limit": 2}),
    )
    .await;
    assert_eq!(recent["deployments"].as_array().unwrap().len(), 2);
    app.stop().await;
}
