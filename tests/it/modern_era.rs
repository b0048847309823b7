//! The current protocol (2026-07-28) as its clients speak it, on the wire: every result hookd
//! answers in that era carries `resultType`, walked from the list of methods hookd itself keeps
//! (`hookd::mcp::modern_methods`), so a method added later cannot be left out.

use crate::common;

use std::time::Duration;

use common::TestApp;
use common::modern::{Modern, answer};
use hookd::secret::Secret;
use serde_json::{Value, json};

const TOKEN: &str = "modern-era-token";

/// A callback receiver that answers verification challenges and accepts every event.
async fn receiver() -> String {
    async fn receive(body: String) -> String {
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        json!({"challenge": v["challenge"]}).to_string()
    }
    let app = axum::Router::new().route("/hook", axum::routing::post(receive));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

/// A request for `method` that succeeds, or `None` for one that stays open until hookd stops.
fn request_for(method: &str, callback: &str) -> Option<Value> {
    let webhook = json!({"mode": "webhook", "url": callback});
    Some(match method {
        "server/discover" | "tools/list" | "resources/list" | "resources/templates/list" => {
            json!({})
        }
        "tools/call" => json!({"name": "get_recent_events", "arguments": {"limit": 1}}),
        "resources/read" => json!({"uri": "hookd://events"}),
        "events/list" => json!({}),
        "events/poll" => json!({"name": "any", "cursor": "0"}),
        "events/subscribe" => json!({
            "name": "any", "cursor": null, "ttlMs": 600_000,
            "delivery": {"mode": "webhook", "url": callback,
                         "secret": format!("whsec_{}", "A".repeat(44))},
        }),
        "events/unsubscribe" => json!({"name": "any", "delivery": webhook}),
        "events/stream" | "subscriptions/listen" => return None,
        other => panic!("{other}: this test has no request for it yet; add one"),
    })
}

/// The long-lived requests, opened before hookd stops (their result is their last message).
fn open_request(method: &str) -> Value {
    match method {
        "events/stream" => json!({"name": "any", "cursor": null}),
        "subscriptions/listen" => {
            json!({"notifications": {"resourceSubscriptions": ["hookd://events"]}})
        }
        other => panic!("{other} is not long-lived"),
    }
}

#[tokio::test]
async fn every_result_of_the_current_era_says_its_result_type() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(TOKEN));
        c.allow_private_callbacks = true;
    })
    .await;
    let http = common::http();
    let headers = [("content-type", "application/json")];
    let r = common::post(&http, app.webhook, "ci", &headers, "{\"n\":1}").await;
    assert_eq!(r.status, 200);
    let callback = receiver().await;
    let client = Modern::new(&app.mcp_url()).token(TOKEN);

    let methods = hookd::mcp::modern_methods();
    assert!(methods.contains(&"events/poll") && methods.contains(&"server/discover"));
    let mut open = Vec::new();
    for method in methods {
        match request_for(method, &callback) {
            Some(params) => {
                let result = client.ok(method, params).await;
                assert_eq!(result["resultType"], "complete", "{method}: {result}");
            }
            None => {
                let response = client.request(method, open_request(method)).send();
                let response = tokio::time::timeout(Duration::from_secs(10), response)
                    .await
                    .unwrap_or_else(|_| panic!("{method} did not start"))
                    .unwrap();
                assert_eq!(response.status(), 200, "{method}");
                open.push((method, response));
            }
        }
    }
    // The long-lived requests end when hookd stops, each with its final result.
    app.stop().await;
    for (method, response) in open {
        let a = tokio::time::timeout(Duration::from_secs(10), answer(response))
            .await
            .unwrap_or_else(|_| panic!("{method} did not end at shutdown"));
        assert_eq!(
            a.body["result"]["resultType"], "complete",
            "{method}: {}",
            a.raw
        );
    }
}

#[tokio::test]
async fn an_older_era_gets_no_result_type_from_the_same_methods() {
    let app = TestApp::start().await;
    let client =
        common::mcp::connect_http(&app.mcp_url(), rmcp::model::ProtocolVersion::V_2025_11_25).await;
    let req = rmcp::model::ClientRequest::CustomRequest(rmcp::model::CustomRequest::new(
        "events/list",
        Some(json!({})),
    ));
    match client.send_request(req).await {
        Ok(rmcp::model::ServerResult::CustomResult(r)) => {
            assert!(r.0.get("events").is_some(), "{:?}", r.0);
            assert!(r.0.get("resultType").is_none(), "{:?}", r.0);
        }
        other => panic!("events/list: {other:?}"),
    }
    client.cancel().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn a_discover_without_the_required_meta_is_refused_with_400() {
    let app = TestApp::start().await;
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "server/discover", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"}}}});
    let response = common::http()
        .post(app.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-method", "server/discover")
        .header("mcp-protocol-version", "2026-07-28")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let a = answer(response).await;
    assert_eq!((a.status, a.error_code()), (400, Some(-32602)), "{}", a.raw);
    let full = Modern::new(&app.mcp_url())
        .ok("server/discover", json!({}))
        .await;
    assert!(full["capabilities"]["events"].is_object(), "{full}");
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_resource_is_invalid_params_naming_its_uri() {
    let app = TestApp::start().await;
    let uri = "hookd://nothing/here";
    let a = Modern::new(&app.mcp_url())
        .send("resources/read", json!({"uri": uri}))
        .await;
    assert_eq!(a.error_code(), Some(-32602), "{}", a.raw);
    assert_eq!(a.body["error"]["data"]["uri"], uri, "{}", a.raw);
    app.stop().await;
}

#[tokio::test]
async fn the_events_error_codes_are_the_deployed_ones_unless_the_sep_numbers_are_asked_for() {
    use hookd::config::EventsErrorCodes;
    for (codes, expected) in [
        (EventsErrorCodes::Deployed, -32011),
        (EventsErrorCodes::Sep, -32023),
    ] {
        let app = TestApp::start_with(|c| c.events_error_codes = codes).await;
        let a = Modern::new(&app.mcp_url())
            .send(
                "events/poll",
                json!({"name": "no-such-source", "cursor": null}),
            )
            .await;
        assert_eq!(a.error_code(), Some(expected), "{codes:?}: {}", a.raw);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_requests_traceparent_is_in_hookds_logs_and_a_malformed_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let hookd = common::Logging::serve(dir.path(), "info,hookd=debug,rmcp=warn");
    let (url, lines) = (format!("http://{}/mcp", hookd.mcp), &hookd.lines);
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let traced = Modern::new(&url).meta("traceparent", json!(traceparent));
    traced.call("get_event_sources", json!({})).await;
    traced.ok("events/list", json!({})).await;
    let forged = Modern::new(&url).meta("traceparent", json!("00-x\nFORGED line-00-01"));
    forged.call("get_event_sources", json!({})).await;
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen
        .iter()
        .filter(|l: &&String| l.contains("mcp request answered"))
        .count()
        < 3
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        seen.push(lines.recv_timeout(left).expect("hookd logs each request"));
    }
    drop(hookd);
    let with = |what: &str| {
        seen.iter()
            .filter(|l| l.contains(what) && l.contains(traceparent))
            .count()
    };
    assert_eq!(
        (with("tools/call"), with("events/list")),
        (1, 1),
        "{seen:#?}"
    );
    assert!(!seen.iter().any(|l| l.contains("FORGED")), "{seen:#?}");
}

#[tokio::test]
async fn the_server_card_and_ai_catalog_are_public_and_agree_with_server_discover() {
    let app = TestApp::start_with(|c| c.mcp_token = Some(Secret::new(TOKEN))).await;
    let http = common::http();
    let catalog = http
        .get(format!("http://{}/.well-known/ai-catalog.json", app.mcp))
        .send()
        .await
        .unwrap();
    assert_eq!(catalog.status(), 200, "public: no token");
    assert_eq!(
        catalog.headers()["content-type"],
        "application/ai-catalog+json"
    );
    let catalog: Value = catalog.json().await.unwrap();
    let entry = &catalog["entries"][0];
    assert_eq!(
        entry["type"], "application/mcp-server-card+json",
        "{catalog}"
    );
    let card_url = entry["url"].as_str().unwrap();
    assert_eq!(card_url, format!("{}/server-card", app.mcp_url()));

    let card = http.get(card_url).send().await.unwrap();
    assert_eq!(card.status(), 200);
    assert_eq!(
        card.headers()["content-type"],
        "application/mcp-server-card+json"
    );
    let card: Value = card.json().await.unwrap();
    assert_eq!(
        card["$schema"],
        "https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json"
    );
    let description = card["description"].as_str().unwrap();
    assert!((1..=100).contains(&description.len()), "{card}");
    let remote = &card["remotes"][0];
    assert_eq!(
        (remote["type"].as_str(), remote["url"].as_str()),
        (Some("streamable-http"), Some(app.mcp_url().as_str()))
    );
    assert_eq!(
        remote["headers"][0]["name"], "Authorization",
        "the token is said to be needed"
    );

    let discovered = Modern::new(&app.mcp_url())
        .token(TOKEN)
        .ok("server/discover", json!({}))
        .await;
    let info = &discovered["_meta"]["io.modelcontextprotocol/serverInfo"];
    let name = card["name"].as_str().unwrap();
    assert_eq!(
        name.split_once('/').map(|(_, n)| n),
        info["name"].as_str(),
        "{card} {discovered}"
    );
    assert_eq!(card["version"], info["version"], "{discovered}");
    assert_eq!(card["title"], info["title"], "{discovered}");
    assert_eq!(
        remote["supportedProtocolVersions"],
        discovered["supportedVersions"]
    );

    let elsewhere = http
        .get(format!("http://{}/.well-known/ai-catalog.json", app.mcp))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status(),
        421,
        "a Host the listener does not serve is not echoed"
    );
    app.stop().await;
}
