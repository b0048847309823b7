//! `hookd migrate-to`: a SQLite store copied into PostgreSQL keeps every id (events, actions,
//! consumer cursors) and hookd on PostgreSQL carries on from there. Skipped by name without
//! PostgreSQL, except under `CI=true`.

use crate::common;

use chrono::Utc;
use common::new_event as event;
use hookd::derive::Derived;
use hookd::derive::deploy::Push;
use hookd::derive::stripe::NewAction;
use hookd::event::{EventFilter, Page, Rejected};
use hookd::store::prelude::*;
use hookd::store::{Postgres, Retention, SearchQuery, Sqlite, WakeUps};
use serde_json::json;

fn migrate(dir: &std::path::Path, url: &str) -> std::process::Output {
    std::process::Command::new(common::bin())
        .arg("migrate-to")
        .arg("--data-dir")
        .arg(dir)
        .env("HOOKD_DATABASE_URL", url)
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_sqlite_store_moves_to_postgres_with_its_ids() {
    let test = "a_sqlite_store_moves_to_postgres_with_its_ids";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Sqlite::open(dir.path()).unwrap();
    // The first event is pruned by age (times never decrease with ids, so only a first one can
    // be old): its id must never be handed out again, and its delivery id is kept for the
    // dedupe window (a long one here), and carried over.
    let mut old = event("old", Some("gone-1"), json!({}));
    old.received_at = Utc::now() - chrono::Duration::days(40);
    let pruned = sqlite.append(old).await.unwrap().id;
    let mut push = event(
        "github",
        Some("d-push"),
        json!({"msg": "fix the flaky deploy"}),
    );
    push.derived = vec![Derived::Push(Push {
        repo: "o/r".into(),
        branch: "main".into(),
        sha: "abc1234def".into(),
        message: "fix".into(),
        author: "ann".into(),
        time: hookd::time::parse_time("2026-11-25T10:00:00Z").unwrap(),
    })];
    let push_id = sqlite.append(push).await.unwrap().id;
    let mut failed = event(
        "stripe",
        Some("evt_9"),
        json!({"type": "invoice.payment_failed"}),
    );
    failed.derived = vec![Derived::Action(NewAction {
        action_type: "follow_up".into(),
        fields: Default::default(),
    })];
    sqlite.append(failed).await.unwrap();
    // jsonb refuses `\u0000`: the copy flags this payload, so that `where` skips it.
    let nul = sqlite
        .append(event("nul", None, json!({"text": "a\u{0}b"})))
        .await
        .unwrap()
        .id;
    let ids: Vec<i64> = {
        let mut ids = vec![];
        for n in 0..25 {
            let e = event("s", None, json!({"n": n}));
            ids.push(sqlite.append(e).await.unwrap().id);
        }
        ids
    };
    let policy = Retention {
        max_events_per_source: 1000,
        received_before: Utc::now() - chrono::Duration::days(30),
        dedupe_after: Utc::now() - chrono::Duration::days(60),
    };
    assert_eq!(sqlite.prune(policy).await.unwrap(), 1);
    sqlite.ack("worker".into(), ids[9]).await.unwrap();
    let kept = hookd::store::SavedSubscription {
        id: "sub_kept".into(),
        principal: "bearer-token".into(),
        url: "https://example.com/hook".into(),
        name: "any".into(),
        arguments: None,
        secret: hookd::secret::Secret::new("whsec_kept"),
        expires: None,
        progress: hookd::store::Progress {
            cursor: ids[3],
            active: true,
            ..Default::default()
        },
    };
    let until = Utc::now() + chrono::Duration::seconds(30);
    sqlite
        .save_subscription(kept, "sqlite-instance".into(), until)
        .await
        .unwrap();
    sqlite
        .record_rejection(Rejected {
            source: "github".into(),
            received_at: Utc::now(),
            reason: "bad_signature".into(),
            detail: "signature mismatch".into(),
            headers: Default::default(),
            body_size: 10,
            body_sha256: "00".into(),
        })
        .await
        .unwrap();
    let now = Utc::now();
    let task = hookd::store::TaskRecord {
        id: "0123456789abcdef0123456789abcdef".into(),
        principal: "bearer-token".into(),
        request: "{\"tool\":\"wait_for_event\"}".into(),
        state: hookd::store::TaskState::Working,
        status_message: None,
        outcome: None,
        created_at: now,
        updated_at: now,
        expires_at: now + chrono::Duration::hours(1),
    };
    assert!(sqlite.create_task(task.clone(), 32).await.unwrap());
    for secret in ["asana-first", "asana-second"] {
        let soon = chrono::Utc::now() + chrono::Duration::minutes(5);
        sqlite.open_enrolment("tasks".into(), soon).await.unwrap();
        let kept = sqlite.enrol(
            "tasks".into(),
            hookd::secret::Secret::new(secret),
            chrono::Utc::now(),
        );
        assert!(kept.await.unwrap());
    }
    let before = sqlite
        .query(EventFilter::default(), Page::Oldest(1000))
        .await
        .unwrap();
    let actions_before = sqlite.pending_actions(None).await.unwrap();
    drop(sqlite);

    let out = migrate(dir.path(), &db.url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("events: 28 rows copied"), "{said}");

    let pg = Postgres::open(&db.url, WakeUps::ListenNotify)
        .await
        .unwrap();
    let after = pg
        .query(EventFilter::default(), Page::Oldest(1000))
        .await
        .unwrap();
    assert_eq!(after, before, "every event, same ids, same content");
    assert_eq!(pg.pending_actions(None).await.unwrap(), actions_before);
    assert_eq!(
        pg.consumer_cursor("worker".into()).await.unwrap(),
        Some(ids[9])
    );
    assert_eq!(pg.rejections(None, 10).await.unwrap().len(), 1);
    let learned: Vec<String> = pg
        .enrolled_secrets("tasks".into())
        .await
        .unwrap()
        .iter()
        .map(|s| s.expose().to_owned())
        .collect();
    assert_eq!(
        learned,
        ["asana-second", "asana-first"],
        "learned secrets, newest first"
    );
    let kept = pg
        .claim_subscriptions("pg-instance".into(), until)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "the kept subscription, free to take up");
    assert_eq!(
        (kept[0].id.as_str(), kept[0].progress.cursor),
        ("sub_kept", ids[3])
    );
    assert_eq!(kept[0].secret.expose(), "whsec_kept");
    let moved = pg.task(task.id.clone()).await.unwrap();
    assert_eq!(
        moved.map(|t| (t.principal, t.request, t.state)),
        Some((task.principal, task.request, task.state)),
        "a working task, found and resumable on PostgreSQL"
    );
    let (pushes, _) = pg.by_sha("abc1234".into()).await.unwrap();
    assert_eq!(pushes.len(), 1);
    let counts: Vec<(String, i64)> = pg
        .sources()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.source, s.count))
        .collect();
    assert_eq!(counts[0], ("s".into(), 25));
    let hits = pg
        .search(SearchQuery {
            text: "flaky".into(),
            filter: EventFilter::default(),
            limit: 5,
        })
        .await
        .unwrap()
        .hits;
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [push_id]);
    let text_is = |value: &str| EventFilter {
        fields: vec![hookd::filter::FieldMatch {
            path: vec![hookd::filter::PathStep::Key("text".into())],
            value: json!(value),
        }],
        ..EventFilter::default()
    };
    // Every payload is examined: unflagged, this one would fail the cast to jsonb.
    let found = pg.query(text_is("b"), Page::Newest(10)).await;
    assert!(
        found.unwrap().is_empty(),
        "`where` skips the flagged payload, without failing on it"
    );
    let flagged: Vec<i64> = {
        let (c, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let rows = c
            .query("SELECT id FROM events WHERE payload_has_nul", &[])
            .await
            .unwrap();
        rows.iter().map(|r| r.get(0)).collect()
    };
    assert_eq!(flagged, [nul], "only the payload with `\\u0000` is flagged");
    let next = pg.append(event("s", None, json!({}))).await.unwrap().id;
    let highest = *ids.last().unwrap();
    assert!(
        next > highest,
        "ids go on after the highest ever: {next} > {highest}"
    );
    let dup = pg
        .append(event("stripe", Some("evt_9"), json!({})))
        .await
        .unwrap();
    assert!(dup.duplicate, "dedupe carries over");
    let gone = pg
        .append(event("old", Some("gone-1"), json!({})))
        .await
        .unwrap();
    assert_eq!(
        (gone.id, gone.duplicate),
        (pruned, true),
        "so do the delivery ids of pruned events"
    );
    drop(pg);

    let again = migrate(dir.path(), &db.url);
    assert!(
        !again.status.success(),
        "a second copy into a used database is refused"
    );
    let why = String::from_utf8_lossy(&again.stderr);
    assert!(why.contains("already holds"), "{why}");
    assert!(!why.contains(&db.url), "the URL is not repeated: {why}");
}
