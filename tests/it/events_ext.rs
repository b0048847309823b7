//! The MCP Events extension (SEP-3415) through rmcp's client: events/list, events/poll,
//! events/stream, and events/subscribe's checks. Webhook delivery to a receiver that verifies
//! with the `standardwebhooks` reference library is in `sdk_clients.rs`.

use crate::common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::mcp::{ERAS, connect_http};
use common::{TestApp, recorder};
use hookd::event::NewEvent;
use rmcp::model::{ClientRequest, CustomRequest, ServerResult};
use rmcp::service::{PeerRequestOptions, ServiceError};
use serde_json::{Value, json};

async fn post(app: &TestApp, source: &str, body: Value) -> i64 {
    let http = common::http();
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "push"),
    ];
    let r = common::post(&http, app.webhook, source, &headers, body.to_string()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["event_id"].as_i64().unwrap()
}

fn request(method: &str, params: Value) -> ClientRequest {
    ClientRequest::CustomRequest(CustomRequest::new(method, Some(params)))
}

async fn call(client: &common::mcp::Client, method: &str, params: Value) -> Result<Value, i32> {
    match client.send_request(request(method, params)).await {
        Ok(ServerResult::CustomResult(r)) => Ok(r.0),
        // An empty result: `{}`, or in the 2026-07-28 era `{"resultType": "complete"}`, which
        // rmcp's client reads as the shape it shares with a task acknowledgement.
        Ok(ServerResult::EmptyResult(_)) => Ok(json!({})),
        Ok(ServerResult::TaskAckResult(_)) => Ok(json!({"resultType": "complete"})),
        Ok(other) => panic!("{method}: unexpected result {other:?}"),
        Err(ServiceError::McpError(e)) => Err(e.code.0),
        Err(e) => panic!("{method}: {e}"),
    }
}

fn ids(poll: &Value) -> Vec<i64> {
    poll["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn list_names_every_source_and_any_and_the_capability_is_advertised() {
    let app = TestApp::start().await;
    post(&app, "gitlab-ci", json!({})).await;
    for era in ERAS {
        let client = connect_http(&app.mcp_url(), era.clone()).await;
        let caps = &client.peer_info().unwrap().capabilities;
        let events = caps.experimental.as_ref().and_then(|e| e.get("events"));
        assert!(events.is_some(), "{era}: capabilities.experimental.events");
        let extension = caps
            .extensions
            .as_ref()
            .and_then(|e| e.get("io.modelcontextprotocol/events"));
        assert!(extension.is_some(), "{era}: capabilities.extensions");
        let list = call(&client, "events/list", json!({})).await.unwrap();
        let names: Vec<&str> = list["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names[0], "any");
        assert!(
            names.contains(&"gitlab-ci") && names.contains(&"github"),
            "{names:?}"
        );
        let def = &list["events"][0];
        assert_eq!(def["delivery"], json!(["poll", "push", "webhook"]));
        assert!(def["inputSchema"]["properties"]["where"].is_object());
        assert!(def["payloadSchema"]["properties"]["payload"].is_object());
        client.cancel().await.unwrap();
    }
    app.stop().await;
}

#[tokio::test]
async fn poll_resumes_from_its_cursor_in_batches_and_filters() {
    let app = TestApp::start().await;
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let first = call(
        &client,
        "events/poll",
        json!({"name": "github", "cursor": null}),
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&first),
        Vec::<i64>::new(),
        "a null cursor starts from now"
    );
    let cursor = first["cursor"].as_str().unwrap().to_owned();
    let a = post(&app, "github", json!({"ref": "refs/heads/main", "n": 1})).await;
    post(&app, "stripe", json!({"n": 2})).await;
    let b = post(&app, "github", json!({"ref": "refs/heads/dev", "n": 3})).await;
    let c = post(&app, "github", json!({"ref": "refs/heads/main", "n": 4})).await;

    let page = call(
        &client,
        "events/poll",
        json!({"name": "github", "cursor": cursor, "maxEvents": 2}),
    )
    .await
    .unwrap();
    assert_eq!(ids(&page), [a, b]);
    assert_eq!(
        (page["hasMore"].as_bool(), page["nextPollMs"].as_u64()),
        (Some(true), Some(0))
    );
    assert_eq!(page["events"][0]["name"], "github");
    assert_eq!(page["events"][0]["cursor"], a.to_string());
    let rest = call(
        &client,
        "events/poll",
        json!({"name": "github", "cursor": page["cursor"], "maxEvents": 2}),
    )
    .await
    .unwrap();
    assert_eq!(ids(&rest), [c]);
    assert_eq!(rest["hasMore"], false);
    assert!(rest["nextPollMs"].as_u64().unwrap() > 0);

    let main = call(
        &client,
        "events/poll",
        json!({"name": "any", "cursor": cursor,
               "arguments": {"type": "push", "where": {"payload.ref": "refs/heads/main"}}}),
    )
    .await
    .unwrap();
    assert_eq!(ids(&main), [a, c]);

    for (params, code) in [
        (json!({"name": "nope", "cursor": null}), -32011),
        (
            json!({"name": "github", "arguments": {"colour": "red"}}),
            -32602,
        ),
        (json!({"name": "github", "cursor": "abc"}), -32602),
        (
            json!({"name": "github", "cursor": null, "maxEvents": 0}),
            -32602,
        ),
        (json!({"cursor": null}), -32602),
    ] {
        assert_eq!(
            call(&client, "events/poll", params.clone()).await,
            Err(code),
            "{params}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn poll_reports_events_skipped_by_max_age_as_truncated() {
    let app = TestApp::start().await;
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let old = NewEvent {
        received_at: Utc::now() - chrono::Duration::hours(2),
        ..common::new_event("github", None, json!({"type": "push"}))
    };
    app.store().append(old).await.unwrap();
    let fresh = post(&app, "github", json!({"fresh": true})).await;
    let page = call(
        &client,
        "events/poll",
        json!({"name": "github", "cursor": "0", "maxAgeMs": 3_600_000}),
    )
    .await
    .unwrap();
    assert_eq!(ids(&page), [fresh]);
    assert_eq!(page["truncated"], true);
    app.stop().await;
}

#[tokio::test]
async fn stream_pushes_matching_events_and_heartbeats_and_ends_when_cancelled() {
    let app = TestApp::start_with(|c| c.heartbeat_secs = 1).await;
    let before = post(&app, "github", json!({"n": 0})).await;
    let (client, mut rx) = recorder::connect(&app.mcp_url(), ERAS[0].clone()).await;
    let handle = client
        .send_cancellable_request(
            request(
                "events/stream",
                json!({"name": "github", "cursor": before.to_string()}),
            ),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    let next = async |rx: &mut tokio::sync::mpsc::UnboundedReceiver<Value>| {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a notification arrives")
            .unwrap()
    };
    let active = next(&mut rx).await;
    assert_eq!(active["method"], "notifications/events/active");
    assert_eq!(active["params"]["cursor"], before.to_string());
    let sub_id = active["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"].clone();
    assert!(!sub_id.is_null(), "{active}");

    post(&app, "stripe", json!({"skip": true})).await;
    let sent = Instant::now();
    let id = post(&app, "github", json!({"n": 1})).await;
    let event = next(&mut rx).await;
    println!(
        "events/stream: event pushed {:?} after the 200",
        sent.elapsed()
    );
    assert_eq!(event["method"], "notifications/events/event");
    assert_eq!(event["params"]["data"]["id"], id);
    assert_eq!(event["params"]["cursor"], id.to_string());
    assert_eq!(
        event["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        sub_id
    );

    let beat = next(&mut rx).await;
    assert_eq!(beat["method"], "notifications/events/heartbeat");
    assert_eq!(
        beat["params"]["cursor"],
        id.to_string(),
        "the heartbeat carries the cursor"
    );

    handle.cancel(None).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.store().bus().waiters() > 0 {
        assert!(
            Instant::now() < deadline,
            "the stream outlived its cancellation"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.stop().await;
}

fn secret() -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([42u8; 32])
    )
}

#[tokio::test]
async fn subscribe_refuses_unauthenticated_clients_private_urls_and_bad_secrets() {
    let app = TestApp::start().await;
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let params =
        json!({"name": "github", "delivery": {"url": "https://example.com/h", "secret": secret()}});
    assert_eq!(
        call(&client, "events/subscribe", params).await,
        Err(-32012),
        "no token, no webhooks"
    );
    client.cancel().await.unwrap();
    app.stop().await;

    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(hookd::secret::Secret::new("tok"));
    })
    .await;
    let client = common::mcp::connect_http_with_token(&app.mcp_url(), "tok").await;
    for (delivery, code) in [
        (
            json!({"url": "http://127.0.0.1:9/h", "secret": secret()}),
            -32602,
        ),
        (
            json!({"url": "https://10.0.0.8/h", "secret": secret()}),
            -32602,
        ),
        (
            json!({"url": "https://example.com/h", "secret": "plain"}),
            -32602,
        ),
        (json!({"url": "https://example.com/h"}), -32602),
        (
            json!({"mode": "push", "url": "https://example.com/h", "secret": secret()}),
            -32014,
        ),
    ] {
        let params = json!({"name": "github", "delivery": delivery});
        assert_eq!(
            call(&client, "events/subscribe", params).await,
            Err(code),
            "{delivery}"
        );
    }
    // Unsubscribing is idempotent: what does not exist (any more) is unsubscribed already.
    let gone = json!({"name": "github", "delivery": {"url": "https://example.com/h"}});
    for _ in 0..2 {
        let answer = call(&client, "events/unsubscribe", gone.clone()).await;
        assert!(answer.is_ok(), "{answer:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn subscribe_requires_the_endpoint_to_echo_its_challenge() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(hookd::secret::Secret::new("tok"));
        c.allow_private_callbacks = true;
    })
    .await;
    // An endpoint that answers 200 without echoing: someone else's URL, not a willing receiver.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/h", axum::routing::post(|| async { "{}" }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = common::mcp::connect_http_with_token(&app.mcp_url(), "tok").await;
    let params = json!({"name": "github", "delivery": {"url": format!("http://{addr}/h"), "secret": secret()}});
    assert_eq!(call(&client, "events/subscribe", params).await, Err(-32015));
    // A closed port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let params = json!({"name": "github", "delivery": {"url": format!("http://{closed}/h"), "secret": secret()}});
    assert_eq!(call(&client, "events/subscribe", params).await, Err(-32015));
    app.stop().await;
}

/// A verification answered with a redirect is refused as one (hookd follows no redirect), not
/// reported as a server error.
#[tokio::test]
async fn a_redirected_verification_is_reported_as_a_redirect_refused() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(hookd::secret::Secret::new("tok"));
        c.allow_private_callbacks = true;
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let moved = || async {
        (
            axum::http::StatusCode::FOUND,
            [("location", "http://127.0.0.1:9/elsewhere")],
        )
    };
    let router = axum::Router::new().route("/h", axum::routing::post(moved));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = common::modern::Modern::new(&app.mcp_url()).token("tok");
    let params = json!({"name": "github", "delivery": {"url": format!("http://{addr}/h"), "secret": secret()}});
    let a = client.send("events/subscribe", params).await;
    assert_eq!(a.error_code(), Some(-32015), "{}", a.raw);
    assert_eq!(
        a.body["error"]["data"]["reason"], "redirect_refused",
        "{}",
        a.raw
    );
    app.stop().await;
}

/// A poll page stops at `--max-answer-bytes` and says `hasMore`: polling on from its cursor
/// reads every event.
#[tokio::test]
async fn poll_pages_are_bounded_in_size_and_read_on_without_gaps() {
    let app = TestApp::start_with(|c| c.limits.max_answer_bytes = 100_000).await;
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let first = call(
        &client,
        "events/poll",
        json!({"name": "github", "cursor": null}),
    )
    .await
    .unwrap();
    let mut cursor = first["cursor"].clone();
    let mut posted = Vec::new();
    for i in 0..8 {
        posted.push(
            post(
                &app,
                "github",
                json!({"i": i, "filler": "x".repeat(30_000)}),
            )
            .await,
        );
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = call(
            &client,
            "events/poll",
            json!({"name": "github", "cursor": cursor, "maxEvents": 100}),
        )
        .await
        .unwrap();
        pages += 1;
        assert!(page.to_string().len() < 200_000);
        seen.extend(ids(&page));
        cursor = page["cursor"].clone();
        if page["hasMore"] != true {
            break;
        }
        assert!(pages < 20, "pages end");
    }
    assert!(pages > 1, "cut by size, not by maxEvents");
    assert_eq!(seen, posted);
    client.cancel().await.unwrap();
    app.stop().await;
}

/// The `capabilities` object of a raw JSON-RPC answer.
fn capabilities(answer: &Value) -> &Value {
    &answer["result"]["capabilities"]
}

fn advertises(caps: &Value) {
    let settings = json!({"listChanged": false});
    assert_eq!(caps["experimental"]["events"], settings, "{caps}");
    assert_eq!(
        caps["extensions"]["io.modelcontextprotocol/events"], settings,
        "{caps}"
    );
    assert_eq!(caps["events"], settings, "{caps}");
}

/// Raw JSON-RPC, as a client that reads the capability itself: `initialize` over HTTP and over
/// stdio, and a sessionless `server/discover`, carry it in all three places.
#[tokio::test]
async fn initialize_and_discover_advertise_the_capability() {
    use crate::exposure::raw_mcp;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let app = TestApp::start().await;
    let http = common::http();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}});
    let answer = raw_mcp::post(&http, &app.mcp_url(), None, init.clone()).await;
    let answer = raw_mcp::messages(answer).await;
    advertises(capabilities(&answer[0]));

    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}});
    let discover = http
        .post(app.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "server/discover")
        .json(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "server/discover",
                      "params": {"_meta": meta}}),
        )
        .send()
        .await
        .unwrap();
    let answer = raw_mcp::messages(discover).await;
    assert!(
        answer[0]["result"]["supportedVersions"].is_array(),
        "{answer:?}"
    );
    advertises(capabilities(&answer[0]));
    app.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(common::bin())
        .arg("stdio")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--webhook-addr", "127.0.0.1:0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{init}\n").as_bytes())
        .await
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("an answer in time")
        .unwrap()
        .unwrap();
    advertises(capabilities(&serde_json::from_str(&line).unwrap()));
}

/// `events/poll` with `timeoutMs` holds the request until a matching event commits (and only a
/// matching one), or answers `events: []` when the time is up; beyond the maximum is refused.
#[tokio::test]
async fn a_long_poll_wakes_on_a_matching_event_and_times_out_on_time() {
    let app = TestApp::start().await;
    for era in ERAS {
        let client = connect_http(&app.mcp_url(), era.clone()).await;
        let start = call(
            &client,
            "events/poll",
            json!({"name": "github", "cursor": null}),
        )
        .await
        .unwrap();
        let cursor = start["cursor"].clone();
        let idle = app.store().bus().waiters();
        let held = call(
            &client,
            "events/poll",
            json!({"name": "github", "cursor": cursor, "timeoutMs": 60_000}),
        );
        let wake = async {
            let deadline = Instant::now() + Duration::from_secs(10);
            while app.store().bus().waiters() <= idle {
                assert!(Instant::now() < deadline, "{era}: the poll never parked");
                tokio::task::yield_now().await;
            }
            post(&app, "stripe", json!({"n": "not github"})).await;
            let id = post(&app, "github", json!({"ref": "refs/heads/main"})).await;
            (id, Instant::now())
        };
        let (answer, (id, posted)) = tokio::join!(held, wake);
        let woke = posted.elapsed();
        let answer = answer.unwrap();
        assert_eq!(ids(&answer), [id], "{era}: only the matching event");
        assert!(
            woke < Duration::from_secs(5),
            "{era}: answered when the event committed, not at the timeout ({woke:?})"
        );
        eprintln!("{era}: long poll answered {woke:?} after the webhook's 200");

        let began = Instant::now();
        let quiet = call(
            &client,
            "events/poll",
            json!({"name": "github", "cursor": answer["cursor"], "timeoutMs": 300}),
        )
        .await
        .unwrap();
        let waited = began.elapsed();
        assert_eq!(ids(&quiet), Vec::<i64>::new());
        assert_eq!(quiet["cursor"], answer["cursor"]);
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
            "{era}: held for its timeout ({waited:?})"
        );
        let refused = call(
            &client,
            "events/poll",
            json!({"name": "github", "cursor": answer["cursor"], "timeoutMs": 300_001}),
        )
        .await;
        assert_eq!(refused, Err(-32602), "{era}");
        client.cancel().await.unwrap();
    }
    app.stop().await;
}

type Notifications = tokio::sync::mpsc::UnboundedReceiver<Value>;

/// An `events/stream` for `github` from now, and the client's notifications (kept open while the
/// returned client lives).
async fn open_github_stream(url: String) -> (impl Sized, Notifications) {
    let (client, rx) = recorder::connect(&url, ERAS[0].clone()).await;
    let handle = client
        .send_cancellable_request(
            request("events/stream", json!({"name": "github", "cursor": null})),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    ((client, handle), rx)
}

async fn next(rx: &mut Notifications) -> Value {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("a notification arrives")
        .unwrap()
}

/// A stream's end is said: when hookd stops, `notifications/events/terminated` with the cursor to
/// open a new stream from.
#[tokio::test]
async fn a_stream_is_told_when_hookd_stops() {
    let app = TestApp::start().await;
    let (_stream, mut rx) = open_github_stream(app.mcp_url()).await;
    assert_eq!(next(&mut rx).await["method"], "notifications/events/active");
    let id = post(&app, "github", json!({"n": 1})).await;
    assert_eq!(next(&mut rx).await["params"]["data"]["id"], id);
    let ((), end) = tokio::join!(app.stop(), next(&mut rx));
    assert_eq!(end["method"], "notifications/events/terminated", "{end}");
    assert_eq!(end["params"]["error"]["data"]["cursor"], id.to_string());
    assert_eq!(end["params"]["error"]["data"]["reason"], "shutdown");
}

/// A store that stops answering is reported once on the stream (`notifications/events/error`),
/// and the stream carries on by itself when it answers again (PostgreSQL behind a proxy the test
/// cuts).
#[tokio::test]
async fn a_stream_reports_a_store_outage_and_carries_on() {
    let test = "events_ext::a_stream_reports_a_store_outage_and_carries_on";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let proxy = common::pg::Proxy::start(&db).await;
    let url = proxy.url(&db);
    let app = TestApp::start_with(|c| c.database_url = Some(hookd::secret::Secret::new(url))).await;
    let (_stream, mut rx) = open_github_stream(app.mcp_url()).await;
    assert_eq!(next(&mut rx).await["method"], "notifications/events/active");
    proxy.cut();
    // Something committed elsewhere: the stream wakes and cannot read.
    let newest = app.store().bus().newest();
    app.store().bus().notify(newest + 1);
    let error = next(&mut rx).await;
    assert_eq!(error["method"], "notifications/events/error", "{error}");
    assert_eq!(
        error["params"]["error"]["data"]["reason"],
        "store_unavailable"
    );
    proxy.restore();
    let id = loop {
        let http = common::http();
        let headers = [
            ("content-type", "application/json"),
            ("x-github-event", "push"),
        ];
        let r = common::post(&http, app.webhook, "github", &headers, "{}").await;
        if r.status == 200 {
            break r.body["event_id"].as_i64().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let event = next(&mut rx).await;
    assert_eq!(
        event["method"], "notifications/events/event",
        "one error, then events: {event}"
    );
    assert_eq!(event["params"]["data"]["id"], id);
    app.stop().await;
}

/// What a subscription keeps in the store is bounded: a callback URL over 2,048 bytes or
/// arguments over 8 KiB of JSON (here, 100,000 types) are refused with `-32602`, and nothing is
/// stored; a poll with such arguments is refused the same way.
#[tokio::test]
async fn oversized_callback_urls_and_arguments_are_refused_and_not_stored() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(hookd::secret::Secret::new("tok"));
        c.allow_private_callbacks = true;
    })
    .await;
    let client = common::mcp::connect_http_with_token(&app.mcp_url(), "tok").await;
    let long_url = format!("https://example.com/{}", "a".repeat(3000));
    let many: Vec<String> = (0..100_000).map(|i| format!("t{i}")).collect();
    for params in [
        json!({"name": "any", "delivery": {"url": long_url, "secret": secret()}}),
        json!({"name": "any", "arguments": {"type": many},
               "delivery": {"url": "https://example.com/h", "secret": secret()}}),
    ] {
        assert_eq!(call(&client, "events/subscribe", params).await, Err(-32602));
    }
    let poll = json!({"name": "any", "arguments": {"type": many}, "cursor": null});
    assert_eq!(call(&client, "events/poll", poll).await, Err(-32602));
    let later = chrono::Utc::now() + chrono::Duration::seconds(30);
    let kept = app.store().claim_subscriptions("probe".into(), later).await;
    assert!(kept.unwrap().is_empty(), "nothing stored");
    app.stop().await;
}
