//! Webhook ingest from the outside: real HTTP to hookd bound on port 0.

use crate::common;

use common::{TestApp, fixture, post, post_json};
use hookd::event::{EventFilter, Page, PayloadEncoding};
use serde_json::{Value, json};

async fn all_events(app: &TestApp) -> Vec<hookd::event::Event> {
    app.store()
        .query(EventFilter::default(), Page::Oldest(10_000))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_github_push_is_stored_with_its_type_delivery_and_safe_headers() {
    let app = TestApp::start().await;
    let http = common::http();
    let body = fixture("github/push.json");
    let reply = post(
        &http,
        app.webhook,
        "github",
        &[
            ("content-type", "application/json"),
            ("x-github-event", "push"),
            ("x-github-delivery", "4f2b9a30-7d1e-11ef-8a3c-5b6e2c9d0f41"),
            ("x-hub-signature-256", "sha256=deadbeef"),
            ("authorization", "Bearer s3cr3t"),
            ("cookie", "session=abc"),
        ],
        body.clone(),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "received");
    assert_eq!(reply.body["duplicate"], false);
    let id = reply.body["event_id"].as_i64().unwrap();

    let event = app.store().get(id).await.unwrap().expect("stored");
    assert_eq!(event.source, "github");
    assert_eq!(event.event_type, "push");
    assert_eq!(
        event.delivery_id.as_deref(),
        Some("4f2b9a30-7d1e-11ef-8a3c-5b6e2c9d0f41")
    );
    assert_eq!(event.payload_encoding, PayloadEncoding::Json);
    assert_eq!(
        event.payload,
        serde_json::from_slice::<Value>(&body).unwrap()
    );
    let age = chrono::Utc::now() - event.received_at;
    assert!((0..60).contains(&age.num_seconds()), "received just now");
    let shown = serde_json::to_value(&event).unwrap()["received_at"].clone();
    let shown = shown.as_str().expect("a time is shown as text");
    assert_eq!(shown, hookd::time::format_time(event.received_at));
    assert!(shown.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(shown).is_ok());
    assert_eq!(event.headers["x-hub-signature-256"], "[redacted]");
    assert!(!event.headers.contains_key("authorization"));
    assert!(!event.headers.contains_key("cookie"));
    let stored = serde_json::to_string(&event.headers).unwrap();
    assert!(!stored.contains("s3cr3t") && !stored.contains("deadbeef"));
    app.stop().await;
}

#[tokio::test]
async fn bodies_are_stored_by_content_type() {
    let app = TestApp::start().await;
    let http = common::http();
    let form = fixture("slack/slash_command.txt");
    let cases = [
        ("application/x-www-form-urlencoded", form),
        ("text/plain; charset=utf-8", b"hello there".to_vec()),
        ("application/octet-stream", vec![0xde, 0xad, 0xbe, 0xef]),
        (
            "application/cloudevents+json",
            br#"{"type":"com.example.built"}"#.to_vec(),
        ),
    ];
    let mut ids = Vec::new();
    for (content_type, body) in cases {
        let r = post(
            &http,
            app.webhook,
            "misc",
            &[("content-type", content_type)],
            body,
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        ids.push(r.body["event_id"].as_i64().unwrap());
    }
    let get = |i: usize| app.store().get(ids[i]);
    let slash = get(0).await.unwrap().unwrap();
    assert_eq!(slash.payload_encoding, PayloadEncoding::Form);
    assert_eq!(slash.payload["command"], "/hookd");
    assert_eq!(
        slash.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );

    let text = get(1).await.unwrap().unwrap();
    assert_eq!(
        (text.payload_encoding, text.payload),
        (PayloadEncoding::Text, json!("hello there"))
    );
    let binary = get(2).await.unwrap().unwrap();
    assert_eq!(
        (binary.payload_encoding, binary.payload),
        (PayloadEncoding::Base64, json!("3q2+7w=="))
    );
    let cloud = get(3).await.unwrap().unwrap();
    assert_eq!(cloud.event_type, "com.example.built");
    app.stop().await;
}

#[tokio::test]
async fn event_type_falls_back_from_header_to_body_to_unknown() {
    let app = TestApp::start().await;
    let http = common::http();
    let json_ct = ("content-type", "application/json");
    let a = post(
        &http,
        app.webhook,
        "s",
        &[json_ct, ("x-event-type", "build.done")],
        r#"{"type":"x"}"#,
    )
    .await;
    let b = post(
        &http,
        app.webhook,
        "s",
        &[json_ct],
        r#"{"type":"invoice.paid"}"#,
    )
    .await;
    let c = post(&http, app.webhook, "s", &[json_ct], "[1,2]").await;
    let types: Vec<String> = all_events(&app)
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, ["build.done", "invoice.paid", "unknown"]);
    let ids: Vec<i64> = [a, b, c]
        .iter()
        .map(|r| r.body["event_id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    app.stop().await;
}

#[tokio::test]
async fn bad_requests_get_clear_json_errors_and_store_nothing() {
    let app = TestApp::start_with(|c| c.max_body = 64 * 1024).await;
    let http = common::http();

    let r = post_json(&http, app.webhook, "github", Some("d1"), "{\"a\": ").await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"].as_str().unwrap().contains("malformed JSON"),
        "{:?}",
        r.body
    );

    for source in ["GitHub", "a%20b", &"x".repeat(65)] {
        let r = post_json(&http, app.webhook, source, None, "{}").await;
        assert_eq!(r.status, 404, "{source}");
        assert!(
            r.body["error"].as_str().unwrap().contains("source"),
            "{:?}",
            r.body
        );
    }

    let big = vec![b'a'; 64 * 1024 + 1];
    let r = post(
        &http,
        app.webhook,
        "big",
        &[("content-type", "text/plain")],
        big,
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["status"], "error");
    let fits = vec![b'a'; 64 * 1024];
    let r = post(
        &http,
        app.webhook,
        "big",
        &[("content-type", "text/plain")],
        fits,
    )
    .await;
    assert_eq!(r.status, 200);

    let r = http
        .get(format!("http://{}/nope", app.webhook))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());

    let r = http
        .get(format!("http://{}/webhook/github", app.webhook))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(
        r.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("POST")
    );

    let long_id = "d".repeat(300);
    let r = post_json(&http, app.webhook, "github", Some(&long_id), "{}").await;
    assert_eq!(r.status, 400);

    let events = all_events(&app).await;
    assert_eq!(events.len(), 1, "only the body that fit was stored");
    assert_eq!(events[0].source, "big");
    app.stop().await;
}

#[tokio::test]
async fn healthz_and_readyz_answer_on_both_listeners() {
    let app = TestApp::start().await;
    for addr in [app.webhook, app.mcp] {
        for path in ["healthz", "readyz"] {
            let r = reqwest::get(format!("http://{addr}/{path}")).await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn concurrent_duplicates_are_stored_once() {
    let app = TestApp::start().await;
    let http = common::http();
    let body = String::from_utf8(fixture("github/ping.json")).unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (http, body, addr) = (http.clone(), body.clone(), app.webhook);
        tasks.spawn(
            async move { post_json(&http, addr, "github", Some("same-delivery"), &body).await },
        );
    }
    let mut ids = Vec::new();
    let mut fresh = 0;
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        assert_eq!(r.status, 200, "{:?}", r.body);
        ids.push(r.body["event_id"].as_i64().unwrap());
        fresh += usize::from(r.body["duplicate"] == false);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every retry got the first event's id");
    assert_eq!(fresh, 1, "exactly one delivery was new");
    assert_eq!(all_events(&app).await.len(), 1);
    // The same delivery id from another source is a different delivery.
    let other = post_json(&http, app.webhook, "gitlab", Some("same-delivery"), "{}").await;
    assert_eq!(other.body["duplicate"], false);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_distinct_deliveries_all_get_distinct_ids() {
    let app = TestApp::start().await;
    let http = common::http();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (http, addr) = (http.clone(), app.webhook);
        tasks.spawn(async move {
            post_json(
                &http,
                addr,
                "load",
                Some(&format!("d-{i}")),
                &format!("{{\"n\":{i}}}"),
            )
            .await
        });
    }
    let mut ids = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        assert_eq!((r.status, &r.body["duplicate"]), (200, &json!(false)));
        ids.push(r.body["event_id"].as_i64().unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200);
    let sources = app.store().sources().await.unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].count, 200);
    app.stop().await;
}

/// JSON that is well-formed but that readers could not parse back (too deep, a number beyond
/// f64, a lone surrogate) is refused before anything is stored, so it can never poison a reader.
#[tokio::test]
async fn json_readers_could_not_parse_is_refused_and_stores_nothing() {
    let app = TestApp::start().await;
    let http = common::http();
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    for body in [
        deep(129),
        deep(100_000),
        format!("{}1{}", r#"{"a":"#.repeat(200), "}".repeat(200)),
        r#"{"n":1e999999}"#.to_owned(),
        r#"{"s":"\ud800"}"#.to_owned(),
    ] {
        let reply = post_json(&http, app.webhook, "evil", None, &body).await;
        assert_eq!(reply.status, 400, "{}", &body[..body.len().min(30)]);
        let error = reply.body["error"].as_str().unwrap();
        assert!(error.contains("beyond hookd's limits"), "{error}");
    }
    let ok = post_json(&http, app.webhook, "evil", None, &deep(127)).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let events = all_events(&app).await;
    assert_eq!(events.len(), 1, "only the readable body is stored");
    assert!(events[0].note.is_none() && events[0].payload.is_array());
    app.stop().await;
}
