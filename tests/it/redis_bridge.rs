//! The Redis pub/sub bridge against a real `redis-server` this test starts (and restarts) on a
//! free port: messages become events, deduplicated; `publish_event` and `get_channel_stats`; the
//! bridge survives Redis going away while webhooks keep being stored. Skipped by name where
//! `redis-server` is not installed, except under `CI=true`.

use crate::common;

use std::time::{Duration, Instant};

use common::mcp::{ERAS, call_ok, connect_http};
use common::redis::RedisServer;
use common::{TestApp, post_json};
use hookd::event::{Event, EventFilter};
use serde_json::json;
use tokio_util::sync::CancellationToken;

async fn publish(url: &str, channel: &str, message: &str) -> i64 {
    let client = redis::Client::open(url).unwrap();
    hookd::pubsub::publish(&client, channel, message)
        .await
        .unwrap()
}

/// Publishes `message` until hookd's bridge is among the receivers (it is subscribed).
async fn publish_when_bridged(url: &str, channel: &str, message: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while publish(url, channel, message).await < 1 {
        assert!(Instant::now() < deadline, "the bridge never subscribed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn next_from(app: &TestApp, source: &str, after: i64) -> Event {
    let filter = EventFilter {
        after_id: Some(after),
        ..EventFilter::of(Some(source.into()), None)
    };
    hookd::wait::next_event(
        app.running.as_ref().unwrap().store.clone(),
        filter,
        Duration::from_secs(20),
        &CancellationToken::new(),
    )
    .await
    .unwrap()
    .unwrap_or_else(|| panic!("an event from {source}"))
}

async fn start(redis: &RedisServer) -> TestApp {
    let url = redis.url();
    TestApp::start_with(|c| c.redis_url = Some(hookd::secret::Secret::new(url))).await
}

#[tokio::test]
async fn channel_messages_become_events_once_and_tools_publish_and_count() {
    let Some(redis) =
        RedisServer::start("channel_messages_become_events_once_and_tools_publish_and_count")
    else {
        return;
    };
    let app = start(&redis).await;
    let url = redis.url();
    let body = json!({"type": "deploy.finished", "id": "d-1", "ok": true}).to_string();
    publish_when_bridged(&url, "events:ci", &body).await;
    let first = next_from(&app, "events:ci", 0).await;
    assert_eq!(
        (first.event_type.as_str(), first.payload.clone()),
        ("deploy.finished", serde_json::from_str(&body).unwrap())
    );
    assert_eq!(first.delivery_id.as_deref(), Some("d-1"));
    // Published again (or by a second bridge): stored once. Then a plain-text message.
    publish(&url, "events:ci", &body).await;
    publish(&url, "events:ci", "hello").await;
    let text = next_from(&app, "events:ci", first.id).await;
    assert_eq!(
        text.payload,
        json!("hello"),
        "the repeat of d-1 was not stored again"
    );
    publish(&url, "other:ci", "not bridged").await;

    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let published = call_ok(
        &client,
        "publish_event",
        json!({"channel": "github", "event_data": {"type": "push", "repo": "o/r"}}),
    )
    .await;
    assert_eq!(published["channel"], "events:github");
    assert_eq!(published["receivers"], 1, "hookd's own bridge");
    assert_eq!(published["message"]["source"], "mcp");
    let stored = next_from(&app, "events:github", 0).await;
    assert_eq!(stored.payload["repo"], "o/r");
    assert_eq!(stored.payload["id"], published["message"]["id"]);
    let recent = call_ok(
        &client,
        "get_recent_events",
        json!({"source": "events:github"}),
    )
    .await;
    assert_eq!(recent["events"][0]["id"], stored.id);

    let stats = call_ok(&client, "get_channel_stats", json!({})).await;
    let by_channel: Vec<(String, i64)> = stats["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["channel"].as_str().unwrap().to_owned(),
                c["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(by_channel.contains(&("events:ci".into(), 2)), "{stats}");
    assert!(by_channel.contains(&("events:github".into(), 1)), "{stats}");
    assert!(!by_channel.iter().any(|(c, _)| c == "other:ci"));
    let ci = stats["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "events:ci")
        .unwrap();
    assert!(
        (ci["per_second_last_minute"].as_f64().unwrap() - 2.0 / 60.0).abs() < 1e-9,
        "{ci}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_bridge_survives_redis_restarting_and_webhooks_never_wait_for_it() {
    let Some(mut redis) =
        RedisServer::start("the_bridge_survives_redis_restarting_and_webhooks_never_wait_for_it")
    else {
        return;
    };
    let app = start(&redis).await;
    let url = redis.url();
    publish_when_bridged(&url, "events:a", r#"{"n": 1}"#).await;
    let one = next_from(&app, "events:a", 0).await;

    redis.stop();
    let http = common::http();
    for i in 0..20 {
        let r = post_json(
            &http,
            app.webhook,
            "github",
            Some(&format!("while-down-{i}")),
            "{}",
        )
        .await;
        assert_eq!(r.status, 200, "webhooks are stored while Redis is down");
    }
    redis.restart();
    publish_when_bridged(&url, "events:a", r#"{"n": 2}"#).await;
    let two = next_from(&app, "events:a", one.id).await;
    assert_eq!(two.payload, json!({"n": 2}));
    let stored = app
        .store()
        .count(EventFilter::of(Some("github".into()), None))
        .await
        .unwrap();
    assert_eq!(stored, 20);
    app.stop().await;
}
