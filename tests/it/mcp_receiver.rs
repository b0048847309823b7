//! hookd as a receiver of MCP Events: one hookd subscribes (`events/subscribe`, webhook mode) to
//! another's events with its callback at an `mcp-events` source of the first. The challenge is
//! answered after the signature checks, each delivery is stored as an event of the receiving
//! hookd (type = the event type's name, subject = the subscription, time = the occurrence's), and
//! the receiver publishes `/.well-known/mcp-webhook-receiver.json`. A third-party sender signing
//! with the `standardwebhooks` library is in `sdk_clients.rs` (`signing_libs.py`).

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::TestApp;
use hookd::event::EventFilter;
use hookd::secret::Secret;
use rmcp::model::{ClientRequest, CustomRequest, ServerResult};
use rmcp::service::ServiceError;
use serde_json::{Value, json};

const TOKEN: &str = "receiver-test-token";

fn secret(byte: u8) -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    )
}

async fn subscribe(client: &common::mcp::Client, params: Value) -> Result<Value, (i32, Value)> {
    let req = ClientRequest::CustomRequest(CustomRequest::new("events/subscribe", Some(params)));
    match client.send_request(req).await {
        Ok(ServerResult::CustomResult(r)) => Ok(r.0),
        Err(ServiceError::McpError(e)) => Err((e.code.0, e.data.unwrap_or_default())),
        other => panic!("events/subscribe: {other:?}"),
    }
}

#[tokio::test]
async fn one_hookd_receives_anothers_events() {
    let config = tempfile::tempdir().unwrap();
    let file = config.path().join("hookd.toml");
    let toml = format!(
        "[sources.upstream]\nprovider = \"mcp-events\"\nsecret = \"{}\"\n",
        secret(5)
    );
    std::fs::write(&file, toml).unwrap();
    let receiver = TestApp::start_with(|c| c.config = Some(file.clone())).await;
    let sender = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(TOKEN));
        c.allow_private_callbacks = true;
    })
    .await;
    let http = common::http();
    let well_known = format!(
        "http://{}/.well-known/mcp-webhook-receiver.json",
        receiver.webhook
    );
    let published: Value = http
        .get(&well_known)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(published, json!({"receivers": ["/webhook/upstream"]}));
    let none = http
        .get(format!(
            "http://{}/.well-known/mcp-webhook-receiver.json",
            sender.webhook
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        none.status(),
        404,
        "no mcp-events source, nothing published"
    );

    let client = common::mcp::connect_http_with_token(&sender.mcp_url(), TOKEN).await;
    let url = format!("http://{}/webhook/upstream", receiver.webhook);
    // A challenge is answered only once its signature checks.
    let challenge = |with: u8| {
        let body = json!({"type": "verification", "challenge": "n0nce"}).to_string();
        let signed = hookd::signature::standard::sign(
            &Secret::new(secret(with)),
            &hookd::signature::ToSign {
                body: body.as_bytes(),
                now: chrono::Utc::now().timestamp(),
                delivery_id: "msg_verification_1",
                url: "",
            },
        );
        let mut req = http.post(&url).header("content-type", "application/json");
        for (k, v) in signed {
            req = req.header(k, v);
        }
        req.body(body).send()
    };
    assert_eq!(challenge(6).await.unwrap().status(), 401, "another secret");
    let echoed: Value = challenge(5).await.unwrap().json().await.unwrap();
    assert_eq!(echoed, json!({"challenge": "n0nce"}));
    // The sender finds the receiver's published document, so it subscribes without a challenge.
    let params =
        json!({"name": "github", "delivery": {"url": url, "secret": secret(5)}, "cursor": null});
    let sub = subscribe(&client, params).await.unwrap();
    let sub_id = sub["id"].as_str().unwrap().to_owned();

    let never = tokio_util::sync::CancellationToken::new();
    let follow = hookd::wait::next_event(
        Arc::clone(&receiver.running.as_ref().unwrap().store),
        EventFilter::of(Some("upstream".into()), None),
        Duration::from_secs(30),
        &never,
    );
    let posted = async {
        let headers = [
            ("content-type", "application/json"),
            ("x-github-event", "push"),
            ("x-github-delivery", "d-1"),
        ];
        let body = json!({"ref": "refs/heads/main", "repository": {"full_name": "octo/hello"}});
        let r = common::post(&http, sender.webhook, "github", &headers, body.to_string()).await;
        r.body["event_id"].as_i64().unwrap()
    };
    let (got, sent_id) = tokio::join!(follow, posted);
    let got = got.unwrap().expect("the delivery arrives at the receiver");
    let original = sender.store().get(sent_id).await.unwrap().unwrap();
    assert_eq!(got.event_type, "github", "the event type's name");
    assert_eq!(got.subject.as_deref(), Some(sub_id.as_str()));
    assert_eq!(
        got.delivery_id.as_deref(),
        Some("github:d-1"),
        "webhook-id: the eventId"
    );
    assert_eq!(got.verified, Some(true));
    assert_eq!(got.occurred_at, Some(original.received_at));
    assert_eq!(got.payload["data"]["id"], sent_id);
    assert_eq!(got.payload["data"]["subject"], "octo/hello");
    sender.stop().await;
    receiver.stop().await;
}
