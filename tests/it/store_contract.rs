//! The `Store` contract (see `src/store/mod.rs`), written once against `Arc<dyn Store>` and run
//! against every backend: SQLite, and PostgreSQL (a fresh database per test; skipped by name when
//! no server answers, failing under `CI=true`).

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;
use common::new_event as event;
use hookd::derive::Derived;
use hookd::derive::stripe::NewAction;
use hookd::event::{ActionTarget, Completion, EventFilter, NewEvent, Page, Rejected};
use hookd::store::prelude::*;
use hookd::store::{Postgres, Retention, SearchQuery, Sqlite, WakeUps};
use serde_json::json;

/// What keeps a backend's storage alive until the test ends.
pub(crate) enum Keep {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Db(#[allow(dead_code)] common::pg::TestDb),
}

/// A fresh, empty store of each backend, with what keeps it alive.
pub(crate) async fn backends(test: &str) -> Vec<(&'static str, Arc<dyn Store>, Keep)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> = Arc::new(Sqlite::open(dir.path()).unwrap());
    let mut all = vec![("sqlite", sqlite, Keep::Dir(dir))];
    if let Some(db) = common::pg::database(test).await {
        let pg = Postgres::open(&db.url, WakeUps::ListenNotify)
            .await
            .unwrap();
        all.push(("postgres", Arc::new(pg) as Arc<dyn Store>, Keep::Db(db)));
    }
    all
}

#[tokio::test]
async fn concurrent_appends_of_one_delivery_store_it_once() {
    for (name, store, _dir) in backends("concurrent_appends_of_one_delivery_store_it_once").await {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let store = store.clone();
            tasks.spawn(async move {
                store
                    .append(event("gh", Some("same"), json!({})))
                    .await
                    .unwrap()
            });
        }
        let mut ids = BTreeSet::new();
        let mut fresh = 0;
        while let Some(r) = tasks.join_next().await {
            let a = r.unwrap();
            ids.insert(a.id);
            fresh += usize::from(!a.duplicate);
        }
        assert_eq!((ids.len(), fresh), (1, 1), "{name}: one id, one new event");
        let stored = store.get(*ids.first().unwrap()).await.unwrap().unwrap();
        assert_eq!(stored.duplicates, 15, "{name}: every retry counted once");
        let other = store
            .append(event("other", Some("same"), json!({})))
            .await
            .unwrap();
        assert!(!other.duplicate, "{name}: delivery ids are per source");
        let none = store.append(event("gh", None, json!({}))).await.unwrap();
        let none2 = store.append(event("gh", None, json!({}))).await.unwrap();
        assert_ne!(none.id, none2.id, "{name}: no delivery id, no dedupe");
    }
}

#[tokio::test]
async fn a_reader_following_ids_sees_every_event_exactly_once_under_concurrent_writers() {
    for (name, store, _dir) in
        backends("a_reader_following_ids_sees_every_event_exactly_once_under_concurrent_writers")
            .await
    {
        const WRITERS: usize = 8;
        const EACH: usize = 200;
        let mut writers = tokio::task::JoinSet::new();
        for w in 0..WRITERS {
            let store = store.clone();
            writers.spawn(async move {
                for i in 0..EACH {
                    store
                        .append(event("s", Some(&format!("{w}-{i}")), json!({})))
                        .await
                        .unwrap();
                }
            });
        }
        // The reader pages forward by id while the writers run, as every waiter does.
        let mut seen = Vec::new();
        let mut cursor = 0;
        while seen.len() < WRITERS * EACH {
            let filter = EventFilter {
                after_id: Some(cursor),
                ..Default::default()
            };
            let page = store.query(filter, Page::Oldest(50)).await.unwrap();
            if page.is_empty() {
                let mut waker = store.bus().subscribe();
                waker.mark_seen();
                let filter = EventFilter {
                    after_id: Some(cursor),
                    ..Default::default()
                };
                if store
                    .query(filter, Page::Oldest(1))
                    .await
                    .unwrap()
                    .is_empty()
                {
                    tokio::time::timeout(std::time::Duration::from_secs(20), waker.changed())
                        .await
                        .expect("writers keep committing");
                }
                continue;
            }
            for e in page {
                assert!(e.id > cursor, "{name}: ids only grow");
                cursor = e.id;
                seen.push(e.id);
            }
        }
        while writers.join_next().await.is_some() {}
        let unique: BTreeSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{name}: nothing twice");
        assert_eq!(seen.len(), WRITERS * EACH, "{name}: nothing missed");
        assert_eq!(
            store.bus().newest(),
            cursor,
            "{name}: the bus knows the newest id"
        );
    }
}

/// A provider retries an event the per-source cap removed minutes after it arrived: within the
/// dedupe window it is still a duplicate (with the first id); after the window it is new again.
#[tokio::test]
async fn deliveries_pruned_by_the_cap_stay_duplicates_for_the_dedupe_window() {
    let test = "deliveries_pruned_by_the_cap_stay_duplicates_for_the_dedupe_window";
    for (name, store, _keep) in backends(test).await {
        let first = store
            .append(event("s", Some("d1"), json!({})))
            .await
            .unwrap();
        for i in 2..=4 {
            let d = format!("d{i}");
            store.append(event("s", Some(&d), json!({}))).await.unwrap();
        }
        let capped = |dedupe_after| Retention {
            max_events_per_source: 2,
            received_before: Utc::now() - chrono::Duration::days(30),
            dedupe_after,
        };
        let window = Utc::now() - chrono::Duration::days(3);
        assert_eq!(store.prune(capped(window)).await.unwrap(), 2, "{name}");
        assert!(
            store.get(first.id).await.unwrap().is_none(),
            "{name}: pruned"
        );
        let retry = store
            .append(event("s", Some("d1"), json!({})))
            .await
            .unwrap();
        assert_eq!((retry.id, retry.duplicate), (first.id, true), "{name}");
        let other = store
            .append(event("t", Some("d1"), json!({})))
            .await
            .unwrap();
        assert!(!other.duplicate, "{name}: per source");
        // Once the window has passed, the id is forgotten.
        store
            .prune(capped(Utc::now() + chrono::Duration::seconds(1)))
            .await
            .unwrap();
        let late = store
            .append(event("s", Some("d1"), json!({})))
            .await
            .unwrap();
        assert!(!late.duplicate && late.id > first.id, "{name}: {late:?}");
    }
}

#[tokio::test]
async fn ids_are_not_reused_after_pruning_the_newest() {
    for (name, store, _dir) in backends("ids_are_not_reused_after_pruning_the_newest").await {
        let mut old = event("s", None, json!({}));
        old.received_at = Utc::now() - chrono::Duration::days(10);
        let last = store.append(old).await.unwrap().id;
        let policy = Retention {
            max_events_per_source: 100,
            received_before: Utc::now() - chrono::Duration::days(1),
            dedupe_after: Utc::now() - chrono::Duration::days(3),
        };
        assert_eq!(store.prune(policy).await.unwrap(), 1, "{name}");
        assert!(store.get(last).await.unwrap().is_none(), "{name}");
        let next = store.append(event("s", None, json!({}))).await.unwrap().id;
        assert!(next > last, "{name}: {next} after {last}");
        let sources = store.sources().await.unwrap();
        assert_eq!(
            sources.iter().map(|s| s.count).sum::<i64>(),
            1,
            "{name}: counts follow deletes"
        );
    }
}

#[tokio::test]
async fn filters_counts_and_search_agree() {
    for (name, store, _dir) in backends("filters_counts_and_search_agree").await {
        let opened = json!({"type": "pull_request", "action": "opened", "title": "Card declined on checkout"});
        let with_subject = hookd::event::NewEvent {
            subject: Some("octo/shop".into()),
            ..event("gh", None, opened)
        };
        let a = store.append(with_subject).await.unwrap().id;
        let unverified = hookd::event::NewEvent {
            verified: Some(false),
            ..event(
                "gh",
                None,
                json!({"type": "pull_request", "action": "closed"}),
            )
        };
        let b = store.append(unverified).await.unwrap().id;
        let c = store
            .append(event(
                "stripe",
                None,
                json!({"type": "charge.failed", "n": 7}),
            ))
            .await
            .unwrap()
            .id;
        let ids =
            |events: Vec<hookd::event::Event>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
        let by_type = EventFilter {
            types: vec!["pull_request".into()],
            ..Default::default()
        };
        assert_eq!(
            ids(store
                .query(by_type.clone(), Page::Oldest(10))
                .await
                .unwrap()),
            [a, b],
            "{name}"
        );
        assert_eq!(store.count(by_type).await.unwrap(), 2, "{name}");
        for (verified, expected) in [(true, vec![a, c]), (false, vec![b])] {
            let only = EventFilter {
                verified: Some(verified),
                ..Default::default()
            };
            let got = ids(store.query(only.clone(), Page::Oldest(10)).await.unwrap());
            assert_eq!(got, expected, "{name}: verified {verified}");
            assert_eq!(store.count(only).await.unwrap(), expected.len() as i64);
        }
        let opened = EventFilter {
            fields: hookd::event::FieldMatch::parse_where(
                json!({"payload.action": "opened"}).as_object().unwrap(),
            )
            .unwrap(),
            ..Default::default()
        };
        assert_eq!(
            ids(store.query(opened, Page::Newest(10)).await.unwrap()),
            [a],
            "{name}"
        );
        let seven = EventFilter {
            fields: hookd::event::FieldMatch::parse_where(
                json!({"payload.n": 7}).as_object().unwrap(),
            )
            .unwrap(),
            ..Default::default()
        };
        assert_eq!(
            ids(store.query(seven, Page::Newest(10)).await.unwrap()),
            [c],
            "{name}"
        );
        let hits = store
            .search(SearchQuery {
                text: "declined".into(),
                filter: EventFilter::default(),
                limit: 10,
            })
            .await
            .unwrap()
            .hits;
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [a], "{name}");
        assert!(
            hits[0].snippet.contains("**declined**"),
            "{name}: {}",
            hits[0].snippet
        );
        assert_eq!(hits[0].subject.as_deref(), Some("octo/shop"), "{name}");
    }
}

#[tokio::test]
async fn consumer_cursors_only_move_forward() {
    for (name, store, _dir) in backends("consumer_cursors_only_move_forward").await {
        for _ in 0..3 {
            store.append(event("s", None, json!({}))).await.unwrap();
        }
        assert_eq!(
            store.consumer_cursor("c".into()).await.unwrap(),
            None,
            "{name}"
        );
        assert_eq!(store.ack("c".into(), 2).await.unwrap(), 2, "{name}");
        assert_eq!(
            store.ack("c".into(), 1).await.unwrap(),
            2,
            "{name}: backwards is ignored"
        );
        let list = store.consumers().await.unwrap();
        assert_eq!((list[0].cursor, list[0].backlog), (2, 1), "{name}");
    }
}

#[tokio::test]
async fn actions_complete_once_and_rejections_are_capped() {
    for (name, store, _dir) in backends("actions_complete_once_and_rejections_are_capped").await {
        let mut paid = event(
            "stripe",
            Some("evt_1"),
            json!({"type": "invoice.payment_failed"}),
        );
        paid.derived = vec![Derived::Action(NewAction {
            action_type: "follow_up".into(),
            fields: Default::default(),
        })];
        let again = NewEvent {
            derived: paid.derived.clone(),
            ..event(
                "stripe",
                Some("evt_1"),
                json!({"type": "invoice.payment_failed"}),
            )
        };
        let first = store.append(paid).await.unwrap();
        store.append(again).await.unwrap();
        let rows = store.derived_rows(first.id).await.unwrap();
        assert_eq!(rows.actions.len(), 1, "{name}: the event's own action");
        assert_eq!(rows.actions[0].event_id, first.id, "{name}");
        assert!(
            rows.pushes.is_empty() && rows.deployments.is_empty(),
            "{name}"
        );
        let none = store.derived_rows(first.id + 1000).await.unwrap();
        assert!(
            none.actions.is_empty(),
            "{name}: no rows for an unknown event"
        );
        let pending = store.pending_actions(None).await.unwrap();
        assert_eq!(
            pending.len(),
            1,
            "{name}: a retried delivery adds no action"
        );
        let target = ActionTarget::OldestOfType("follow_up".into());
        assert!(
            matches!(
                store
                    .complete_action(target.clone(), "done".into())
                    .await
                    .unwrap(),
                Completion::Completed(_)
            ),
            "{name}"
        );
        assert!(
            matches!(
                store
                    .complete_action(ActionTarget::Id(pending[0].id), "again".into())
                    .await
                    .unwrap(),
                Completion::AlreadyCompleted(_)
            ),
            "{name}"
        );
        assert!(
            matches!(
                store
                    .complete_action(target, "none left".into())
                    .await
                    .unwrap(),
                Completion::NotFound
            ),
            "{name}"
        );

        for i in 0..(hookd::store::MAX_REJECTED + 5) {
            let r = Rejected {
                source: "gh".into(),
                received_at: Utc::now(),
                reason: "bad_signature".into(),
                detail: format!("try {i}"),
                headers: Default::default(),
                body_size: 1,
                body_sha256: "00".into(),
            };
            store.record_rejection(r).await.unwrap();
        }
        let kept = store.rejections(None, 5000).await.unwrap();
        assert_eq!(kept.len() as i64, hookd::store::MAX_REJECTED, "{name}");
        assert_eq!(
            kept[0].detail,
            format!("try {}", hookd::store::MAX_REJECTED + 4),
            "{name}: newest first"
        );
    }
}

/// PostgreSQL only: several instances (each its own pool and writers) append at once while a
/// reader on another instance follows ids, woken only by `NOTIFY`. Ids drawn from one sequence
/// commit out of order unless the store prevents it; the reader must see every id exactly once.
#[tokio::test]
async fn postgres_instances_commit_ids_in_order_for_a_reader_on_another_instance() {
    let test = "postgres_instances_commit_ids_in_order_for_a_reader_on_another_instance";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    const INSTANCES: usize = 3;
    const WRITERS: usize = 8;
    const EACH: usize = 150;
    let reader = Postgres::open(&db.url, WakeUps::ListenNotify)
        .await
        .unwrap();
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..INSTANCES {
        let store = Arc::new(
            Postgres::open(&db.url, WakeUps::ListenNotify)
                .await
                .unwrap(),
        );
        for w in 0..WRITERS {
            let store = store.clone();
            writers.spawn(async move {
                for n in 0..EACH {
                    let e = event("s", Some(&format!("{i}-{w}-{n}")), json!({"n": n}));
                    store.append(e).await.unwrap();
                }
            });
        }
    }
    let total = INSTANCES * WRITERS * EACH;
    let mut seen = BTreeSet::new();
    let mut cursor = 0;
    let mut waker = reader.bus().subscribe();
    while seen.len() < total {
        waker.mark_seen();
        let filter = EventFilter {
            after_id: Some(cursor),
            ..Default::default()
        };
        let page = reader.query(filter, Page::Oldest(100)).await.unwrap();
        let wait = std::time::Duration::from_secs(10);
        if page.is_empty() && tokio::time::timeout(wait, waker.changed()).await.is_err() {
            // Either no wake-up came, or the follower skipped ids that committed late: the
            // comparison below says which.
            break;
        }
        for e in page {
            assert!(seen.insert(e.id), "id {} seen twice", e.id);
            cursor = e.id;
        }
    }
    while writers.join_next().await.is_some() {}
    let filter = EventFilter::default();
    assert_eq!(reader.count(filter.clone()).await.unwrap() as usize, total);
    let all: BTreeSet<i64> = reader
        .query(filter, Page::Oldest(total + 1))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    let missed: Vec<&i64> = all.difference(&seen).collect();
    assert!(
        missed.is_empty(),
        "the follower skipped {} ids: {missed:?}",
        missed.len()
    );
    assert_eq!(all, seen, "the follower saw exactly what is stored");
}

/// PostgreSQL only: instances starting together on an empty database migrate it once.
#[tokio::test]
async fn postgres_instances_starting_together_migrate_once() {
    let test = "postgres_instances_starting_together_migrate_once";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let opened = futures_util::future::join_all(
        (0..6).map(|_| Postgres::open(&db.url, WakeUps::ListenNotify)),
    )
    .await;
    let stores: Vec<Postgres> = opened.into_iter().map(Result::unwrap).collect();
    let ids: BTreeSet<String> = stores.iter().map(|s| s.store_id().to_owned()).collect();
    assert_eq!(ids.len(), 1, "one store, one identity: {ids:?}");
    let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let versions: Vec<i32> = client
        .query("SELECT version FROM hookd_migrations ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let each_once: Vec<i32> = (1..=versions.len() as i32).collect();
    assert!(versions.len() >= 2, "{versions:?}");
    assert_eq!(versions, each_once, "each migration applied once");
}

#[tokio::test]
async fn a_nul_or_an_absurd_length_in_a_delivery_fails_nothing() {
    let test = "a_nul_or_an_absurd_length_in_a_delivery_fails_nothing";
    for (name, store, _keep) in backends(test).await {
        let mut huge = event("s", None, json!({}));
        huge.event_type = "t".repeat(10_000);
        huge.derived = vec![Derived::GitHub(hookd::derive::github::Activity {
            repo: "r".repeat(10_000),
            event_type: "push".into(),
            action: None,
            time: hookd::time::parse_time("2026-11-25T10:00:00Z").unwrap(),
            actor: None,
            number: None,
            title: None,
            state: None,
            branch: None,
            size: None,
        })];
        let mut odd = event("s", Some("odd\0id"), json!({"s": "p\0q", "n": 1}));
        odd.event_type = "a\0b".into();
        odd.summary = Some("x\0y".into());
        odd.derived = vec![Derived::Push(hookd::derive::deploy::Push {
            repo: "o/r".into(),
            branch: "main".into(),
            sha: "abc1234".into(),
            message: "fix\0it".into(),
            author: "ann".into(),
            time: hookd::time::parse_time("2026-11-25T10:00:00Z").unwrap(),
        })];
        let plain = event("s", None, json!({"s": "plain", "n": 2}));
        // Appended together, so on PostgreSQL they share a group commit.
        let (odd, plain, huge) =
            tokio::join!(store.append(odd), store.append(plain), store.append(huge));
        let (odd, plain, huge) = (odd.unwrap(), plain.unwrap(), huge.unwrap());
        let long = store.get(huge.id).await.unwrap().unwrap();
        assert_eq!(
            long.event_type,
            "t".repeat(256),
            "{name}: bounded, not refused"
        );
        let stored = store.get(odd.id).await.unwrap().unwrap();
        assert_eq!(stored.event_type, "a\u{FFFD}b", "{name}");
        assert_eq!(
            stored.payload["s"], "p\0q",
            "{name}: the payload is kept as sent"
        );
        let again = store
            .append(event("s", Some("odd\0id"), json!({})))
            .await
            .unwrap();
        assert_eq!((again.id, again.duplicate), (odd.id, true), "{name}");
        let (pushes, _) = store.by_sha("abc1234".into()).await.unwrap();
        assert_eq!(pushes[0].message, "fix\u{FFFD}it", "{name}");
        // `where` still works over a store holding such a payload.
        let two = EventFilter {
            fields: hookd::event::FieldMatch::parse_where(
                json!({"payload.n": 2}).as_object().unwrap(),
            )
            .unwrap(),
            ..Default::default()
        };
        let found = store.query(two, Page::Oldest(10)).await.unwrap();
        assert_eq!(
            found.iter().map(|e| e.id).collect::<Vec<_>>(),
            [plain.id],
            "{name}"
        );
        // A NUL in what a reader asks for fails nothing either: no stored source or type holds
        // one (it was replaced), so they match nothing.
        let asked = |sources: &[&str], types: &[&str]| EventFilter {
            sources: sources.iter().map(|s| s.to_string()).collect(),
            types: types.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        for filter in [asked(&["s\0"], &[]), asked(&[], &["a\0b"])] {
            let found = store.query(filter.clone(), Page::Newest(10)).await;
            assert!(found.unwrap().is_empty(), "{name}: {filter:?}");
        }
        let both = asked(&["s\0", "s"], &[]);
        let found = store.query(both, Page::Newest(10)).await.unwrap();
        assert_eq!(found.len(), 3, "{name}: the other source still matches");
        let nul_value = EventFilter {
            fields: hookd::event::FieldMatch::parse_where(
                json!({"payload.s": "p\0q"}).as_object().unwrap(),
            )
            .unwrap(),
            ..Default::default()
        };
        let found = store.query(nul_value, Page::Newest(10)).await.unwrap();
        assert!(
            found.iter().all(|e| e.id == odd.id),
            "{name}: at most the payload that holds it"
        );
        let searched = store
            .search(hookd::store::SearchQuery {
                text: "x\0y".into(),
                filter: asked(&["s\0"], &[]),
                limit: 5,
            })
            .await;
        assert!(searched.unwrap().hits.is_empty(), "{name}");
    }
}

/// Payloads no reader can parse into a `Value` (ingest refuses them now, but an older version
/// stored them, or a caller bypassed ingest): every reader still answers, serving such an event
/// with its stored text and a note, and `where` skips it instead of failing.
#[tokio::test]
async fn payloads_readers_cannot_parse_never_fail_an_answer() {
    let test = "payloads_readers_cannot_parse_never_fail_an_answer";
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let bad = [
        deep(129),
        deep(100_000),
        format!("{}1{}", r#"{"a":"#.repeat(200), "}".repeat(200)),
        r#"{"n":1e999999}"#.to_owned(),
    ];
    for (name, store, _keep) in backends(test).await {
        let before = store
            .append(event("s", None, json!({"n": 1})))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for text in &bad {
            let mut e = event("s", None, json!({}));
            e.payload = hookd::payload::JsonText::new(text.clone()).unwrap();
            ids.push(store.append(e).await.unwrap().id);
        }
        let after = store
            .append(event("s", None, json!({"n": 1})))
            .await
            .unwrap();
        let all = store
            .query(EventFilter::default(), Page::Newest(100))
            .await
            .unwrap();
        assert_eq!(all.len(), bad.len() + 2, "{name}: every event is served");
        for (id, text) in ids.iter().zip(&bad) {
            let e = store.get(*id).await.unwrap().unwrap();
            assert_eq!(e.payload, json!(text), "{name}: served as the stored text");
            assert_eq!(
                e.payload_encoding,
                hookd::event::PayloadEncoding::Text,
                "{name}"
            );
            assert!(
                e.note.as_deref().unwrap().contains("payload"),
                "{name}: {:?}",
                e.note
            );
            assert!(
                all.iter().any(|a| a.id == *id && a.note.is_some()),
                "{name}"
            );
        }
        assert!(
            all.iter()
                .filter(|e| e.note.is_none())
                .all(|e| e.payload == json!({"n": 1}))
        );
        let n1 = EventFilter {
            fields: hookd::event::FieldMatch::parse_where(
                json!({"payload.n": 1}).as_object().unwrap(),
            )
            .unwrap(),
            ..Default::default()
        };
        let found = store.query(n1, Page::Oldest(10)).await.unwrap();
        let found: Vec<i64> = found.iter().map(|e| e.id).collect();
        assert_eq!(found, [before.id, after.id], "{name}: where skips them");
    }
}

/// PostgreSQL only: every instance runs retention; run at once, they still keep exactly the cap
/// (the newest events), not less.
#[tokio::test]
async fn postgres_instances_pruning_together_keep_exactly_the_cap() {
    let test = "postgres_instances_pruning_together_keep_exactly_the_cap";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(
            Postgres::open(&db.url, WakeUps::ListenNotify)
                .await
                .unwrap(),
        );
    }
    let mut ids = Vec::new();
    for n in 0..300 {
        ids.push(
            stores[0]
                .append(event("s", None, json!({"n": n})))
                .await
                .unwrap()
                .id,
        );
    }
    let policy = Retention {
        max_events_per_source: 100,
        received_before: Utc::now() - chrono::Duration::days(1),
        dedupe_after: Utc::now() - chrono::Duration::days(3),
    };
    let pruned = futures_util::future::join_all(stores.iter().map(|s| s.prune(policy))).await;
    let total: u64 = pruned.into_iter().map(Result::unwrap).sum();
    assert_eq!(total, 200, "together they deleted exactly the excess");
    let kept: Vec<i64> = stores[1]
        .query(EventFilter::default(), Page::Oldest(1000))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(kept, ids[200..], "the newest 100 are kept");
    assert_eq!(stores[2].sources().await.unwrap()[0].count, 100);
}

#[tokio::test]
async fn kept_subscriptions_are_delivered_by_one_lease_holder_at_a_time() {
    use hookd::store::{Progress, SavedSubscription};
    for (name, store, _dir) in
        backends("kept_subscriptions_are_delivered_by_one_lease_holder_at_a_time").await
    {
        let later = Utc::now() + chrono::Duration::seconds(30);
        let lifetime = Utc::now() + chrono::Duration::hours(1);
        let sub = SavedSubscription {
            id: "sub_1".into(),
            principal: "p".into(),
            url: "https://example.com/hook".into(),
            name: "github".into(),
            arguments: Some("{\"type\":\"push\"}".into()),
            secret: hookd::secret::Secret::new("whsec_x"),
            expires: Some(lifetime),
            progress: Progress {
                cursor: 7,
                active: true,
                ..Progress::default()
            },
        };
        store
            .save_subscription(sub, "a".into(), later)
            .await
            .unwrap();
        assert!(
            store
                .claim_subscriptions("b".into(), later)
                .await
                .unwrap()
                .is_empty(),
            "{name}: b may not take a's live lease"
        );
        let moved = Progress {
            cursor: 9,
            active: false,
            last_error: Some("http_5xx".into()),
            failed_since: Some(Utc::now()),
            ..Progress::default()
        };
        assert!(
            store
                .subscription_progress("sub_1".into(), "a".into(), later, moved.clone())
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !store
                .subscription_progress("sub_1".into(), "b".into(), later, moved.clone())
                .await
                .unwrap(),
            "{name}: not b's"
        );
        store.release_subscriptions("a".into()).await.unwrap();
        let taken = store.claim_subscriptions("b".into(), later).await.unwrap();
        assert_eq!(taken.len(), 1, "{name}: released, so b takes it");
        let kept = &taken[0];
        assert_eq!(
            (kept.progress.cursor, kept.progress.active),
            (9, false),
            "{name}"
        );
        assert_eq!(kept.progress.last_error.as_deref(), Some("http_5xx"));
        assert_eq!(kept.secret.expose(), "whsec_x");
        assert_eq!(kept.arguments.as_deref(), Some("{\"type\":\"push\"}"));
        assert_eq!(
            kept.expires.map(hookd::time::format_time),
            Some(hookd::time::format_time(lifetime)),
            "{name}: its lifetime is kept"
        );
        assert!(
            !store
                .subscription_progress("sub_1".into(), "a".into(), later, moved)
                .await
                .unwrap(),
            "{name}: a lost it"
        );
        // A lapsed lease is anyone's.
        let lapsed = Utc::now() - chrono::Duration::seconds(1);
        store.claim_subscriptions("b".into(), lapsed).await.unwrap();
        assert_eq!(
            store
                .claim_subscriptions("c".into(), later)
                .await
                .unwrap()
                .len(),
            1,
            "{name}"
        );
        assert!(
            store.drop_subscription("sub_1".into()).await.unwrap(),
            "{name}"
        );
        assert!(
            !store.drop_subscription("sub_1".into()).await.unwrap(),
            "{name}: gone"
        );
        // One whose lifetime ended is forgotten, not taken up, whoever held it.
        let lapsed_sub = SavedSubscription {
            id: "sub_2".into(),
            principal: "p".into(),
            url: "https://example.com/hook".into(),
            name: "github".into(),
            arguments: None,
            secret: hookd::secret::Secret::new("whsec_y"),
            expires: Some(Utc::now() - chrono::Duration::seconds(1)),
            progress: Progress::default(),
        };
        store
            .save_subscription(lapsed_sub, "c".into(), later)
            .await
            .unwrap();
        assert!(
            store
                .claim_subscriptions("c".into(), later)
                .await
                .unwrap()
                .is_empty(),
            "{name}: a lapsed subscription is not taken up"
        );
        assert!(
            !store.drop_subscription("sub_2".into()).await.unwrap(),
            "{name}: it was forgotten"
        );
    }
}

#[tokio::test]
async fn a_time_bound_is_exact_when_deliveries_reach_the_store_out_of_order() {
    for (name, store, _dir) in backends("a_time_bound_is_exact").await {
        let start = chrono::Utc::now();
        // Received in this order of time, but queued to the writer in another order.
        let offsets_ms = [5, 1, 9, 3, 3, 12, 7];
        for ms in offsets_ms {
            let mut e = common::new_event("s", None, json!({"ms": ms}));
            e.received_at = start + chrono::Duration::milliseconds(ms);
            store.append(e).await.unwrap();
        }
        let stored = store
            .query(EventFilter::default(), Page::Oldest(100))
            .await
            .unwrap();
        // One SQLite writer orders times with ids; PostgreSQL instances each stamp their own.
        if name == "sqlite" {
            assert!(
                stored
                    .windows(2)
                    .all(|w| w[0].received_at < w[1].received_at),
                "a later id is stored as received later (times are unique)"
            );
        }
        for probe in &stored {
            for since in [
                probe.received_at - chrono::Duration::microseconds(1),
                probe.received_at,
            ] {
                // Oldest first by time (ids break ties): on SQLite that is id order.
                let mut after: Vec<_> = stored.iter().filter(|e| e.received_at > since).collect();
                after.sort_by_key(|e| (e.received_at, e.id));
                let expected: Vec<i64> = after.iter().map(|e| e.id).collect();
                let got: Vec<i64> = store
                    .query(
                        EventFilter {
                            received_after: Some(since),
                            ..Default::default()
                        },
                        Page::Oldest(100),
                    )
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| e.id)
                    .collect();
                assert_eq!(got, expected, "{name}: since {since}");
                // Before it too, and between two times: the same events whichever way read.
                let mut before: Vec<i64> = (stored.iter())
                    .filter(|e| e.received_at < since)
                    .map(|e| e.id)
                    .collect();
                before.sort();
                let read = |filter: EventFilter| async {
                    let events = store.query(filter, Page::Newest(100)).await.unwrap();
                    let mut ids: Vec<i64> = events.into_iter().map(|e| e.id).collect();
                    ids.sort();
                    ids
                };
                let until = EventFilter {
                    received_before: Some(since),
                    ..Default::default()
                };
                assert_eq!(read(until).await, before, "{name}: before {since}");
                let first = stored[0].received_at;
                let between = EventFilter {
                    received_after: Some(first),
                    received_before: Some(since),
                    ..Default::default()
                };
                let inside: Vec<i64> = (stored.iter())
                    .filter(|e| e.received_at > first && e.received_at < since)
                    .map(|e| e.id)
                    .collect();
                let mut inside = inside;
                inside.sort();
                assert_eq!(
                    read(between).await,
                    inside,
                    "{name}: between {first} and {since}"
                );
            }
        }
    }
}

#[tokio::test]
async fn postgres_statistics_are_refreshed_even_without_autovacuum() {
    let test = "postgres_statistics_are_refreshed";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let pg = Postgres::open(&db.url, WakeUps::ListenNotify)
        .await
        .unwrap();
    let appends = (0..1500).map(|n| pg.append(event("s", None, json!({"n": n}))));
    for a in futures_util::future::join_all(appends).await {
        a.unwrap();
    }
    let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let stats = "SELECT n_mod_since_analyze, greatest(last_analyze, last_autoanalyze) IS NOT NULL
                 FROM pg_stat_user_tables WHERE relname = 'events'";
    // Backends report their counts when idle (within about 10 s): wait for them, unless
    // autovacuum got there first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let row = client.query_one(stats, &[]).await.unwrap();
        let (changed, analyzed): (i64, bool) = (row.get(0), row.get(1));
        if changed >= 1500 || analyzed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{changed} changes seen"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let policy = Retention {
        max_events_per_source: 100_000,
        received_before: Utc::now() - chrono::Duration::days(30),
        dedupe_after: Utc::now() - chrono::Duration::days(3),
    };
    assert_eq!(pg.prune(policy).await.unwrap(), 0);
    let row = client.query_one(stats, &[]).await.unwrap();
    assert!(row.get::<_, bool>(1), "events was analyzed");
    assert!(
        row.get::<_, i64>(0) < 1000,
        "its changes are counted from now"
    );
}

#[tokio::test]
async fn a_where_examines_at_most_its_bound_and_says_where_it_stopped() {
    for (name, store, _dir) in backends("a_where_examines_at_most_its_bound").await {
        let needle = store
            .append(event("s", None, json!({"kind": "needle"})))
            .await
            .unwrap()
            .id;
        let hay = hookd::store::WHERE_SCAN + 5;
        let appends = (0..hay).map(|_| store.append(event("s", None, json!({"kind": "hay"}))));
        let mut ids: Vec<i64> = futures_util::future::join_all(appends)
            .await
            .into_iter()
            .map(|a| a.unwrap().id)
            .collect();
        ids.sort();
        let find = |before_id| EventFilter {
            fields: hookd::event::FieldMatch::parse_where(
                json!({"payload.kind": "needle"}).as_object().unwrap(),
            )
            .unwrap(),
            before_id,
            ..Default::default()
        };
        let first = store
            .query_within(find(None), Page::Newest(10), usize::MAX)
            .await
            .unwrap();
        assert!(first.events.is_empty(), "{name}");
        let stopped = ids[ids.len() - hookd::store::WHERE_SCAN];
        assert_eq!(first.scan_stopped_at, Some(stopped), "{name}");
        let next = store
            .query_within(find(Some(stopped)), Page::Newest(10), usize::MAX)
            .await
            .unwrap();
        let found: Vec<i64> = next.events.iter().map(|e| e.id).collect();
        assert_eq!(found, [needle], "{name}");
        assert_eq!(
            next.scan_stopped_at, None,
            "{name}: everything older was examined"
        );
    }
}

#[tokio::test]
async fn counts_by_source_and_type_agree_with_count() {
    for (name, store, _keep) in backends("counts_by_source_and_type_agree_with_count").await {
        for (source, kind, n) in [("a", "x", 3), ("a", "y", 1), ("b", "x", 2)] {
            for _ in 0..n {
                store
                    .append(event(source, None, json!({"type": kind})))
                    .await
                    .unwrap();
            }
        }
        let all = store
            .count_by_type(EventFilter::default(), 10)
            .await
            .unwrap();
        let expected: Vec<(String, String, i64)> = vec![
            ("a".into(), "x".into(), 3),
            ("b".into(), "x".into(), 2),
            ("a".into(), "y".into(), 1),
        ];
        assert_eq!(all, expected, "{name}: most first");
        let of_a = EventFilter::of(Some("a".into()), None);
        let total: i64 = store
            .count_by_type(of_a.clone(), 10)
            .await
            .unwrap()
            .iter()
            .map(|g| g.2)
            .sum();
        assert_eq!(total, store.count(of_a).await.unwrap(), "{name}");
        assert_eq!(
            store
                .count_by_type(EventFilter::default(), 1)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn a_list_read_leaves_payloads_out_and_is_bounded_by_what_it_shows() {
    use hookd::event::{EventFilter, Page};
    for (name, store, _dir) in backends("a_list_read_leaves_payloads_out").await {
        for n in 0..3 {
            let mut e = common::new_event("s", None, json!({"n": n}));
            e.subject = Some(format!("subject {n}"));
            store.append(e).await.unwrap();
        }
        let large = common::new_event("s", None, json!({"blob": "x".repeat(100_000)}));
        store.append(large).await.unwrap();
        let whole = store
            .query_within(EventFilter::default(), Page::Newest(10), 10_000)
            .await
            .unwrap();
        assert_eq!(
            whole.events.len(),
            1,
            "{name}: the large payload fills a whole read"
        );
        let listed = store
            .list_within(EventFilter::default(), Page::Newest(10), 10_000)
            .await
            .unwrap();
        assert_eq!(listed.events.len(), 4, "{name}");
        assert!(!listed.truncated, "{name}");
        assert!(
            listed
                .events
                .iter()
                .all(|e| e.payload.is_null() && e.headers.is_empty()),
            "{name}: no payloads, no headers"
        );
        assert_eq!(
            listed.events[0].subject.as_deref(),
            Some("subject 0"),
            "{name}"
        );
        // What is shown still bounds it.
        let tight = store
            .list_within(EventFilter::default(), Page::Newest(10), 20)
            .await
            .unwrap();
        assert!(tight.truncated && tight.events.len() < 4, "{name}");
    }
}

#[tokio::test]
async fn payloads_are_read_as_stored_for_many_ids_at_once() {
    for (name, store, _dir) in backends("payloads_are_read_as_stored_for_many_ids_at_once").await {
        let mut ids = Vec::new();
        for n in 0..3 {
            let e = common::new_event("s", None, json!({"n": n}));
            ids.push(store.append(e).await.unwrap().id);
        }
        let mut asked = vec![ids[2], ids[0], 987_654];
        asked.dedup();
        let mut got = store.raw_payloads(asked).await.unwrap();
        got.sort();
        assert_eq!(
            got,
            vec![
                (ids[0], r#"{"n":0}"#.to_owned()),
                (ids[2], r#"{"n":2}"#.to_owned())
            ],
            "{name}: the ones that exist, as stored"
        );
        assert!(
            store.raw_payloads(Vec::new()).await.unwrap().is_empty(),
            "{name}"
        );
    }
}

/// Triggers' leases and runs: one owner holds a trigger; only it queues and starts runs; a
/// takeover after the lease lapsed queues the runs the old owner left running; only failed or
/// dead runs are retried; the cursor only moves forward.
#[tokio::test]
async fn a_trigger_is_held_by_one_owner_and_its_interrupted_runs_go_again() {
    use hookd::store::triggers::{RunEnd, RunQuery, RunStatus};
    let test = "a_trigger_is_held_by_one_owner_and_its_interrupted_runs_go_again";
    for (name, store, _keep) in backends(test).await {
        let soon = Utc::now() + chrono::Duration::seconds(15);
        let wanted = vec![("t".to_owned(), 7)];
        let a = store
            .claim_triggers(wanted.clone(), "a".into(), soon)
            .await
            .unwrap();
        assert_eq!(
            (a.len(), a[0].cursor),
            (1, 7),
            "{name}: starts at the given cursor"
        );
        let b = store
            .claim_triggers(wanted.clone(), "b".into(), soon)
            .await
            .unwrap();
        assert!(b.is_empty(), "{name}: held by a");
        let none = store
            .enqueue_trigger_run("t".into(), "b".into(), vec![8], 8)
            .await
            .unwrap();
        assert_eq!(none, None, "{name}: b cannot queue");
        let run = store
            .enqueue_trigger_run("t".into(), "a".into(), vec![8, 9], 9)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.start_trigger_run(run, "b".into()).await.unwrap(),
            None
        );
        assert_eq!(
            store.start_trigger_run(run, "a".into()).await.unwrap(),
            Some(1)
        );
        assert!(
            !store.retry_trigger_run(run).await.unwrap(),
            "{name}: running"
        );
        assert!(
            store
                .trigger_cursor("t".into(), "a".into(), 3)
                .await
                .unwrap()
        );
        assert!(
            !store
                .trigger_cursor("t".into(), "b".into(), 20)
                .await
                .unwrap()
        );
        let again = store
            .claim_triggers(wanted.clone(), "a".into(), soon)
            .await
            .unwrap();
        assert_eq!(again[0].cursor, 9, "{name}: the cursor never moves back");

        // a stops renewing; once its lease lapsed, b takes the trigger and the run goes again.
        let lapsed = Utc::now() - chrono::Duration::seconds(1);
        store
            .claim_triggers(wanted.clone(), "a".into(), lapsed)
            .await
            .unwrap();
        let b = store
            .claim_triggers(wanted.clone(), "b".into(), soon)
            .await
            .unwrap();
        assert_eq!((b.len(), b[0].cursor), (1, 9), "{name}: b holds it from 9");
        let due = store
            .due_trigger_runs("t".into(), Utc::now(), 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "{name}: the interrupted run is due");
        assert_eq!((due[0].id, due[0].status), (run, RunStatus::Queued));
        assert_eq!(due[0].event_ids, [8, 9]);
        assert_eq!(
            store.start_trigger_run(run, "b".into()).await.unwrap(),
            Some(2),
            "{name}: its second attempt"
        );
        let end = RunEnd {
            status: RunStatus::Dead,
            next_attempt_at: None,
            exit_code: Some(1),
            http_status: None,
            duration_ms: 5,
            output: "out".into(),
            error: None,
        };
        store.finish_trigger_run(run, end).await.unwrap();
        assert!(store.retry_trigger_run(run).await.unwrap());
        let listed = store
            .trigger_runs(RunQuery {
                status: Some(RunStatus::Queued),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{name}");
        assert_eq!((listed[0].attempts, listed[0].exit_code), (2, Some(1)));
        let states = store.trigger_states().await.unwrap();
        assert_eq!(states[0].1, [(RunStatus::Queued, 1)], "{name}");
    }
}

/// Enrolment: a secret is kept only inside an open, unexpired window, which the first enrolment
/// closes; each source has its own window and secrets, newest first.
#[tokio::test]
async fn a_secret_is_enrolled_only_inside_an_open_window_once() {
    use hookd::secret::Secret;
    let test = "a_secret_is_enrolled_only_inside_an_open_window_once";
    for (name, store, _keep) in backends(test).await {
        let now = Utc::now();
        let secrets = |s: &'static str| store.enrolled_secrets(s.into());
        let enrol = |s: &'static str, secret: &'static str, at| {
            store.enrol(s.into(), Secret::new(secret), at)
        };
        assert!(
            !enrol("asana", "early", now).await.unwrap(),
            "{name}: no window yet"
        );
        let until = now + chrono::Duration::seconds(60);
        store.open_enrolment("asana".into(), until).await.unwrap();
        let late = until + chrono::Duration::seconds(1);
        assert!(
            !enrol("asana", "late", late).await.unwrap(),
            "{name}: lapsed"
        );
        assert!(
            !enrol("other", "x", now).await.unwrap(),
            "{name}: another source's window"
        );
        assert!(enrol("asana", "first", now).await.unwrap(), "{name}");
        assert!(
            !enrol("asana", "second", now).await.unwrap(),
            "{name}: closed by the first"
        );
        store.open_enrolment("asana".into(), until).await.unwrap();
        assert!(enrol("asana", "rotated", now).await.unwrap(), "{name}");
        let kept: Vec<String> = secrets("asana")
            .await
            .unwrap()
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        assert_eq!(kept, ["rotated", "first"], "{name}");
        assert!(secrets("other").await.unwrap().is_empty(), "{name}");
    }
}
