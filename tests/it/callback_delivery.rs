//! The delivery model of `events/subscribe` (webhook mode), against a receiver this test runs:
//! each event retried on its own and abandoned after its last attempt, `413` never retried, `410`
//! ending the subscription, later events not held behind a failing one, the body's `cursor` a watermark, bodies
//! within 256 KiB, and deliveries signed with both secrets for a while after a rotation.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::TestApp;
use hookd::secret::Secret;
use rmcp::model::{ClientRequest, CustomRequest, ServerResult};
use serde_json::{Value, json};
use tokio::sync::Notify;

const TOKEN: &str = "callback-test-token";

fn secret(byte: u8) -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    )
}

/// What the receiver saw: each POST's headers and body, and how it answered.
#[derive(Default)]
struct Seen {
    posts: Mutex<Vec<(HeaderMap, Value, String)>>,
    arrived: Notify,
    /// Answers challenges without echoing them (consent only by a well-known document).
    no_echo: bool,
    /// Answers every event 503 while set.
    fail: std::sync::atomic::AtomicBool,
}

impl Seen {
    /// Waits until `check` holds for the posts so far.
    async fn until(&self, what: &str, check: impl Fn() -> bool) {
        let wait = async {
            loop {
                let notified = self.arrived.notified();
                if check() {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("the receiver never saw {what}"));
    }

    /// The event deliveries of hookd event `id`.
    fn of(&self, id: i64) -> Vec<(HeaderMap, Value, String)> {
        self.posts
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, b, _)| b["data"]["id"] == id)
            .cloned()
            .collect()
    }
}

/// Echoes verification challenges; answers an event by its payload's `answer` (a status code),
/// 200 when it has none.
async fn receive(
    State(seen): State<Arc<Seen>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let answer = if v["type"] == "verification" && seen.no_echo {
        (StatusCode::OK, "{}".to_owned())
    } else if v["type"] == "verification" {
        (
            StatusCode::OK,
            json!({"challenge": v["challenge"]}).to_string(),
        )
    } else if seen.fail.load(std::sync::atomic::Ordering::SeqCst) {
        (StatusCode::SERVICE_UNAVAILABLE, String::new())
    } else {
        let code = v["data"]["payload"]["answer"].as_u64().unwrap_or(200) as u16;
        (StatusCode::from_u16(code).unwrap(), String::new())
    };
    seen.posts.lock().unwrap().push((headers, v, body));
    seen.arrived.notify_waiters();
    answer
}

async fn receiver() -> (String, Arc<Seen>) {
    receiver_with(Seen::default(), None).await
}

/// A receiver that may publish a well-known document (`receivers` path prefixes).
async fn receiver_with(seen: Seen, publish: Option<Value>) -> (String, Arc<Seen>) {
    let seen = Arc::new(seen);
    let mut app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .route("/hook/{n}", axum::routing::post(receive))
        .route("/other", axum::routing::post(receive));
    if let Some(doc) = publish {
        let serve = move || {
            let doc = doc.clone();
            async move { axum::Json(doc) }
        };
        app = app.route(
            "/.well-known/mcp-webhook-receiver.json",
            axum::routing::get(serve),
        );
    }
    let app = app.with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

async fn call(client: &common::mcp::Client, method: &str, params: Value) -> Value {
    let req = ClientRequest::CustomRequest(CustomRequest::new(method, Some(params)));
    match client.send_request(req).await {
        Ok(ServerResult::CustomResult(r)) => r.0,
        other => panic!("{method}: {other:?}"),
    }
}

async fn post(app: &TestApp, body: Value) -> i64 {
    let http = common::http();
    let headers = [("content-type", "application/json")];
    let r = common::post(&http, app.webhook, "ci", &headers, body.to_string()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["event_id"].as_i64().unwrap()
}

fn verifies(headers: &HeaderMap, raw: &str, with: &str) -> bool {
    let delivery = hookd::signature::Delivery {
        headers,
        body: raw.as_bytes(),
        now: chrono::Utc::now().timestamp(),
        url: "",
    };
    hookd::signature::standard::verify(&[Secret::new(with)], &delivery).is_ok()
}

#[tokio::test]
async fn failures_are_retried_per_event_refusals_are_not_and_the_cursor_is_a_watermark() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(TOKEN));
        c.allow_private_callbacks = true;
        // Three attempts, 300 ms apart: the next event is posted well within the first wait.
        c.callback_retries = hookd::config::Delays(vec![Duration::from_millis(300); 2]);
    })
    .await;
    let (url, seen) = receiver().await;
    let client = common::mcp::connect_http_with_token(&app.mcp_url(), TOKEN).await;
    let params = json!({"name": "any", "delivery": {"url": url, "secret": secret(1)},
                        "cursor": null, "ttlMs": 600_000});
    let sub = call(&client, "events/subscribe", params.clone()).await;
    assert!(sub["cursor"].is_string(), "{sub}");

    let too_large = post(&app, json!({"answer": 413})).await;
    let failing = post(&app, json!({"answer": 500})).await;
    let fine = post(&app, json!({"n": 1})).await;
    seen.until(
        "the failing event's three attempts and the next event",
        || seen.of(failing).len() == 3 && seen.of(fine).len() == 1,
    )
    .await;
    let after = post(&app, json!({"n": 2})).await;
    seen.until("the event after the abandoned one", || {
        !seen.of(after).is_empty()
    })
    .await;

    assert_eq!(seen.of(too_large).len(), 1, "413 is not retried");
    let attempts = seen.of(failing);
    assert!(
        attempts
            .iter()
            .all(|(h, b, _)| h["webhook-id"] == b["eventId"].as_str().unwrap()),
        "every attempt carries the event's id as its webhook-id"
    );
    let cursor = |id: i64| -> i64 {
        let (_, body, _) = seen.of(id).pop().unwrap();
        body["cursor"].as_str().unwrap().parse().unwrap()
    };
    assert_eq!(
        cursor(fine),
        failing - 1,
        "delivered while the failing one waits: the watermark stays below it"
    );
    assert_eq!(
        cursor(after),
        after,
        "the abandoned event no longer holds the watermark"
    );
    for (headers, body, raw) in seen.posts.lock().unwrap().iter() {
        assert!(verifies(headers, raw, &secret(1)), "signed: {body}");
        assert!(headers.contains_key("x-mcp-subscription-id"));
    }

    // The refresh reports the last error as a category and the watermark; a new secret signs
    // alongside the old one for a while.
    let refreshed = call(
        &client,
        "events/subscribe",
        json!({"name": "any", "delivery": {"url": url, "secret": secret(2)}, "ttlMs": 600_000}),
    )
    .await;
    assert_eq!(refreshed["cursor"], after.to_string(), "{refreshed}");
    assert_eq!(refreshed["deliveryStatus"]["active"], true);
    let rotated = post(&app, json!({"n": 3})).await;
    seen.until("a delivery after the rotation", || {
        !seen.of(rotated).is_empty()
    })
    .await;
    let (headers, _, raw) = seen.of(rotated).pop().unwrap();
    assert!(
        verifies(&headers, &raw, &secret(2)),
        "the new secret verifies"
    );
    assert!(
        verifies(&headers, &raw, &secret(1)),
        "and, for now, the old one"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_event_larger_than_a_delivery_carries_goes_without_its_payload() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(TOKEN));
        c.allow_private_callbacks = true;
    })
    .await;
    let (url, seen) = receiver().await;
    let client = common::mcp::connect_http_with_token(&app.mcp_url(), TOKEN).await;
    let params =
        json!({"name": "any", "delivery": {"url": url, "secret": secret(3)}, "cursor": null});
    call(&client, "events/subscribe", params).await;
    let big = post(&app, json!({"filler": "x".repeat(300 << 10)})).await;
    let small = post(&app, json!({"n": 1})).await;
    seen.until("both events", || {
        !seen.of(big).is_empty() && !seen.of(small).is_empty()
    })
    .await;
    let (_, body, raw) = seen.of(big).pop().unwrap();
    assert!(raw.len() <= 256 << 10, "{} bytes", raw.len());
    assert!(body["data"]["payload"].is_null());
    let omitted = &body["_meta"]["io.github.hookd/payloadOmitted"];
    assert_eq!(omitted["readWith"]["arguments"]["id"], big, "{body}");
    assert!(omitted["bytes"].as_u64().unwrap() > 300 << 10);
    let (_, body, _) = seen.of(small).pop().unwrap();
    assert_eq!(body["data"]["payload"]["n"], 1, "small events go whole");
    assert!(body.get("_meta").is_none());
    app.stop().await;
}

async fn post_to(addr: std::net::SocketAddr, body: Value) -> i64 {
    let http = common::http();
    let headers = [("content-type", "application/json")];
    let r = common::post(&http, addr, "ci", &headers, body.to_string()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["event_id"].as_i64().unwrap()
}

/// A receiver that answers `410 Gone` no longer has the subscription (the AI SDK's receiver
/// answers it once the subscription lapsed on its side): hookd does not retry, delivers nothing
/// more to it, and forgets it, so subscribing again makes a new one.
#[tokio::test]
async fn a_410_ends_the_subscription() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(TOKEN));
        c.allow_private_callbacks = true;
        c.callback_retries = hookd::config::Delays(vec![Duration::from_millis(100); 2]);
    })
    .await;
    let (url, seen) = receiver().await;
    let client = common::mcp::connect_http_with_token(&app.mcp_url(), TOKEN).await;
    let params = json!({"name": "any", "delivery": {"url": url, "secret": secret(6)},
                        "cursor": null, "ttlMs": 600_000});
    let sub = call(&client, "events/subscribe", params.clone()).await;
    let gone = post(&app, json!({"answer": 410})).await;
    let after = post(&app, json!({"n": 1})).await;
    seen.until("the event answered 410", || !seen.of(gone).is_empty())
        .await;

    // Subscribing again finds no subscription to refresh (no deliveryStatus): a new one, with the
    // same derived id. (A refresh that lands before the worker has ended the old one refreshes it;
    // the next one is new.)
    let mut again = Value::Null;
    for _ in 0..50 {
        again = call(&client, "events/subscribe", params.clone()).await;
        if again.get("deliveryStatus").is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.get("deliveryStatus").is_none(), "made anew: {again}");
    assert_eq!(again["id"], sub["id"]);
    let later = post(&app, json!({"n": 2})).await;
    seen.until("an event to the new subscription", || {
        !seen.of(later).is_empty()
    })
    .await;
    assert_eq!(seen.of(gone).len(), 1, "410 is not retried");
    assert!(
        seen.of(after).is_empty(),
        "nothing more went to the ended subscription, and the new one starts after it"
    );
    client.cancel().await.unwrap();
}

/// Every subscription is kept in the store (as ChatGPT's guide asks), with its lifetime:
/// `ttlMs: null` (granted as no expiry) and a finite one alike. After a restart of hookd, delivery
/// goes on from where it stood without the client subscribing again (SQLite, and PostgreSQL when
/// a server answers).
#[tokio::test]
async fn subscriptions_survive_a_restart_and_keep_delivering() {
    let test = "callback_delivery::subscriptions_survive_a_restart_and_keep_delivering";
    let dir = tempfile::tempdir().unwrap();
    let pg = common::pg::database(test).await;
    let mut stores = vec![("sqlite", Vec::new())];
    if let Some(db) = &pg {
        stores.push((
            "postgres",
            vec!["--database-url".to_owned(), db.url.clone()],
        ));
    }
    for (backend, store_args) in stores {
        let data = dir.path().join(backend);
        let mut args = vec!["--mcp-token", TOKEN, "--allow-private-callbacks"];
        args.extend(store_args.iter().map(String::as_str));
        let mut hookd = common::Process::serve(&data, &args);
        let client =
            common::mcp::connect_http_with_token(&format!("http://{}/mcp", hookd.mcp), TOKEN).await;
        let mut subs = Vec::new();
        for ttl in [Value::Null, json!(600_000)] {
            let (url, seen) = receiver().await;
            let params = json!({"name": "any", "delivery": {"url": url, "secret": secret(4)},
                                "cursor": null, "ttlMs": ttl});
            let sub = call(&client, "events/subscribe", params.clone()).await;
            assert_eq!(
                sub["refreshBefore"].is_null(),
                ttl.is_null(),
                "{backend}: no expiry granted only when asked: {sub}"
            );
            subs.push((ttl, params, sub, seen));
        }
        let first = post_to(hookd.webhook, json!({"n": 1})).await;
        for (ttl, _, _, seen) in &subs {
            seen.until("the first event", || !seen.of(first).is_empty())
                .await;
            assert_eq!(seen.of(first).len(), 1, "{backend} {ttl}");
        }
        client.cancel().await.unwrap();
        assert!(hookd.terminate().success(), "{backend}: a clean stop");

        let hookd = common::Process::serve(&data, &args);
        let second = post_to(hookd.webhook, json!({"n": 2})).await;
        let client =
            common::mcp::connect_http_with_token(&format!("http://{}/mcp", hookd.mcp), TOKEN).await;
        for (ttl, params, sub, seen) in subs {
            seen.until("an event after the restart, with no new subscribe", || {
                !seen.of(second).is_empty()
            })
            .await;
            let (headers, body, _) = seen.of(second).pop().unwrap();
            assert_eq!(
                headers["x-mcp-subscription-id"],
                sub["id"].as_str().unwrap(),
                "{backend} {ttl}"
            );
            assert_eq!(body["cursor"], second.to_string(), "{backend} {ttl}");
            assert_eq!(
                seen.of(first).len(),
                1,
                "{backend} {ttl}: nothing delivered twice"
            );
            // A refresh finds it (the restored subscription, with its delivery status).
            let refreshed = call(&client, "events/subscribe", params).await;
            assert_eq!(refreshed["id"], sub["id"], "{backend} {ttl}");
            assert!(
                refreshed["deliveryStatus"]["lastDeliveryAt"].is_string(),
                "{backend} {ttl}: {refreshed}"
            );
            assert_eq!(refreshed["cursor"], second.to_string(), "{backend} {ttl}");
        }
        client.cancel().await.unwrap();
    }
}

/// A receiver whose origin publishes `/.well-known/mcp-webhook-receiver.json` covering a path is
/// verified by it, with no challenge POST; a path it does not cover still gets the challenge; and
/// verification requests to one host are rate-limited.
#[tokio::test]
async fn a_published_receiver_document_verifies_and_verification_is_rate_limited() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(TOKEN));
        c.allow_private_callbacks = true;
    })
    .await;
    let silent = Seen {
        no_echo: true,
        ..Seen::default()
    };
    let (url, seen) = receiver_with(silent, Some(json!({"receivers": ["/hook"]}))).await;
    let client = common::mcp::connect_http_with_token(&app.mcp_url(), TOKEN).await;
    let subscribe = |url: String| {
        let req = ClientRequest::CustomRequest(CustomRequest::new(
            "events/subscribe",
            Some(
                json!({"name": "any", "delivery": {"url": url, "secret": secret(7)}, "cursor": null}),
            ),
        ));
        client.send_request(req)
    };
    let covered = subscribe(url.clone()).await;
    assert!(
        matches!(covered, Ok(ServerResult::CustomResult(_))),
        "{covered:?}"
    );
    let other = url.replace("/hook", "/other");
    let refused = subscribe(other).await;
    let Err(rmcp::service::ServiceError::McpError(e)) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(
        (e.code.0, e.data.unwrap()["reason"].clone()),
        (-32015, json!("challenge_failed"))
    );
    let challenges = seen
        .posts
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, b, _)| b["type"] == "verification")
        .count();
    assert_eq!(challenges, 1, "only the uncovered path was challenged");

    // Two verifications so far; eight more URLs on the host pass, the next is refused.
    for n in 0..8 {
        let r = subscribe(format!("{url}/{n}")).await;
        assert!(matches!(r, Ok(ServerResult::CustomResult(_))), "{n}: {r:?}");
    }
    let limited = subscribe(format!("{url}/8")).await;
    let Err(rmcp::service::ServiceError::McpError(e)) = limited else {
        panic!("{limited:?}")
    };
    assert_eq!(e.code.0, -32013, "{e:?}");
    app.stop().await;
}

/// Holds every event delivery until released, counting how many are in flight at once.
struct Gate {
    in_flight: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
    done: std::sync::atomic::AtomicUsize,
    open: tokio::sync::Semaphore,
    changed: Notify,
}

async fn until(gate: &Gate, what: &str, check: impl Fn(&Gate) -> bool) {
    let wait = async {
        loop {
            let notified = gate.changed.notified();
            if check(gate) {
                return;
            }
            notified.await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("never: {what}"))
}

async fn held(State(gate): State<Arc<Gate>>, body: String) -> (StatusCode, String) {
    use std::sync::atomic::Ordering::SeqCst;
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if v["type"] == "verification" {
        return (
            StatusCode::OK,
            json!({"challenge": v["challenge"]}).to_string(),
        );
    }
    let now = gate.in_flight.fetch_add(1, SeqCst) + 1;
    gate.most.fetch_max(now, SeqCst);
    gate.changed.notify_waiters();
    gate.open.acquire().await.unwrap().forget();
    gate.in_flight.fetch_sub(1, SeqCst);
    gate.done.fetch_add(1, SeqCst);
    gate.changed.notify_waiters();
    (StatusCode::OK, String::new())
}

/// Deliveries to one host are bounded in concurrency across subscriptions: ten subscriptions to
/// one slow receiver have at most eight POSTs in flight, and every one is delivered in the end.
#[tokio::test]
async fn deliveries_to_one_host_are_bounded_in_concurrency() {
    use std::sync::atomic::Ordering::SeqCst;
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(TOKEN));
        c.allow_private_callbacks = true;
    })
    .await;
    let gate = Arc::new(Gate {
        in_flight: Default::default(),
        most: Default::default(),
        done: Default::default(),
        open: tokio::sync::Semaphore::new(0),
        changed: Notify::new(),
    });
    let router = axum::Router::new()
        .route("/hook/{n}", axum::routing::post(held))
        .with_state(gate.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = common::mcp::connect_http_with_token(&app.mcp_url(), TOKEN).await;
    for n in 0..10 {
        let url = format!("http://{addr}/hook/{n}");
        let params =
            json!({"name": "any", "delivery": {"url": url, "secret": secret(8)}, "cursor": null});
        call(&client, "events/subscribe", params).await;
    }
    post(&app, json!({"n": 1})).await;
    until(&gate, "eight deliveries in flight", |g| {
        g.in_flight.load(SeqCst) == 8
    })
    .await;
    gate.open.add_permits(10);
    until(&gate, "all ten delivered", |g| g.done.load(SeqCst) == 10).await;
    assert_eq!(
        gate.most.load(SeqCst),
        8,
        "at most eight at once to one host"
    );
    app.stop().await;
}

/// A kept subscription taken up after a restart: when retention removed events after its
/// watermark meanwhile, the receiver gets a `gap` envelope with the fresh cursor before the next
/// event; one whose event type no longer exists gets a `terminated` envelope and is dropped.
#[tokio::test]
async fn after_a_restart_a_gap_is_announced_and_a_removed_event_type_terminates() {
    use hookd::store::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let with_upstream = dir.path().join("with.toml");
    std::fs::write(&with_upstream, "[sources.upstream]\nprovider = \"none\"\n").unwrap();
    let without = dir.path().join("without.toml");
    std::fs::write(&without, "").unwrap();
    let (url, seen) = receiver().await;
    let args = |config: &std::path::Path| {
        let config = config.to_str().unwrap().to_owned();
        vec![
            "--mcp-token".to_owned(),
            TOKEN.to_owned(),
            "--allow-private-callbacks".to_owned(),
            "--config".to_owned(),
            config,
        ]
    };
    let first_args = args(&with_upstream);
    let first_args: Vec<&str> = first_args.iter().map(String::as_str).collect();
    let mut hookd = common::Process::serve(&data, &first_args);
    let client =
        common::mcp::connect_http_with_token(&format!("http://{}/mcp", hookd.mcp), TOKEN).await;
    let any = json!({"name": "any", "delivery": {"url": url, "secret": secret(9)},
                     "cursor": null, "ttlMs": null});
    let kept_any = call(&client, "events/subscribe", any).await;
    let upstream = json!({"name": "upstream", "delivery": {"url": url, "secret": secret(9)},
                          "cursor": null, "ttlMs": null});
    let kept_upstream = call(&client, "events/subscribe", upstream).await;
    let delivered = post_to(hookd.webhook, json!({"n": 1})).await;
    seen.until("the first event", || !seen.of(delivered).is_empty())
        .await;
    client.cancel().await.unwrap();
    assert!(hookd.terminate().success());

    // While hookd is down, three more events arrive and retention keeps only the newest.
    let newest = {
        let store = hookd::store::Sqlite::open(&data).unwrap();
        let mut last = 0;
        for n in 2..=4 {
            last = store
                .append(common::new_event("ci", None, json!({"n": n})))
                .await
                .unwrap()
                .id;
        }
        let policy = hookd::store::Retention {
            max_events_per_source: 1,
            received_before: chrono::Utc::now() - chrono::Duration::days(1),
            dedupe_after: chrono::Utc::now(),
        };
        store.prune(policy).await.unwrap();
        last
    };

    let second_args = args(&without);
    let second_args: Vec<&str> = second_args.iter().map(String::as_str).collect();
    let _hookd = common::Process::serve(&data, &second_args);
    let control =
        |kind: &'static str, sub: &Value| {
            let sub = sub["id"].as_str().unwrap().to_owned();
            let seen = seen.clone();
            move || {
                seen.posts.lock().unwrap().iter().any(|(h, b, _)| {
                    b["type"] == kind && h["x-mcp-subscription-id"] == sub.as_str()
                })
            }
        };
    seen.until("a gap envelope", control("gap", &kept_any))
        .await;
    seen.until("the newest event", || !seen.of(newest).is_empty())
        .await;
    seen.until(
        "a terminated envelope",
        control("terminated", &kept_upstream),
    )
    .await;
    let posts = seen.posts.lock().unwrap();
    let gap = posts.iter().find(|(_, b, _)| b["type"] == "gap").unwrap();
    assert_eq!(gap.1["cursor"], (newest - 1).to_string(), "{}", gap.1);
    assert!(
        gap.0["webhook-id"]
            .to_str()
            .unwrap()
            .starts_with("msg_gap_")
    );
    let end = posts
        .iter()
        .find(|(_, b, _)| b["type"] == "terminated")
        .unwrap();
    assert_eq!(end.1["error"]["code"], -32011, "{}", end.1);
    assert!(
        verifies(&end.0, &end.2, &secret(9)),
        "signed like a delivery"
    );
    let order: Vec<&str> = posts
        .iter()
        .filter(|(h, _, _)| h["x-mcp-subscription-id"] == kept_any["id"].as_str().unwrap())
        .map(|(_, b, _)| b["type"].as_str().unwrap_or("event"))
        .collect();
    assert_eq!(
        order,
        ["verification", "event", "gap", "event"],
        "the gap before the next event"
    );
}

/// Delivery is suspended when nearly every attempt fails (here: the first 100 attempts, all
/// 503), not after a fixed few; the next refresh reports it (`active: false`, the category, since
/// when) and resumes delivery from the watermark, so nothing that failed is lost.
#[tokio::test]
async fn sustained_failure_suspends_delivery_until_a_refresh_resumes_it_from_the_watermark() {
    use std::sync::atomic::Ordering::SeqCst;
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(TOKEN));
        c.allow_private_callbacks = true;
        // No retry comes due during the test: only first attempts count.
        c.callback_retries = hookd::config::Delays(vec![Duration::from_secs(3600)]);
    })
    .await;
    let (url, seen) = receiver().await;
    let client = common::mcp::connect_http_with_token(&app.mcp_url(), TOKEN).await;
    let params = json!({"name": "any", "delivery": {"url": url, "secret": secret(10)},
                        "cursor": null, "ttlMs": 600_000});
    call(&client, "events/subscribe", params.clone()).await;
    seen.fail.store(true, SeqCst);
    let mut ids = Vec::new();
    for n in 0..100 {
        ids.push(post(&app, json!({"n": n})).await);
    }
    seen.until("a hundred failed attempts", || {
        ids.iter().all(|id| !seen.of(*id).is_empty())
    })
    .await;
    seen.fail.store(false, SeqCst);
    // A refresh reports the state before it (and reactivates): wait for the suspension to show.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let suspended = loop {
        let r = call(&client, "events/subscribe", params.clone()).await;
        if r["deliveryStatus"]["active"] == false {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "never suspended: {r}");
    };
    let status = &suspended["deliveryStatus"];
    assert_eq!(status["lastError"], "http_5xx", "{suspended}");
    assert!(status["failedSince"].is_string(), "{suspended}");
    assert_eq!(
        suspended["cursor"],
        (ids[0] - 1).to_string(),
        "nothing acknowledged"
    );
    seen.until("the first event again, accepted", || {
        seen.of(ids[0]).len() == 2
    })
    .await;
    seen.until("the last event again", || seen.of(ids[99]).len() == 2)
        .await;
    app.stop().await;
}

/// One credential holds at most a quarter of the webhook subscriptions: a client cannot take
/// every one (a refresh of its own is still answered, and unsubscribing frees a place).
#[tokio::test]
async fn one_credential_holds_at_most_its_share_of_webhook_subscriptions() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(TOKEN));
        c.allow_private_callbacks = true;
    })
    .await;
    let (url, _seen) = receiver().await;
    let client = common::modern::Modern::new(&app.mcp_url()).token(TOKEN);
    let params = |n: usize| {
        json!({"name": "any", "arguments": {"type": format!("t{n}")}, "cursor": null,
               "ttlMs": 600_000, "delivery": {"url": url, "secret": secret(5)}})
    };
    for n in 0..250 {
        client.ok("events/subscribe", params(n)).await;
    }
    let refused = client.send("events/subscribe", params(250)).await;
    assert_eq!(refused.error_code(), Some(-32013), "{}", refused.raw);
    assert_eq!(
        refused.body["error"]["data"]["limit"],
        "subscriptionsPerCredential"
    );
    let refreshed = client.ok("events/subscribe", params(7)).await;
    assert!(
        refreshed["deliveryStatus"].is_object(),
        "a refresh is answered: {refreshed}"
    );
    let key = json!({"name": "any", "arguments": {"type": "t0"}, "delivery": {"url": url}});
    client.ok("events/unsubscribe", key).await;
    client.ok("events/subscribe", params(250)).await;
    app.stop().await;
}
