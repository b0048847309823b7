//! Property tests on what arrives from the network: verifiers, body decoding, normalizers,
//! `where` paths and search queries. Each runs `PROPTEST_CASES` cases (256 by default, what CI
//! runs); `PROPTEST_CASES=20000 cargo test --test properties` is the longer run. A failure
//! proptest finds is saved under `proptest-regressions/` and replayed first from then on.

use crate::common;

use std::sync::{Arc, OnceLock};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use hookd::event::{EventFilter, FieldMatch, Page, PayloadEncoding};
use hookd::ingest::body;
use hookd::providers::{self, Incoming, Provider};
use hookd::signature as verify;
use hookd::store::{SearchQuery, Sqlite, Store};
use proptest::prelude::*;
use serde_json::Value;

const SIGNED: [&str; 7] = [
    "github",
    "stripe",
    "slack",
    "vercel",
    "standard-webhooks",
    "shopify",
    "linear",
];

fn provider(name: &str) -> Arc<dyn Provider> {
    providers::build(name, Default::default()).unwrap()
}

/// What `provider` reads from `tree` with `headers`.
fn read(
    provider: Option<&dyn Provider>,
    h: &HeaderMap,
    tree: &providers::Json<'_>,
) -> providers::Normalized {
    let settings = providers::Settings::default();
    let d = Incoming {
        headers: h,
        encoding: PayloadEncoding::Json,
        body: tree,
        received_at: chrono::Utc::now(),
        settings: &settings,
    };
    providers::normalize(provider, &d)
}

const NOW: i64 = 1_790_000_000;

fn headers(pairs: &[(String, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            h.insert(k, v);
        }
    }
    h
}

/// Any JSON value, nested a few levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("id".to_owned()),
                    ".{0,8}".prop_map(|s| s)
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("tests/properties.proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    /// What a scheme signs, it verifies; any change to the body is refused.
    #[test]
    fn verifiers_accept_their_own_signatures_and_refuse_any_change(
        scheme in 0..SIGNED.len(),
        secret in "[ -~]{1,40}",
        body in prop::collection::vec(any::<u8>(), 1..512),
        flip in any::<prop::sample::Index>(),
    ) {
        let scheme = provider(SIGNED[scheme]);
        let secret = hookd::secret::Secret::new(if scheme.name() == "standard-webhooks" {
            format!("whsec_{}", base64_of(secret.as_bytes()))
        } else {
            secret
        });
        let signed = scheme.sign(&secret, &verify::ToSign { body: &body, now: NOW, delivery_id: "msg_1", url: "" });
        let mut h = headers(&signed.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect::<Vec<_>>());
        h.insert("webhook-id", HeaderValue::from_static("msg_1"));
        let ok = verify::Delivery { headers: &h, body: &body, now: NOW, url: "" };
        prop_assert_eq!(scheme.verify(std::slice::from_ref(&secret), &ok), Ok(()));
        let mut changed = body.clone();
        let i = flip.index(changed.len());
        changed[i] ^= 0x01;
        let bad = verify::Delivery { headers: &h, body: &changed, now: NOW, url: "" };
        prop_assert!(scheme.verify(std::slice::from_ref(&secret), &bad).is_err());
    }

    /// Any header values at all: a clear refusal, never a panic or an acceptance.
    #[test]
    fn verifiers_refuse_arbitrary_headers(
        scheme in 0..SIGNED.len(),
        values in prop::collection::vec("[ -~]{0,80}", 8),
        body in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        let names = ["x-hub-signature-256", "stripe-signature", "x-slack-signature",
                     "x-slack-request-timestamp", "x-vercel-signature", "webhook-signature",
                     "webhook-timestamp", "x-shopify-hmac-sha256"];
        let pairs: Vec<(String, String)> = names.iter().map(|n| n.to_string()).zip(values).collect();
        let mut h = headers(&pairs);
        h.insert("webhook-id", HeaderValue::from_static("msg_1"));
        h.insert("linear-signature", HeaderValue::from_static("00"));
        let d = verify::Delivery { headers: &h, body: &body, now: NOW, url: "" };
        let secret = hookd::secret::Secret::new("whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0");
        prop_assert!(provider(SIGNED[scheme]).verify(&[secret], &d).is_err());
    }

    /// Every provider, handed what its own signature headers are named with arbitrary values,
    /// any body and any URL: a refusal, never a panic or an acceptance; and any handshake request
    /// (any method, query, headers) is answered or passed on, never a panic.
    #[test]
    fn every_provider_refuses_arbitrary_requests(
        which in 0..providers::REGISTRY.len(),
        values in prop::collection::vec("[ -~]{0,120}", 6),
        body in prop::collection::vec(any::<u8>(), 0..256),
        query in "[ -~]{0,80}",
        method in 0..3usize,
    ) {
        let (name, build) = providers::REGISTRY[which];
        let Ok(p) = build(providers::Options { source: name, ..Default::default() }) else {
            return Ok(()); // hmac needs a table
        };
        if !p.signs() {
            return Ok(());
        }
        let probe = verify::ToSign { body: b"{}", now: NOW, delivery_id: "msg_1", url: "http://h/webhook/x" };
        let key = p.new_private_key().unwrap_or_else(|| hookd::secret::Secret::new("probe"));
        let names: Vec<String> = p.sign(&key, &probe).into_iter().map(|(k, _)| k.to_ascii_lowercase())
            .chain(["content-type".to_owned(), "x-hook-secret".to_owned()])
            .collect();
        let pairs: Vec<(String, String)> = names.into_iter().zip(values).collect();
        let h = headers(&pairs);
        let url = format!("http://h/webhook/x?{query}");
        let d = verify::Delivery { headers: &h, body: &body, now: NOW, url: &url };
        let verifier = p.new_private_key()
            .and_then(|k| p.public_key(&k)?.ok())
            .map(hookd::secret::Secret::new)
            .unwrap_or_else(|| hookd::secret::Secret::new("whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"));
        prop_assert!(p.verify(std::slice::from_ref(&verifier), &d).is_err(), "{name}");
        let m = [axum::http::Method::GET, axum::http::Method::HEAD, axum::http::Method::POST][method].clone();
        let _ = p.handshake(&m, &d, &[verifier]);
    }

    /// Whatever bytes arrive under whatever content type, decoding answers, and what it
    /// accepts is a payload every reader parses back.
    #[test]
    fn decoded_bodies_always_parse_back(
        content_type in prop_oneof![
            Just(None), Just(Some("application/json")), Just(Some("text/plain")),
            Just(Some("application/x-www-form-urlencoded")), Just(Some("application/cloudevents+json")),
        ],
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            json().prop_map(|v| v.to_string().into_bytes()),
            (1usize..300).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
            "[-+0-9eE.]{1,30}".prop_map(|s| s.into_bytes()),
            r#"(\\u[dD][89abAB][0-9a-f]{2}|[a-z]){0,6}"#.prop_map(|s| format!("\"{s}\"").into_bytes()),
        ],
    ) {
        if let Ok(d) = body::decode(content_type, &bytes) {
            prop_assert!(serde_json::from_str::<Value>(d.payload.get()).is_ok(), "{}", d.payload.get());
        }
    }

    /// Every provider's normalizer takes any JSON without panicking and names a type.
    #[test]
    fn normalizers_take_any_json(payload in json(), which in 0..providers::REGISTRY.len(), event in "[a-z_.]{0,12}") {
        let (name, build) = providers::REGISTRY[which];
        let Ok(p) = build(providers::Options { source: name, ..Default::default() }) else {
            return Ok(()); // hmac needs a table
        };
        let h = headers(&[("x-github-event".into(), event.clone()), ("x-shopify-topic".into(), event)]);
        let text = payload.to_string();
        let tree = hookd::payload::parse(&text).unwrap();
        let n = read(Some(p.as_ref()), &h, &tree);
        prop_assert!(!n.event_type.is_empty());
    }

    /// Any `where` key and value: refused with a reason, or run against a real store without
    /// an error.
    #[test]
    fn where_conditions_never_fail_a_query(key in "payload\\.[ -~]{0,24}", value in json()) {
        let mut conditions = serde_json::Map::new();
        conditions.insert(key, value);
        if let Ok(fields) = FieldMatch::parse_where(&conditions) {
            let filter = EventFilter { fields, ..Default::default() };
            let store = store();
            let answer = runtime().block_on(store.query(filter, Page::Newest(10)));
            prop_assert!(answer.is_ok(), "{:?}", answer.err());
        }
    }

    /// Any `maxAgeMs` (with or without a cursor) gets an answer: events within a century,
    /// invalid params beyond. Found missing: ~8.3e15 overflowed a date and the request was
    /// never answered.
    #[test]
    fn any_max_age_gets_an_answer(
        max_age in prop_oneof![any::<u64>(), 0..=hookd_max_age(), Just(u64::MAX), Just(8_300_000_000_000_000u64)],
        cursor in prop_oneof![Just(Value::Null), Just(Value::from("0")), Just(Value::from("1"))],
    ) {
        let (_app, client) = events_app();
        let params = serde_json::json!({"name": "any", "cursor": cursor, "maxAgeMs": max_age});
        let asked = client.send("events/poll", params);
        let answer = runtime()
            .block_on(async { tokio::time::timeout(std::time::Duration::from_secs(10), asked).await })
            .expect("answered in time");
        if max_age <= hookd_max_age() {
            prop_assert!(answer.body["result"]["events"].is_array(), "{}", answer.raw);
        } else {
            prop_assert_eq!(answer.error_code(), Some(-32602), "{}", answer.raw);
        }
    }

    /// Any search text is searched for as text: never a query-syntax error.
    #[test]
    fn search_queries_never_fail(text in "[ -~]{0,40}") {
        let store = store();
        let query = SearchQuery { text, filter: EventFilter::default(), limit: 10 };
        let answer = runtime().block_on(store.search(query));
        prop_assert!(answer.is_ok(), "{:?}", answer.err());
    }
}

/// Found by `normalizers_take_any_json`: an empty `X-Shopify-Topic` gave the event an empty type.
#[test]
fn an_empty_type_from_a_provider_becomes_unknown() {
    let h = headers(&[("x-shopify-topic".into(), String::new())]);
    let n = read(
        Some(provider("shopify").as_ref()),
        &h,
        &providers::Json::Null,
    );
    assert_eq!(n.event_type, "unknown");
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Runtime::new().unwrap())
}

/// One real SQLite store with a few events of every kind, shared by the cases.
fn store() -> Arc<dyn Store> {
    static STORE: OnceLock<(Arc<dyn Store>, tempfile::TempDir)> = OnceLock::new();
    STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn Store> = Arc::new(Sqlite::open(dir.path()).unwrap());
            runtime().block_on(async {
                for payload in [
                    serde_json::json!({"action": "opened", "n": 7, "list": [1, {"a": "b"}]}),
                    serde_json::json!([1, 2, 3]),
                    serde_json::json!("text"),
                    serde_json::json!({"nested": {"deep": {"x": null}}, "s": "card declined"}),
                ] {
                    store
                        .append(common::new_event("s", None, payload))
                        .await
                        .unwrap();
                }
            });
            (store, dir)
        })
        .0
        .clone()
}

fn hookd_max_age() -> u64 {
    100 * 365 * 24 * 3600 * 1000
}

/// One hookd with an event in it, and a 2026-07-28 client of it, shared by the cases.
fn events_app() -> &'static (common::TestApp, common::modern::Modern) {
    static APP: OnceLock<(common::TestApp, common::modern::Modern)> = OnceLock::new();
    APP.get_or_init(|| {
        runtime().block_on(async {
            let app = common::TestApp::start().await;
            let headers = [("content-type", "application/json")];
            let r = common::post(&common::http(), app.webhook, "s", &headers, "{}").await;
            assert_eq!(r.status, 200);
            let client = common::modern::Modern::new(&app.mcp_url());
            (app, client)
        })
    })
}
