//! Durable consumers, JSON field filters and full-text search, through a real MCP client.

use crate::common;

use common::mcp::{ERAS, call_err, call_ok, connect_http};
use common::{TestApp, post_json};
use serde_json::{Value, json};

fn ids(v: &Value) -> Vec<i64> {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

async fn post(app: &TestApp, source: &str, body: Value) -> i64 {
    let http = common::http();
    let r = post_json(&http, app.webhook, source, None, &body.to_string()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["event_id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_consumer_gets_each_event_until_acked_even_across_restarts() {
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().join("data");
    let app = TestApp::start_with(|c| c.data_dir = data.clone()).await;
    let mut posted = Vec::new();
    for i in 0..5 {
        posted.push(post(&app, if i % 2 == 0 { "a" } else { "b" }, json!({"n": i})).await);
    }
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;

    let first = call_ok(&client, "next_events", json!({"consumer": "triage"})).await;
    assert_eq!(
        ids(&first),
        posted,
        "a new consumer starts at the oldest event"
    );
    assert_eq!(first["cursor"], 0);
    let again = call_ok(
        &client,
        "next_events",
        json!({"consumer": "triage", "max": 2}),
    )
    .await;
    assert_eq!(ids(&again), posted[..2], "reading does not move the cursor");
    assert_eq!(again["ack_up_to"], posted[1]);

    let acked = call_ok(
        &client,
        "ack_events",
        json!({"consumer": "triage", "up_to_id": posted[2]}),
    )
    .await;
    assert_eq!(
        (acked["previous"].as_i64(), acked["cursor"].as_i64()),
        (Some(0), Some(posted[2]))
    );
    let back = call_ok(
        &client,
        "ack_events",
        json!({"consumer": "triage", "up_to_id": posted[0]}),
    )
    .await;
    assert_eq!(back["cursor"], posted[2], "acking backwards is ignored");
    let err = call_err(
        &client,
        "ack_events",
        json!({"consumer": "triage", "up_to_id": posted[4] + 100}),
    )
    .await;
    assert!(err.contains("newest"), "{err}");
    let err = call_err(&client, "next_events", json!({"consumer": "no spaces"})).await;
    assert!(err.contains("not a valid name"), "{err}");
    drop(client);
    app.stop().await;

    // hookd restarts on the same data: the cursor is where it was committed.
    let app = TestApp::start_with(|c| c.data_dir = data).await;
    let client = connect_http(&app.mcp_url(), ERAS[1].clone()).await;
    let rest = call_ok(&client, "next_events", json!({"consumer": "triage"})).await;
    assert_eq!(ids(&rest), posted[3..], "only the unacknowledged events");
    let list = call_ok(&client, "list_consumers", json!({})).await;
    assert_eq!(list["consumers"][0]["name"], "triage");
    assert_eq!(list["consumers"][0]["cursor"], posted[2]);
    assert_eq!(list["consumers"][0]["backlog"], 2);
    let other = call_ok(
        &client,
        "next_events",
        json!({"consumer": "audit", "max": 1}),
    )
    .await;
    assert_eq!(ids(&other), posted[..1], "consumers are independent");
    app.stop().await;
}

#[tokio::test]
async fn next_events_filters_and_waits_for_the_first_match() {
    let app = TestApp::start().await;
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let skipped = post(&app, "github", json!({"action": "closed"})).await;
    let none = call_ok(
        &client,
        "next_events",
        json!({"consumer": "c", "sources": ["github"], "where": {"payload.action": "opened"}}),
    )
    .await;
    assert_eq!(ids(&none), Vec::<i64>::new());
    assert_eq!(
        none["ack_up_to"], skipped,
        "nothing matched up to the newest id"
    );

    let waiting = call_ok(
        &client,
        "next_events",
        json!({"consumer": "c", "sources": ["github"], "where": {"payload.action": "opened"},
               "wait_seconds": 30}),
    );
    let app_ref = &app;
    let (got, opened) = tokio::join!(waiting, async move {
        // Wait until the call sleeps on the bus, so the post below is what wakes it.
        while app_ref.store().bus().waiters() == 0 {
            tokio::task::yield_now().await;
        }
        post(app_ref, "stripe", json!({"action": "opened"})).await;
        post(app_ref, "github", json!({"action": "opened"})).await
    });
    assert_eq!(ids(&got), vec![opened]);
    app.stop().await;
}

#[tokio::test]
async fn where_matches_payload_fields_by_type() {
    let app = TestApp::start().await;
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let pr = post(
        &app,
        "gh",
        json!({"action": "opened", "number": 7, "draft": false,
               "pull_request": {"labels": [{"name": "bug"}]}, "merged_by": null}),
    )
    .await;
    let other = post(
        &app,
        "gh",
        json!({"action": "opened", "number": "7", "draft": true, "merged_by": "x"}),
    )
    .await;
    for (cond, expected) in [
        (json!({"payload.action": "opened"}), vec![pr, other]),
        (json!({"payload.number": 7}), vec![pr]),
        (json!({"payload.number": "7"}), vec![other]),
        (json!({"payload.draft": false}), vec![pr]),
        (json!({"payload.merged_by": null}), vec![pr]),
        (
            json!({"payload.pull_request.labels.0.name": "bug"}),
            vec![pr],
        ),
        (
            json!({"payload.action": "opened", "payload.draft": true}),
            vec![other],
        ),
        (json!({"payload.missing": "x"}), vec![]),
    ] {
        let got = call_ok(&client, "get_recent_events", json!({"where": cond})).await;
        assert_eq!(ids(&got), expected, "where {cond}");
    }
    let err = call_err(
        &client,
        "get_recent_events",
        json!({"where": {"action": "x"}}),
    )
    .await;
    assert!(err.contains("payload."), "{err}");
    app.stop().await;
}

#[tokio::test]
async fn search_finds_words_with_snippets_and_filters() {
    let app = TestApp::start().await;
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let declined = post(
        &app,
        "stripe",
        json!({"type": "charge.failed", "data": {"failure_message": "Your card was declined."}}),
    )
    .await;
    let deploy = post(
        &app,
        "vercel",
        json!({"type": "deployment.error", "msg": "build failed"}),
    )
    .await;
    let old_deploy = post(&app, "github", json!({"msg": "deployment of hookd failed"})).await;

    let hits = call_ok(&client, "search_events", json!({"query": "card declined"})).await;
    let hits = hits["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["id"], declined);
    let snippet = hits[0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("**declined**"), "{snippet}");
    assert!(
        snippet.contains("failure_message: Your **card** was **declined**"),
        "named by the field it comes from: {snippet}"
    );

    let failed = call_ok(&client, "search_events", json!({"query": "failed"})).await;
    let found: Vec<i64> = failed["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_i64().unwrap())
        .collect();
    assert_eq!(found, vec![old_deploy, deploy, declined], "newest first");
    let one = call_ok(
        &client,
        "search_events",
        json!({"query": "fail*", "source": "vercel"}),
    )
    .await;
    assert_eq!(one["hits"][0]["id"], deploy);
    assert_eq!(one["hits"].as_array().unwrap().len(), 1);
    let future = call_ok(
        &client,
        "search_events",
        json!({"query": "failed", "since": "2999-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(future["hits"], json!([]));
    // FTS5 syntax in the words is searched for, never an error.
    let odd = call_ok(&client, "search_events", json!({"query": "\"( AND NEAR"})).await;
    assert_eq!(odd["hits"], json!([]));
    let err = call_err(&client, "search_events", json!({"query": "  "})).await;
    assert!(err.contains("at least one word"), "{err}");
    app.stop().await;
}
