//! Retention: per-source caps and age limits, without reusing ids or breaking waiters.

use crate::common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::{TestApp, post_json};
use hookd::event::{EventFilter, NewEvent, Page};
use hookd::store::prelude::*;
use hookd::store::{Retention, Sqlite};
use serde_json::json;

fn event(source: &str, age: chrono::Duration) -> NewEvent {
    NewEvent {
        received_at: Utc::now() - age,
        ..common::new_event(source, None, json!({}))
    }
}

async fn ids(store: &dyn Store, source: &str) -> Vec<i64> {
    let filter = EventFilter {
        sources: vec![source.into()],
        ..Default::default()
    };
    let events = store.query(filter, Page::Oldest(100_000)).await.unwrap();
    events.into_iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn prune_keeps_the_newest_per_source_and_drops_old_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = Sqlite::open(dir.path()).unwrap();
    // Times never decrease with ids: the old event is the first one.
    let old = store
        .append(event("quiet", chrono::Duration::days(40)))
        .await
        .unwrap()
        .id;
    let mut busy = Vec::new();
    for _ in 0..5000 {
        busy.push(
            store
                .append(event("busy", chrono::Duration::zero()))
                .await
                .unwrap()
                .id,
        );
    }
    let fresh = store
        .append(event("quiet", chrono::Duration::zero()))
        .await
        .unwrap()
        .id;

    let policy = Retention {
        max_events_per_source: 1000,
        received_before: Utc::now() - Duration::from_secs(30 * 86_400),
        dedupe_after: Utc::now() - chrono::Duration::days(3),
    };
    let deleted = store.prune(policy).await.unwrap();
    assert_eq!(
        deleted, 4001,
        "4000 over the cap (in several steps) and one too old"
    );
    assert_eq!(ids(&store, "busy").await, busy[4000..].to_vec());
    assert_eq!(ids(&store, "quiet").await, vec![fresh]);
    assert!(store.get(old).await.unwrap().is_none());
    let counts: Vec<(String, i64)> = store
        .sources()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.source, s.count))
        .collect();
    assert_eq!(counts, [("busy".into(), 1000), ("quiet".into(), 1)]);
    assert_eq!(store.prune(policy).await.unwrap(), 0, "nothing more to do");

    // Search finds every kept event and none of the deleted ones.
    let query = hookd::store::SearchQuery {
        text: "t".into(),
        filter: EventFilter::default(),
        limit: 5000,
    };
    let hits = store.search(query).await.unwrap().hits;
    assert_eq!(
        hits.len(),
        1001,
        "every kept event, and only those, is searchable"
    );
    assert!(hits.iter().all(|h| h.id != old));
}

#[tokio::test]
async fn ids_are_never_reused_after_everything_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let last = {
        let store = Sqlite::open(dir.path()).unwrap();
        let mut last = 0;
        for _ in 0..3 {
            last = store
                .append(event("s", chrono::Duration::days(400)))
                .await
                .unwrap()
                .id;
        }
        let policy = Retention {
            max_events_per_source: 10,
            received_before: Utc::now() - Duration::from_secs(86_400),
            dedupe_after: Utc::now() - chrono::Duration::days(3),
        };
        assert_eq!(store.prune(policy).await.unwrap(), 3);
        assert!(store.sources().await.unwrap().is_empty());
        last
    };
    let store = Sqlite::open(dir.path()).unwrap();
    assert_eq!(
        store.bus().newest(),
        last,
        "the newest id survives a restart"
    );
    let next = store
        .append(event("s", chrono::Duration::zero()))
        .await
        .unwrap()
        .id;
    assert_eq!(next, last + 1);
}

#[tokio::test]
async fn background_retention_enforces_the_cap_and_waiters_keep_working() {
    let app = TestApp::start_with(|c| {
        c.max_events_per_source = 3;
        c.retention_interval_secs = 1;
    })
    .await;
    let http = common::http();
    let mut last = 0;
    for i in 0..10 {
        last = post_json(
            &http,
            app.webhook,
            "capped",
            None,
            &format!("{{\"i\":{i}}}"),
        )
        .await
        .body["event_id"]
            .as_i64()
            .unwrap();
    }
    // Retention runs in the background every second; give it a bounded time to catch up.
    let deadline = Instant::now() + Duration::from_secs(15);
    while ids(app.store(), "capped").await.len() > 3 {
        assert!(Instant::now() < deadline, "retention never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        ids(app.store(), "capped").await,
        vec![last - 2, last - 1, last]
    );

    let c = common::mcp::connect_http(&app.mcp_url(), common::mcp::ERAS[0].clone()).await;
    let next = post_json(&http, app.webhook, "capped", None, "{}")
        .await
        .body["event_id"]
        .clone();
    let r = common::mcp::call_ok(
        &c,
        "wait_for_event",
        json!({"source": "capped", "after_id": last, "timeout_seconds": 5}),
    )
    .await;
    assert_eq!(r["event"]["id"], next, "a full source still wakes waiters");
    app.stop().await;
}
