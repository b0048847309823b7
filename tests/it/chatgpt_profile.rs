//! hookd as ChatGPT meets it (OpenAI's "MCP Events" guide for plugins: webhook delivery only),
//! in both protocol eras the guide accepts: 2026-07-28 (`server/discover`) and a session opened
//! with `initialize`. From discovery to a verified delivery, a refresh, and unsubscribing twice.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use common::TestApp;
use common::modern::Modern;
use hookd::secret::Secret;
use serde_json::{Value, json};
use tokio::sync::Notify;

const TOKEN: &str = "chatgpt-profile-token";

fn secret() -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([9u8; 32])
    )
}

/// ChatGPT's receiver: answers the verification challenge, and takes each delivery (its headers
/// and raw body).
#[derive(Default)]
struct Receiver {
    challenges: Mutex<Vec<String>>,
    deliveries: Mutex<Vec<(HeaderMap, String)>>,
    arrived: Notify,
}

async fn receiver() -> (String, Arc<Receiver>) {
    let seen = Arc::new(Receiver::default());
    let state = seen.clone();
    let receive = move |headers: HeaderMap, body: String| {
        let seen = state.clone();
        async move {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let answer = if v["type"] == "verification" {
                let challenge = v["challenge"].as_str().unwrap_or_default().to_owned();
                seen.challenges.lock().unwrap().push(challenge.clone());
                json!({ "challenge": challenge }).to_string()
            } else {
                seen.deliveries.lock().unwrap().push((headers, body));
                String::new()
            };
            seen.arrived.notify_waiters();
            answer
        }
    };
    let app = axum::Router::new().route("/chatgpt/events", axum::routing::post(receive));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/chatgpt/events"), seen)
}

impl Receiver {
    /// The delivery of hookd event `id`, once it has come.
    async fn delivery_of(&self, id: i64) -> (HeaderMap, String) {
        let find = || {
            let deliveries = self.deliveries.lock().unwrap();
            let mine = |(_, body): &&(HeaderMap, String)| {
                serde_json::from_str::<Value>(body).is_ok_and(|v| v["data"]["id"] == id)
            };
            deliveries.iter().find(mine).cloned()
        };
        let wait = async {
            loop {
                let arrived = self.arrived.notified();
                if let Some(d) = find() {
                    return d;
                }
                arrived.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .unwrap_or_else(|_| panic!("event {id} was never delivered"))
    }
}

async fn webhook(app: &TestApp, n: u32) -> i64 {
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "push"),
    ];
    let body = json!({"ref": "refs/heads/main", "n": n}).to_string();
    let r = common::post(&common::http(), app.webhook, "github", &headers, body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["event_id"].as_i64().unwrap()
}

/// One era's whole flow; `capabilities` is where the era says what the server can do.
async fn as_chatgpt(app: &TestApp, client: &Modern, capabilities: &Value, era: &str) {
    assert!(
        capabilities["events"].is_object(),
        "{era}: capabilities.events: {capabilities}"
    );
    let list = client.ok("events/list", json!({})).await;
    let github = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "github")
        .unwrap_or_else(|| panic!("{era}: {list}"));
    assert!(
        github["delivery"]
            .as_array()
            .unwrap()
            .contains(&json!("webhook")),
        "{era}: {github}"
    );
    assert!(github["inputSchema"].is_object() && github["payloadSchema"].is_object());

    let (url, seen) = receiver().await;
    let subscribe = json!({"name": "github", "arguments": {}, "cursor": null, "ttlMs": 600_000,
                           "delivery": {"mode": "webhook", "url": url, "secret": secret()}});
    let sub = client.ok("events/subscribe", subscribe.clone()).await;
    let id = sub["id"].as_str().unwrap().to_owned();
    let refresh_before = sub["refreshBefore"].as_str().unwrap().to_owned();
    assert!(
        hookd::time::parse_time(&refresh_before).is_ok(),
        "{era}: {sub}"
    );
    assert_eq!(sub["truncated"], false, "{era}: {sub}");
    assert_eq!(
        seen.challenges.lock().unwrap().len(),
        1,
        "{era}: the callback was verified once"
    );

    let event = webhook(app, 1).await;
    let (headers, raw) = seen.delivery_of(event).await;
    let body: Value = serde_json::from_str(&raw).unwrap();
    assert!(raw.len() <= 256 << 10, "{era}: within 256 KiB");
    assert_eq!(headers["content-type"], "application/json", "{era}");
    assert_eq!(headers["x-mcp-subscription-id"], id.as_str(), "{era}");
    assert_eq!(
        headers["webhook-id"],
        body["eventId"].as_str().unwrap(),
        "{era}: webhook-id"
    );
    let signed = hookd::signature::Delivery {
        headers: &headers,
        body: raw.as_bytes(),
        now: chrono::Utc::now().timestamp(),
        url: "",
    };
    assert!(
        hookd::signature::standard::verify(&[Secret::new(secret())], &signed).is_ok(),
        "{era}: signed as Standard Webhooks with the subscription's secret"
    );
    for field in ["eventId", "name", "timestamp", "data", "cursor"] {
        assert!(body.get(field).is_some(), "{era}: {field} in {body}");
    }
    assert_eq!(body["name"], "github", "{era}");

    // A refresh is the same request again: the same subscription, a new expiry.
    let refreshed = client.ok("events/subscribe", subscribe).await;
    assert_eq!(refreshed["id"], id.as_str(), "{era}: deterministic id");
    let later = refreshed["refreshBefore"].as_str().unwrap();
    assert!(
        later >= refresh_before.as_str(),
        "{era}: {later} after {refresh_before}"
    );

    // Unsubscribing twice (a retry after a lost answer) succeeds both times.
    let key =
        json!({"name": "github", "arguments": {}, "delivery": {"mode": "webhook", "url": url}});
    for attempt in 1..=2 {
        let a = client.send("events/unsubscribe", key.clone()).await;
        assert!(
            a.body.get("result").is_some(),
            "{era}: unsubscribe {attempt}: {}",
            a.raw
        );
    }
}

#[tokio::test]
async fn chatgpt_subscribes_receives_refreshes_and_unsubscribes_in_both_eras() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(TOKEN));
        c.allow_private_callbacks = true;
    })
    .await;
    let modern = Modern::new(&app.mcp_url()).token(TOKEN);
    let discovered = modern.ok("server/discover", json!({})).await;
    as_chatgpt(&app, &modern, &discovered["capabilities"], "2026-07-28").await;

    let (session, initialized) = Modern::new(&app.mcp_url())
        .token(TOKEN)
        .initialize(json!({}))
        .await;
    let capabilities = &initialized["capabilities"];
    as_chatgpt(&app, &session, capabilities, "initialize (2025-11-25)").await;
    app.stop().await;
}
