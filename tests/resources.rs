//! Resources and resource subscriptions: `subscriptions/listen` (2026-07-28) and
//! `resources/subscribe` (older clients), with rmcp's client.

mod common;

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
