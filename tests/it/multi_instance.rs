//! Several hookd instances on one PostgreSQL (and one Redis): two `hookd serve` processes take
//! webhooks and MCP calls, and an in-process instance (the same `app::start`) hosts the waiters,
//! so the test can see them parked before it sends what should wake them. Each test gets a fresh
//! database and, where used, a Redis of its own that it restarts. Skipped by name without
//! PostgreSQL or `redis-server`, except under `CI=true`.

use crate::common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::mcp::{ERAS, call_ok, connect_http};
use common::pg::{Proxy, TestDb};
use common::redis::RedisServer;
use common::{Process, TestApp, post_json};
use hookd::event::EventFilter;
use hookd::secret::Secret;
use rmcp::model::SubscribeRequestParams;
use serde_json::{Value, json};

/// An in-process instance on `db` (and `redis`).
async fn instance(db_url: &str, redis: Option<&RedisServer>) -> TestApp {
    let redis = redis.map(|r| Secret::new(r.url()));
    TestApp::start_with(|c| {
        c.database_url = Some(Secret::new(db_url));
        c.redis_url = redis;
    })
    .await
}

/// A `hookd serve` process on `db` (and `redis`).
fn process(dir: &tempfile::TempDir, db: &TestDb, redis: Option<&RedisServer>) -> Process {
    let mut args = vec!["--database-url".to_owned(), db.url.clone()];
    if let Some(r) = redis {
        args.extend(["--redis-url".to_owned(), r.url()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Process::serve(dir.path(), &args)
}

/// Waits (without sleeping) until `n` waiters sleep on `app`'s bus.
async fn until_waiters(app: &TestApp, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.store().bus().waiters() < n {
        assert!(Instant::now() < deadline, "the waiter never parked");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Parks a `wait_for_event` on `waiter` for `source` after `after_id`, runs `send`, and returns
/// what the wait answered.
async fn woken_by(
    waiter: &TestApp,
    source: &str,
    after_id: i64,
    send: impl std::future::Future<Output = ()>,
) -> Value {
    let client = connect_http(&waiter.mcp_url(), ERAS[0].clone()).await;
    let args = json!({"source": source, "after_id": after_id, "timeout_seconds": 30});
    let parked = tokio::spawn(async move {
        let r = call_ok(&client, "wait_for_event", args).await;
        client.cancel().await.unwrap();
        r
    });
    // The MCP session's own watchers (if any) are not waiters of this source; wait for one more.
    let before = waiter.store().bus().waiters();
    until_waiters(waiter, before + 1).await;
    send.await;
    parked.await.unwrap()
}

/// How many subscribers the wake-up channel has on the Redis at `url`.
async fn bus_subscribers(url: &str) -> i64 {
    let Ok(client) = redis::Client::open(url) else {
        return 0;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return 0;
    };
    let channels: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .arg("hookd:committed:*")
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    let Some(channel) = channels.first() else {
        return 0;
    };
    let counts: Vec<(String, i64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    counts.first().map_or(0, |(_, n)| *n)
}

#[tokio::test]
#[allow(deprecated)] // resources/subscribe is what pre-2026 clients use
async fn two_instances_on_postgres_and_redis_share_one_truth() {
    let test = "two_instances_on_postgres_and_redis_share_one_truth";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let Some(mut redis) = RedisServer::start(test) else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = process(&dir_a, &db, Some(&redis));
    let b = process(&dir_b, &db, Some(&redis));
    let c = instance(&db.url, Some(&redis)).await;
    let http = common::http();

    // Every delivery POSTed to both processes at once: stored once, one id, one "new".
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..60 {
        for addr in [a.webhook, b.webhook] {
            let http = http.clone();
            posts.spawn(async move {
                let d = format!("dup-{i}");
                let r = post_json(&http, addr, "github", Some(&d), r#"{"n":1}"#).await;
                (d, r)
            });
        }
    }
    let mut by_delivery: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    while let Some(done) = posts.join_next().await {
        let (d, r) = done.unwrap();
        assert_eq!(r.status, 200, "{:?}", r.body);
        by_delivery.entry(d).or_default().push(r.body);
    }
    for (d, replies) in &by_delivery {
        assert_eq!(replies[0]["event_id"], replies[1]["event_id"], "{d}");
        let new = replies.iter().filter(|r| r["duplicate"] == false).count();
        assert_eq!(new, 1, "{d}: exactly one instance stored it");
    }
    // Deliveries without ids, spread over both.
    for i in 0..40 {
        let addr = if i % 2 == 0 { a.webhook } else { b.webhook };
        let r = post_json(&http, addr, "plain", None, r#"{"k":1}"#).await;
        assert_eq!((r.status, r.body["duplicate"].clone()), (200, json!(false)));
    }

    // A waiter on one instance is woken by a webhook that lands on another.
    let newest = c.store().bus().newest();
    let mut hit = None;
    let answer = woken_by(&c, "wake", newest, async {
        hit = Some(post_json(&http, a.webhook, "wake", None, r#"{"w":1}"#).await);
    })
    .await;
    assert_eq!(answer["timed_out"], false, "{answer}");
    assert_eq!(answer["event"]["id"], hit.unwrap().body["event_id"]);

    // A consumer cursor moved on A is the cursor on B.
    let on_a = connect_http(&format!("http://{}/mcp", a.mcp), ERAS[0].clone()).await;
    let on_b = connect_http(&format!("http://{}/mcp", b.mcp), ERAS[1].clone()).await;
    let first = call_ok(
        &on_a,
        "next_events",
        json!({"consumer": "worker", "max": 10, "sources": ["github"]}),
    )
    .await;
    let upto = first["events"][9]["id"].as_i64().unwrap();
    call_ok(
        &on_a,
        "ack_events",
        json!({"consumer": "worker", "up_to_id": upto}),
    )
    .await;
    let listed = call_ok(&on_b, "list_consumers", json!({})).await;
    assert_eq!(listed["consumers"][0]["cursor"], upto, "{listed}");
    let next = call_ok(
        &on_b,
        "next_events",
        json!({"consumer": "worker", "max": 10, "sources": ["github"]}),
    )
    .await;
    assert!(next["events"][0]["id"].as_i64().unwrap() > upto, "{next}");
    on_a.cancel().await.unwrap();
    on_b.cancel().await.unwrap();

    // A resource subscription on B is told of a webhook that lands on A.
    let b_url = format!("http://{}/mcp", b.mcp);
    let (subscriber, mut told) = common::recorder::connect(&b_url, ERAS[1].clone()).await;
    let uri = "hookd://sources/pushed";
    subscriber
        .subscribe(SubscribeRequestParams::new(uri))
        .await
        .unwrap();
    post_json(&http, a.webhook, "pushed", None, "{}").await;
    let note = tokio::time::timeout(Duration::from_secs(20), told.recv())
        .await
        .expect("B notifies its subscriber of A's event")
        .unwrap();
    assert_eq!(note["params"]["uri"], uri, "{note}");
    subscriber.cancel().await.unwrap();

    // Redis goes away: ingest goes on, and waiters still wake (each instance polls the store
    // while it cannot hear the others).
    redis.stop();
    let during = post_json(&http, b.webhook, "outage", Some("o-1"), "{}").await;
    assert_eq!(
        during.status, 200,
        "ingest never needs Redis: {:?}",
        during.body
    );
    let newest = during.body["event_id"].as_i64().unwrap();
    let mut later = None;
    let answer = woken_by(&c, "outage", newest, async {
        later = Some(post_json(&http, a.webhook, "outage", Some("o-2"), "{}").await);
    })
    .await;
    assert_eq!(
        answer["timed_out"], false,
        "woken while Redis is away: {answer}"
    );
    assert_eq!(answer["event"]["id"], later.unwrap().body["event_id"]);

    // Redis is back: every instance subscribes again, and wake-ups travel through it again.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    while bus_subscribers(&redis.url()).await < 3 {
        assert!(
            Instant::now() < deadline,
            "the instances never resubscribed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = woken_by(&c, "after", c.store().bus().newest(), async {
        post_json(&http, b.webhook, "after", None, "{}").await;
    })
    .await;
    assert_eq!(answer["timed_out"], false, "the bus works again: {answer}");

    // Nothing lost, nothing twice.
    let count = |source: &str| {
        let filter = EventFilter::of(Some(source.into()), None);
        c.store().count(filter)
    };
    assert_eq!(count("github").await.unwrap(), 60);
    assert_eq!(count("plain").await.unwrap(), 40);
    assert_eq!(count("outage").await.unwrap(), 2);
    assert_eq!(c.store().count(EventFilter::default()).await.unwrap(), 105);
    c.stop().await;
}

#[tokio::test]
async fn without_redis_instances_wake_each_other_through_postgres() {
    let test = "without_redis_instances_wake_each_other_through_postgres";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = process(&dir, &db, None);
    let c = instance(&db.url, None).await;
    let http = common::http();
    let mut hit = None;
    let answer = woken_by(&c, "wake", c.store().bus().newest(), async {
        hit = Some(post_json(&http, a.webhook, "wake", None, "{}").await);
    })
    .await;
    assert_eq!(answer["timed_out"], false, "{answer}");
    assert_eq!(answer["event"]["id"], hit.unwrap().body["event_id"]);
    c.stop().await;
}

#[tokio::test]
async fn postgres_going_away_answers_503_and_recovers_by_itself() {
    let test = "postgres_going_away_answers_503_and_recovers_by_itself";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let proxy = Proxy::start(&db).await;
    let app = instance(&proxy.url(&db), None).await;
    let http = common::http();
    let ready = |addr: std::net::SocketAddr| {
        let http = http.clone();
        async move {
            let r = http
                .get(format!("http://{addr}/readyz"))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    };
    let first = post_json(&http, app.webhook, "gh", Some("before"), "{}").await;
    assert_eq!(first.status, 200);
    assert_eq!((ready(app.webhook).await, ready(app.mcp).await), (200, 200));

    proxy.cut();
    assert_eq!(
        ready(app.webhook).await,
        503,
        "not ready without its database"
    );
    assert_eq!(ready(app.mcp).await, 503);
    for n in 0..3 {
        let r = post_json(&http, app.webhook, "gh", Some("during"), "{}").await;
        assert_eq!(
            r.status, 503,
            "attempt {n}: never a false 200: {:?}",
            r.body
        );
        assert_eq!(r.body["status"], "error");
    }

    proxy.restore();
    // The pool replaces its dead connections by itself; the provider's retry now lands.
    let deadline = Instant::now() + Duration::from_secs(30);
    let retried = loop {
        let r = post_json(&http, app.webhook, "gh", Some("during"), "{}").await;
        if r.status == 200 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert_eq!(retried.body["duplicate"], false, "the 503s stored nothing");
    assert_eq!(ready(app.webhook).await, 200, "ready again");
    let again = post_json(&http, app.webhook, "gh", Some("before"), "{}").await;
    assert_eq!(
        (
            again.body["event_id"].clone(),
            again.body["duplicate"].clone()
        ),
        (first.body["event_id"].clone(), json!(true))
    );
    app.stop().await;
}

#[test]
fn an_unreachable_database_is_a_clear_error_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::serve_command(dir.path())
        .env(
            "HOOKD_DATABASE_URL",
            "postgres://hookd:pw-5e1f@127.0.0.1:1/hookd",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PostgreSQL"), "{err}");
    assert!(!err.contains("pw-5e1f"), "the password leaked: {err}");
}

/// An event `next_events` handed out on an instance can always be acknowledged there, even when
/// another instance committed it and this one's bus has not heard of it yet (once in four runs,
/// `ack_events(up_to_id=305)` was refused right after `next_events` returned event 305).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_handed_out_can_always_be_acknowledged_on_that_instance() {
    let test = "multi_instance::an_event_handed_out_can_always_be_acknowledged_on_that_instance";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let a = instance(&db.url, None).await;
    let b = instance(&db.url, None).await;
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..8 {
        let to = if w % 2 == 0 { a.webhook } else { b.webhook };
        writers.spawn(async move {
            let http = common::http();
            for n in 0..40 {
                let body = json!({"w": w, "n": n});
                let r = post_json(&http, to, "load", None, &body.to_string()).await;
                assert_eq!(r.status, 200, "{:?}", r.body);
            }
        });
    }
    let client = connect_http(&b.mcp_url(), ERAS[0].clone()).await;
    let mut acked = 0;
    let mut rounds = 0;
    while acked < 320 {
        rounds += 1;
        assert!(
            rounds < 5_000,
            "the consumer never caught up: {acked} of 320"
        );
        let next = call_ok(&client, "next_events", json!({"consumer": "c", "max": 5})).await;
        acked += next["events"].as_array().unwrap().len();
        let up_to = next["ack_up_to"].clone();
        let r = common::mcp::call(
            &client,
            "ack_events",
            json!({"consumer": "c", "up_to_id": up_to}),
        )
        .await;
        assert_ne!(r.is_error, Some(true), "round {rounds}: {:?}", r.content);
    }
    while let Some(w) = writers.join_next().await {
        w.unwrap();
    }
    client.cancel().await.unwrap();
    a.stop().await;
    b.stop().await;
}

/// The same, made certain: B hears of commits only through Redis, A announces its own only with
/// `NOTIFY`, so B's bus never learns of A's event while B's reads return it.
#[tokio::test]
async fn an_event_another_instance_committed_unheard_is_still_ackable() {
    let test = "multi_instance::an_event_another_instance_committed_unheard_is_still_ackable";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let Some(redis) = RedisServer::start(test) else {
        return;
    };
    let a = instance(&db.url, None).await;
    let b = instance(&db.url, Some(&redis)).await;
    let r = post_json(&common::http(), a.webhook, "load", None, "{\"n\":1}").await;
    assert_eq!(r.status, 200);
    let id = r.body["event_id"].as_i64().unwrap();
    let client = connect_http(&b.mcp_url(), ERAS[0].clone()).await;
    let next = call_ok(&client, "next_events", json!({"consumer": "c", "max": 5})).await;
    assert_eq!(next["events"][0]["id"], id, "{next}");
    let acked = call_ok(
        &client,
        "ack_events",
        json!({"consumer": "c", "up_to_id": id}),
    )
    .await;
    assert_eq!(acked["cursor"], id, "{acked}");
    // An events/poll cursor handed out there is taken back there, not moved back.
    let poll = client
        .send_request(rmcp::model::ClientRequest::CustomRequest(
            rmcp::model::CustomRequest::new(
                "events/poll",
                Some(json!({"name": "any", "cursor": id.to_string()})),
            ),
        ))
        .await
        .unwrap();
    let rmcp::model::ServerResult::CustomResult(poll) = poll else {
        panic!("{poll:?}")
    };
    assert_eq!(
        poll.0["events"],
        json!([]),
        "nothing again after its own cursor: {:?}",
        poll.0
    );
    client.cancel().await.unwrap();
    a.stop().await;
    b.stop().await;
}
