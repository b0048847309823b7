//! The MCP tools over Streamable HTTP, with rmcp's client, in both protocol eras.

use crate::common;

use std::time::{Duration, Instant};

use common::mcp::{ERAS, call_err, call_ok, connect_http};
use common::{TestApp, fixture, post, post_json};
use serde_json::json;

const TOOLS: [&str; 25] = [
    "next_events",
    "ack_events",
    "list_consumers",
    "search_events",
    "list_tracked_repos",
    "get_repo_activity",
    "summarize_commits",
    "get_pr_activity",
    "get_recent_pushes",
    "get_recent_deployments",
    "get_deployment_status",
    "correlate_push_to_deployment",
    "watch_deployment",
    "get_rejected_deliveries",
    "get_pending_actions",
    "mark_action_complete",
    "get_recent_stripe_events",
    "get_event_summary",
    "get_recent_events",
    "get_event_by_id",
    "get_events_since",
    "get_event_sources",
    "wait_for_event",
    "subscribe_to_events",
    "replay_event",
];

/// Waits (without sleeping) until `n` waiters sleep on the bus, so a test knows a
/// `wait_for_event` call is parked before it posts the webhook that should wake it.
async fn until_waiters(app: &TestApp, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.store().bus().waiters() < n {
        assert!(
            Instant::now() < deadline,
            "wait_for_event never parked: {} of {n} waiters",
            app.store().bus().waiters()
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn tools_are_listed_with_output_schemas_and_read_only_hints() {
    let app = TestApp::start().await;
    for era in ERAS {
        let client = connect_http(&app.mcp_url(), era.clone()).await;
        let tools = client.list_all_tools().await.unwrap();
        let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        names.sort();
        let mut expected = TOOLS.to_vec();
        expected.sort();
        assert_eq!(names, expected, "{era}");
        for t in &tools {
            assert!(
                t.output_schema.is_some(),
                "{} has an output schema ({era})",
                t.name
            );
            let hints = t.annotations.as_ref().expect("annotations");
            let writes =
                ["mark_action_complete", "ack_events", "replay_event"].contains(&t.name.as_ref());
            assert_eq!(hints.read_only_hint, Some(!writes), "{}", t.name);
        }
        client.cancel().await.unwrap();
    }
    app.stop().await;
}

#[tokio::test]
async fn reading_tools_return_the_stored_events() {
    let app = TestApp::start().await;
    let http = common::http();
    let before = chrono::Utc::now().to_rfc3339();
    let push = String::from_utf8(fixture("github/push.json")).unwrap();
    let hdrs = |ev| [("content-type", "application/json"), ("x-github-event", ev)];
    let a = post(&http, app.webhook, "github", &hdrs("push"), push.clone()).await;
    post(&http, app.webhook, "github", &hdrs("ping"), "{}").await;
    post_json(
        &http,
        app.webhook,
        "stripe",
        None,
        r#"{"type":"invoice.paid"}"#,
    )
    .await;
    let first_id = a.body["event_id"].as_i64().unwrap();

    for era in ERAS {
        let c = connect_http(&app.mcp_url(), era.clone()).await;
        let recent = call_ok(&c, "get_recent_events", json!({"limit": 2})).await;
        let types: Vec<&str> = recent["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            ["ping", "invoice.paid"],
            "newest two, oldest first ({era})"
        );

        let github = call_ok(
            &c,
            "get_recent_events",
            json!({"source": "github", "type": "push"}),
        )
        .await;
        assert_eq!(github["events"].as_array().unwrap().len(), 1);
        assert_eq!(github["events"][0]["payload"]["ref"], "refs/heads/master");

        let one = call_ok(&c, "get_event_by_id", json!({"event_id": first_id})).await;
        assert_eq!(one["id"], first_id);
        assert_eq!(one["source"], "github");
        assert_eq!(
            one["payload"],
            serde_json::from_str::<serde_json::Value>(&push).unwrap()
        );

        let since = call_ok(&c, "get_events_since", json!({"timestamp": before})).await;
        assert_eq!(since["events"].as_array().unwrap().len(), 3);
        let none = call_ok(
            &c,
            "get_events_since",
            json!({"timestamp": "2999-01-01T00:00:00Z"}),
        )
        .await;
        assert_eq!(none["events"], json!([]));

        let sources = call_ok(&c, "get_event_sources", json!({})).await;
        assert_eq!(sources["sources"][0]["source"], "github");
        assert_eq!(sources["sources"][0]["count"], 2);
        assert_eq!(sources["sources"][1]["count"], 1);

        let err = call_err(&c, "get_event_by_id", json!({"event_id": 999_999})).await;
        assert!(err.contains("no event with id 999999"), "{err}");
        let err = call_err(&c, "get_events_since", json!({"timestamp": "yesterday"})).await;
        assert!(
            err.contains("RFC 3339") && err.contains("2026-11-25T09:00:00Z"),
            "{err}"
        );
        let err = call_err(&c, "get_recent_events", json!({"limit": 0})).await;
        assert!(err.contains("between 1 and 1000"), "{err}");
        c.cancel().await.unwrap();
    }
    app.stop().await;
}

#[tokio::test]
async fn wait_for_event_wakes_on_the_matching_commit() {
    let app = TestApp::start().await;
    let http = common::http();
    for era in ERAS {
        let c = connect_http(&app.mcp_url(), era.clone()).await;
        let waiting = tokio::spawn(async move {
            let r = call_ok(
                &c,
                "wait_for_event",
                json!({"source": "github", "timeout_seconds": 20}),
            )
            .await;
            (r, Instant::now(), c)
        });
        until_waiters(&app, 1).await;
        // A non-matching event must not end the wait.
        post_json(&http, app.webhook, "stripe", None, "{}").await;
        let sent = Instant::now();
        let hit = post_json(&http, app.webhook, "github", None, r#"{"n":1}"#).await;
        let (r, woke, c) = waiting.await.unwrap();
        let latency = woke.duration_since(sent);
        assert_eq!(r["timed_out"], false);
        assert_eq!(r["event"]["id"], hit.body["event_id"]);
        assert_eq!(r["event"]["source"], "github");
        // Loose bound: the old design polled every 0.5 s. The benchmark measures it precisely.
        assert!(
            latency < Duration::from_millis(400),
            "woke after {latency:?} ({era})"
        );
        c.cancel().await.unwrap();
    }
    app.stop().await;
}

#[tokio::test]
async fn wait_for_event_with_a_cursor_misses_nothing_between_calls() {
    let app = TestApp::start().await;
    let http = common::http();
    let c = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let sub = call_ok(
        &c,
        "subscribe_to_events",
        json!({"sources": ["github"], "callback_description": "triage"}),
    )
    .await;
    let cursor = sub["cursor"].as_i64().unwrap();
    assert!(
        sub["instruction"]
            .as_str()
            .unwrap()
            .contains(&format!("after_id={cursor}"))
    );

    // Two events land while nobody is waiting.
    let a = post_json(&http, app.webhook, "github", None, "{}")
        .await
        .body["event_id"]
        .as_i64()
        .unwrap();
    let b = post_json(&http, app.webhook, "github", None, "{}")
        .await
        .body["event_id"]
        .as_i64()
        .unwrap();
    let first = call_ok(
        &c,
        "wait_for_event",
        json!({"source": "github", "after_id": cursor, "timeout_seconds": 5}),
    )
    .await;
    assert_eq!(first["event"]["id"], a);
    let second = call_ok(
        &c,
        "wait_for_event",
        json!({"source": "github", "after_id": a, "timeout_seconds": 5}),
    )
    .await;
    assert_eq!(second["event"]["id"], b);

    let started = Instant::now();
    let timed_out = call_ok(
        &c,
        "wait_for_event",
        json!({"after_id": b, "timeout_seconds": 0.3}),
    )
    .await;
    assert_eq!(timed_out, json!({"timed_out": true}), "no event: none sent");
    assert!(started.elapsed() >= Duration::from_millis(300));

    let err = call_err(&c, "wait_for_event", json!({"timeout_seconds": -1})).await;
    assert!(err.contains("timeout_seconds"), "{err}");
    c.cancel().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn many_concurrent_waiters_do_not_block_ingest_or_each_other() {
    // rmcp's HTTP client sends at most 16 requests at once (its default).
    const N: usize = 16;
    let app = TestApp::start().await;
    let http = common::http();
    let c = std::sync::Arc::new(connect_http(&app.mcp_url(), ERAS[0].clone()).await);
    let mut waiters = tokio::task::JoinSet::new();
    for i in 0..N {
        let c = c.clone();
        waiters.spawn(async move {
            call_ok(
                &c,
                "wait_for_event",
                json!({"source": format!("s{i}"), "after_id": 0, "timeout_seconds": 20}),
            )
            .await
        });
    }
    until_waiters(&app, N).await;
    for i in 0..N {
        let r = post_json(&http, app.webhook, &format!("s{i}"), None, "{}").await;
        assert_eq!(r.status, 200);
    }
    let mut seen = Vec::new();
    while let Some(r) = waiters.join_next().await {
        let r = r.unwrap();
        seen.push(r["event"]["source"].as_str().unwrap().to_owned());
    }
    seen.sort();
    let mut expected: Vec<String> = (0..N).map(|i| format!("s{i}")).collect();
    expected.sort();
    assert_eq!(seen, expected);
    app.stop().await;
}

#[tokio::test]
async fn toolsets_choose_which_tools_are_offered() {
    use hookd::config::Toolset;
    let app =
        TestApp::start_with(|c| c.toolsets = vec![Toolset::Stripe, Toolset::Deployments]).await;
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "correlate_push_to_deployment",
            "get_deployment_status",
            "get_event_summary",
            "get_pending_actions",
            "get_recent_deployments",
            "get_recent_pushes",
            "get_recent_stripe_events",
            "mark_action_complete",
            "watch_deployment",
        ]
    );
    client.cancel().await.unwrap();
    app.stop().await;

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookd"))
        .args(["serve", "--toolsets", "events,gitlab"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("gitlab"),
        "a bad toolset is named"
    );
}

#[tokio::test]
async fn argument_schemas_state_the_ranges_the_tools_enforce() {
    let app = TestApp::start().await;
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let tools = client.list_all_tools().await.unwrap();
    let property = |tool: &str, name: &str| {
        let t = tools.iter().find(|t| t.name == tool).unwrap();
        serde_json::Value::Object((*t.input_schema).clone())["properties"][name].clone()
    };
    let limit = property("get_recent_events", "limit");
    assert_eq!(
        (limit["minimum"].as_f64(), limit["maximum"].as_f64()),
        (Some(1.0), Some(1000.0)),
        "{limit}"
    );
    // A task may wait a day; a plain call at most 300 s, which its description says.
    let timeout = property("wait_for_event", "timeout_seconds");
    assert_eq!(timeout["maximum"].as_f64(), Some(86400.0), "{timeout}");
    let said = timeout["description"].as_str().unwrap_or_default();
    assert!(said.contains("at most 300 for a plain call"), "{timeout}");
    let mut undescribed = Vec::new();
    for tool in &tools {
        let schema = serde_json::Value::Object((*tool.input_schema).clone());
        for (name, p) in schema["properties"].as_object().into_iter().flatten() {
            if p["description"].as_str().is_none_or(|d| d.is_empty()) {
                undescribed.push(format!("{}.{name}", tool.name));
            }
        }
    }
    assert!(
        undescribed.is_empty(),
        "without a description: {undescribed:?}"
    );
    let err = call_err(&client, "wait_for_event", json!({"timeout_seconds": 301})).await;
    assert!(err.contains("between 0 and 300"), "{err}");
    let err = call_err(&client, "get_recent_events", json!({"limit": 0})).await;
    assert!(err.contains("between 1 and 1000"), "{err}");
}

#[tokio::test]
async fn lists_can_leave_payloads_out_and_read_what_matters_first() {
    let app = TestApp::start().await;
    let http = common::http();
    let body = r#"{"zeta":1,"alpha":{"b":2,"a":1}}"#;
    let stored = common::post_json(&http, app.webhook, "github", Some("brief-1"), body).await;
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let whole = call_ok(&client, "get_recent_events", json!({})).await;
    let event = &whole["events"][0];
    assert_eq!(event["id"], stored.body["event_id"]);
    assert_eq!(event["payload"]["alpha"]["a"], 1);
    let keys: Vec<&str> = event
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // What it is first, the payload last; fields with nothing in them are left out.
    assert_eq!(&keys[..3], ["id", "source", "type"], "{keys:?}");
    assert_eq!(keys.last(), Some(&"payload"), "{keys:?}");
    assert!(
        !keys.contains(&"subject"),
        "no subject, so none sent: {keys:?}"
    );
    assert_eq!(keys.last(), Some(&"payload"), "the payload last: {keys:?}");
    let payload_keys: Vec<&str> = event["payload"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        payload_keys,
        ["zeta", "alpha"],
        "a payload's keys in the order sent"
    );
    let brief = call_ok(
        &client,
        "get_recent_events",
        json!({"include_payload": false}),
    )
    .await;
    let event = &brief["events"][0];
    // The payload and all that describes it are left out; what identifies the event stays.
    for gone in ["payload", "headers", "content_type", "payload_encoding"] {
        assert!(event.get(gone).is_none(), "{gone} left out: {event}");
    }
    assert_eq!(event["delivery_id"], "brief-1");
    let since = json!({"timestamp": "2000-01-01T00:00:00Z", "include_payload": false});
    let since = call_ok(&client, "get_events_since", since).await;
    assert_eq!(since["events"][0]["payload"], serde_json::Value::Null);
    let next = json!({"consumer": "brief", "include_payload": false});
    let next = call_ok(&client, "next_events", next).await;
    assert_eq!(next["events"][0]["payload"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_sessionless_answer_is_plain_json() {
    let app = TestApp::start().await;
    let id = app
        .store()
        .append(common::new_event("s", None, json!({"n": 1})))
        .await
        .unwrap()
        .id;
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}});
    let answer = common::http()
        .post(app.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "get_event_by_id")
        .json(
            &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": "get_event_by_id", "arguments": {"event_id": id}, "_meta": meta}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["content-type"],
        "application/json",
        "one JSON document, not an event stream"
    );
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["id"], 7);
    assert_eq!(
        body["result"]["structuredContent"]["payload"]["n"], 1,
        "{body}"
    );
    app.stop().await;
}
