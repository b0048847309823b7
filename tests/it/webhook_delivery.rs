//! `events/subscribe` end to end: hookd delivers events to a receiver that verifies every POST
//! with the Standard Webhooks reference library (PyPI `standardwebhooks`), through refusals
//! (each event retried on its own), a refresh, and an unsubscribe. Skipped by name without the project's
//! Python venv (`scripts/test` makes it), except under `CI=true`.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::{TestApp, python};
use rmcp::model::{ClientRequest, CustomRequest, ServerResult};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const TOKEN: &str = "delivery-test-token";

pub(crate) fn secret() -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([7u8; 32])
    )
}

async fn call(client: &common::mcp::Client, method: &str, params: Value) -> Value {
    let req = ClientRequest::CustomRequest(CustomRequest::new(method, Some(params)));
    match client.send_request(req).await {
        Ok(ServerResult::CustomResult(r)) => r.0,
        // rmcp's client reads `{}` as an empty result, and a 2026-07-28 empty result
        // (`{"resultType": "complete"}`) as the shape it shares with a task acknowledgement.
        Ok(ServerResult::EmptyResult(_)) => json!({}),
        Ok(ServerResult::TaskAckResult(_)) => json!({"resultType": "complete"}),
        other => panic!("{method}: {other:?}"),
    }
}

/// `tests/python/webhook_receiver.py`: verifies every request with the Standard Webhooks library
/// and reports it as a JSON line.
pub(crate) struct Receiver {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    pub(crate) url: String,
}

impl Receiver {
    /// Refuses the first `refuse_first` event deliveries with 503.
    pub(crate) async fn start(python: &std::path::Path, refuse_first: u32) -> Self {
        Self::answering(python, refuse_first, "ok").await
    }

    /// `then`: `ok` answers 200 after the refusals, `gone` 410.
    pub(crate) async fn answering(python: &std::path::Path, refuse_first: u32, then: &str) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/webhook_receiver.py"
        );
        let mut child = Command::new(python)
            .args([script, &secret(), &refuse_first.to_string(), then])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the receiver starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines
            .next_line()
            .await
            .unwrap()
            .expect("the receiver prints its port");
        let port = first.strip_prefix("listening ").expect("listening line");
        Self {
            _child: child,
            lines,
            url: format!("http://127.0.0.1:{port}/hook"),
        }
    }

    pub(crate) async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
            .await
            .expect("the receiver reports a request")
            .unwrap()
            .expect("the receiver is running");
        serde_json::from_str(&line).unwrap()
    }
}

async fn post(app: &TestApp, source: &str, event: &str, body: Value) -> i64 {
    let http = common::http();
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", event),
    ];
    let r = common::post(&http, app.webhook, source, &headers, body.to_string()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["event_id"].as_i64().unwrap()
}

#[tokio::test]
async fn subscribed_events_arrive_signed_in_order_through_retries() {
    let Some(py) = python("subscribed_events_arrive_signed_in_order_through_retries") else {
        return;
    };
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(hookd::secret::Secret::new(TOKEN));
        c.allow_private_callbacks = true;
        c.callback_retries = hookd::config::Delays(vec![Duration::from_millis(100); 4]);
    })
    .await;
    let mut receiver = Receiver::start(&py, 2).await;
    let client = common::mcp::connect_http_with_token(&app.mcp_url(), TOKEN).await;
    let params = json!({
        "name": "github",
        "arguments": {"type": "push"},
        "delivery": {"mode": "webhook", "url": receiver.url, "secret": secret()},
        "cursor": null,
        "ttlMs": 600_000,
    });
    let sub = call(&client, "events/subscribe", params.clone()).await;
    let id = sub["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sub_"), "{sub}");
    let granted = hookd::time::parse_time(sub["refreshBefore"].as_str().unwrap()).unwrap();
    let ttl = granted - chrono::Utc::now();
    assert!(
        ttl <= chrono::Duration::minutes(10) && ttl > chrono::Duration::minutes(9),
        "{sub}"
    );

    let hello = receiver.next().await;
    assert_eq!(
        hello["kind"], "verification",
        "the endpoint is asked first: {hello}"
    );
    assert_eq!(hello["subscription_id"], id);

    let first = post(&app, "github", "push", json!({"n": 1})).await;
    post(&app, "github", "issues", json!({"not": "a push"})).await;
    post(&app, "stripe", "charge", json!({"other": "source"})).await;
    let second = post(&app, "github", "push", json!({"n": 2})).await;

    // Two refusals, then each refused event again (each retried on its own schedule).
    for _ in 0..2 {
        let r = receiver.next().await;
        assert_eq!(r["kind"], "refused", "{r}");
    }
    let mut got = Vec::new();
    for _ in 0..2 {
        let r = receiver.next().await;
        assert_eq!(r["kind"], "event", "{r}");
        assert_eq!(r["subscription_id"], id);
        assert_eq!(
            r["webhook_id"], r["body"]["eventId"],
            "webhook-id is the eventId"
        );
        assert_eq!(r["body"]["name"], "github");
        let event_id = r["body"]["data"]["id"].as_i64().unwrap();
        let cursor: i64 = r["body"]["cursor"].as_str().unwrap().parse().unwrap();
        got.push(event_id);
        // The watermark never passes a push not yet accepted (retries may come in either
        // order); once both are, it is past both.
        let waiting = [first, second].into_iter().filter(|p| !got.contains(p));
        for p in waiting {
            assert!(
                cursor < p,
                "cursor {cursor} passes {p}, not yet accepted: {r}"
            );
        }
        if got.len() == 2 {
            assert!(cursor >= second, "{r}");
        }
    }
    got.sort();
    assert_eq!(got, [first, second], "only pushes, each once");

    let refreshed = call(&client, "events/subscribe", params.clone()).await;
    assert_eq!(refreshed["id"], id, "same key, same subscription");
    assert_eq!(refreshed["deliveryStatus"]["active"], true);
    assert!(
        refreshed["deliveryStatus"]["lastDeliveryAt"].is_string(),
        "{refreshed}"
    );
    assert!(
        refreshed["deliveryStatus"]["lastError"].is_null(),
        "{refreshed}"
    );

    let key =
        json!({"name": "github", "arguments": {"type": "push"}, "delivery": {"url": receiver.url}});
    assert_eq!(
        call(&client, "events/unsubscribe", key).await,
        json!({"resultType": "complete"})
    );
    // After unsubscribing, only the new subscription (to every source, from `second` on) gets
    // the next event.
    let any = json!({
        "name": "any",
        "delivery": {"url": receiver.url, "secret": secret()},
        "cursor": second.to_string(),
    });
    call(&client, "events/subscribe", any).await;
    let third = post(&app, "github", "push", json!({"n": 3})).await;
    let r = receiver.next().await;
    assert_eq!(
        (r["kind"].as_str(), r["body"]["name"].as_str()),
        (Some("event"), Some("any")),
        "{r}"
    );
    assert_ne!(r["subscription_id"], id);
    assert_eq!(r["body"]["data"]["id"], third);
    app.stop().await;
}
