//! Resources and resource subscriptions: `subscriptions/listen` (2026-07-28) and
//! `resources/subscribe` (older clients), with rmcp's client.

use crate::common;

use std::time::{Duration, Instant};

use common::mcp::{ERAS, connect_http};
use common::{TestApp, post_json, recorder};
use rmcp::model::{
    ReadResourceRequestParams, ResourceContents, SubscribeRequestParams, SubscriptionFilter,
    UnsubscribeRequestParams,
};
use serde_json::{Value, json};

async fn post(app: &TestApp, source: &str, body: Value) -> i64 {
    let http = common::http();
    let r = post_json(&http, app.webhook, source, None, &body.to_string()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["event_id"].as_i64().unwrap()
}

fn text(contents: &[ResourceContents]) -> Value {
    match &contents[0] {
        ResourceContents::TextResourceContents { text, .. } => serde_json::from_str(text).unwrap(),
        other => panic!("expected text contents, got {other:?}"),
    }
}

#[tokio::test]
async fn resources_are_listed_templated_and_read_with_a_cursor() {
    let app = TestApp::start().await;
    let a1 = post(&app, "github", json!({"n": 1})).await;
    let b1 = post(&app, "stripe", json!({"n": 2})).await;
    let a2 = post(&app, "github", json!({"n": 3})).await;
    for era in ERAS {
        let client = connect_http(&app.mcp_url(), era.clone()).await;
        let listed: Vec<String> = client
            .list_all_resources()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.uri.clone())
            .collect();
        assert_eq!(
            listed,
            [
                "ui://hookd/inbox",
                "hookd://events",
                "hookd://sources/github",
                "hookd://sources/stripe"
            ],
            "{era}"
        );
        let templates: Vec<String> = client
            .list_all_resource_templates()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.uri_template.clone())
            .collect();
        assert_eq!(
            templates,
            ["hookd://events/{id}", "hookd://sources/{source}"]
        );

        let read = |uri: &str| {
            let client = &client;
            let uri = uri.to_owned();
            async move {
                client
                    .read_resource(ReadResourceRequestParams::new(uri))
                    .await
            }
        };
        let one = text(
            &read(&format!("hookd://events/{b1}"))
                .await
                .unwrap()
                .contents,
        );
        assert_eq!(
            (one["id"].as_i64(), one["source"].as_str()),
            (Some(b1), Some("stripe"))
        );
        let source = text(&read("hookd://sources/github").await.unwrap().contents);
        let ids: Vec<i64> = source["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [a1, a2]);
        assert_eq!(source["cursor"], a2);
        let after = text(
            &read(&format!("hookd://events?after={a1}"))
                .await
                .unwrap()
                .contents,
        );
        let ids: Vec<i64> = after["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [b1, a2]);
        for missing in [
            "hookd://events/999999",
            "hookd://nothing",
            "hookd://events?after=x",
        ] {
            let err = read(missing).await.expect_err(missing);
            assert!(err.to_string().contains("no resource"), "{missing}: {err}");
        }
        client.cancel().await.unwrap();
    }
    app.stop().await;
}

/// The next notification, failing the test after 10 s.
async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a notification arrives")
        .expect("the client is connected")
}

#[tokio::test]
async fn listen_streams_resource_updates_for_matching_commits_only() {
    let app = TestApp::start().await;
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let filter = SubscriptionFilter::builder()
        .resource_subscriptions(["hookd://sources/github", "hookd://nowhere"])
        .build();
    let mut sub = client.listen(filter).await.expect("listen is acknowledged");
    assert_eq!(
        sub.acknowledged().resource_subscriptions.as_deref(),
        Some(
            &[
                "hookd://sources/github".to_owned(),
                "hookd://nowhere".to_owned()
            ][..]
        ),
        "unknown URIs are accepted (they never fire)"
    );
    while app.store().bus().waiters() == 0 {
        tokio::task::yield_now().await;
    }
    post(&app, "stripe", json!({"not": "followed"})).await;
    let started = Instant::now();
    post(&app, "github", json!({"followed": true})).await;
    let n = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("an update arrives")
        .unwrap()
        .expect("the stream is open");
    let v = serde_json::to_value(&n).unwrap();
    assert_eq!(v["method"], "notifications/resources/updated");
    assert_eq!(
        v["params"]["uri"], "hookd://sources/github",
        "only the followed source fires"
    );
    println!(
        "listen: resources/updated {:?} after the 200",
        started.elapsed()
    );
    drop(sub);
    client.cancel().await.unwrap();
    app.stop().await;
}

#[tokio::test]
#[allow(deprecated)] // resources/subscribe is what pre-2026 clients use
async fn legacy_subscribe_notifies_the_session_until_unsubscribed() {
    let app = TestApp::start().await;
    let (client, mut rx) = recorder::connect(&app.mcp_url(), ERAS[1].clone()).await;
    client
        .subscribe(SubscribeRequestParams::new("hookd://sources/stripe"))
        .await
        .unwrap();
    client
        .subscribe(SubscribeRequestParams::new("hookd://unknown/thing"))
        .await
        .unwrap();
    post(&app, "github", json!({"x": 1})).await;
    post(&app, "stripe", json!({"x": 2})).await;
    let n = next(&mut rx).await;
    assert_eq!(n["params"]["uri"], "hookd://sources/stripe");

    client
        .subscribe(SubscribeRequestParams::new("hookd://events"))
        .await
        .unwrap();
    client
        .unsubscribe(UnsubscribeRequestParams::new("hookd://sources/stripe"))
        .await
        .unwrap();
    post(&app, "stripe", json!({"x": 3})).await;
    let n = next(&mut rx).await;
    assert_eq!(
        n["params"]["uri"], "hookd://events",
        "the unsubscribed URI is gone"
    );
    client.cancel().await.unwrap();
    // The session ended: its watcher stops and leaves the bus.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.store().bus().waiters() > 0 {
        assert!(
            Instant::now() < deadline,
            "the watcher outlived its session"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn claude_channel_pushes_each_new_event_when_enabled() {
    let plain = TestApp::start().await;
    let client = connect_http(&plain.mcp_url(), ERAS[1].clone()).await;
    let caps = client
        .peer_info()
        .unwrap()
        .capabilities
        .experimental
        .clone()
        .unwrap_or_default();
    assert!(!caps.contains_key("claude/channel"), "off unless asked for");
    client.cancel().await.unwrap();
    plain.stop().await;

    let app = TestApp::start_with(|c| c.claude_channel = true).await;
    let (client, mut rx) = recorder::connect(&app.mcp_url(), ERAS[1].clone()).await;
    let caps = client
        .peer_info()
        .unwrap()
        .capabilities
        .experimental
        .clone()
        .unwrap_or_default();
    assert!(caps.contains_key("claude/channel"), "{caps:?}");
    while app.store().bus().waiters() == 0 {
        tokio::task::yield_now().await;
    }
    let first = post(&app, "github", json!({"action": "opened"})).await;
    let second = post(&app, "stripe", json!({"type": "invoice.paid"})).await;
    for (id, source) in [(first, "github"), (second, "stripe")] {
        let n = next(&mut rx).await;
        assert_eq!(n["method"], "notifications/claude/channel");
        assert_eq!(n["params"]["meta"]["event_id"], id.to_string());
        assert_eq!(n["params"]["meta"]["source"], source);
        let content = n["params"]["content"].as_str().unwrap();
        assert!(content.starts_with(source), "{content}");
    }
    client.cancel().await.unwrap();
    app.stop().await;
}

const LISTEN: &str = r#"{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"0"},"io.modelcontextprotocol/clientCapabilities":{}},"notifications":{"resourceSubscriptions":["hookd://events"]}}}"#;

/// A `subscriptions/listen` request as raw HTTP, for clients the SDKs would not let us be.
fn raw_listen(app: &TestApp, body: String) -> reqwest::RequestBuilder {
    common::http()
        .post(app.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "subscriptions/listen")
        .body(body)
}

#[tokio::test]
async fn idle_listen_streams_get_keep_alives() {
    let app = TestApp::start_with(|c| c.heartbeat_secs = 1).await;
    let mut resp = raw_listen(&app, LISTEN.to_owned()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    // An SSE comment (a line that starts with ':') arrives after the acknowledgment, with no
    // event in between.
    while !seen.lines().any(|l| l.starts_with(':')) {
        assert!(Instant::now() < deadline, "no keep-alive in 10 s: {seen:?}");
        let chunk = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
            .await
            .expect("the stream stays open")
            .unwrap()
            .expect("the stream is not closed");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains("notifications/subscriptions/acknowledged"),
        "{seen}"
    );
    drop(resp);
    app.stop().await;
}

#[tokio::test]
async fn a_listener_that_never_reads_stalls_neither_ingest_nor_other_listeners() {
    let app = TestApp::start().await;
    // A client that opens a listen stream and never reads a byte of it. It follows 100 URIs of
    // 2 KB each (`after=000…1` parses as 1), so every commit owes it ~200 KB of notifications:
    // far more than the socket buffers hold after a few commits.
    let uris: Vec<String> = (0..100)
        .map(|i| format!("hookd://events?after={}{i}", "0".repeat(2000)))
        .collect();
    let mut request: Value = serde_json::from_str(LISTEN).unwrap();
    request["params"]["notifications"]["resourceSubscriptions"] = json!(uris);
    let stalled = raw_listen(&app, request.to_string()).send().await.unwrap();
    assert_eq!(stalled.status(), 200);
    while app.store().bus().waiters() == 0 {
        tokio::task::yield_now().await;
    }
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let filter = SubscriptionFilter::builder()
        .resource_subscription("hookd://sources/last")
        .build();
    let mut sub = client.listen(filter).await.unwrap();

    // Enough commits to fill every buffer between hookd and the stalled socket many times over.
    let mut posts = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let addr = app.webhook;
        posts.spawn(async move {
            let http = common::http();
            for i in 0..250 {
                let body = json!({"worker": worker, "i": i, "pad": "x".repeat(2000)}).to_string();
                let r = post_json(&http, addr, "flood", None, &body).await;
                assert_eq!(r.status, 200, "ingest keeps answering");
            }
        });
    }
    while let Some(r) = posts.join_next().await {
        r.unwrap();
    }
    let started = Instant::now();
    post(&app, "last", json!({"after": "the flood"})).await;
    let n = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("the reading listener is not held up")
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&n).unwrap()["params"]["uri"],
        "hookd://sources/last"
    );
    println!(
        "update after a 2000-event flood with a stalled listener: {:?}",
        started.elapsed()
    );
    drop(stalled);
    drop(sub);
    app.stop().await;
}
