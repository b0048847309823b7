//! PostgreSQL's group commit: several statements of a group travel together, so what the group
//! stores must still be all or nothing, and each event's search vector must be its own.

use crate::common;

use std::sync::Arc;

use common::new_event as event;
use hookd::store::prelude::*;
use hookd::store::{Postgres, WakeUps};
use serde_json::json;

/// A fresh database and a store on it, or `None` when the test is skipped.
async fn store(test: &str) -> Option<(common::pg::TestDb, Arc<Postgres>)> {
    let db = common::pg::database(test).await?;
    let store = Postgres::open(&db.url, WakeUps::ListenNotify)
        .await
        .unwrap();
    Some((db, Arc::new(store)))
}

async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// Groups mixing new deliveries, repeated ones (in the group and from an earlier group) and
/// events without a delivery id: every stored vector is the one PostgreSQL computes from that
/// same row, so none went to a neighbour.
#[tokio::test]
async fn postgres_each_event_gets_its_own_search_vector() {
    let Some((db, store)) = store("postgres_each_event_gets_its_own_search_vector").await else {
        return;
    };
    let mut appends = tokio::task::JoinSet::new();
    for n in 0..300 {
        let store = store.clone();
        appends.spawn(async move {
            let delivery = match n % 3 {
                0 => None,
                1 => Some(format!("d{}", n % 40)),
                _ => Some(format!("d{n}")),
            };
            let mut e = event("s", delivery.as_deref(), json!({"word": format!("w{n}")}));
            e.event_type = format!("kind{}", n % 7);
            e.summary = (n % 2 == 0).then(|| format!("summary{n}"));
            store.append(e).await.unwrap()
        });
    }
    let mut duplicates = 0;
    while let Some(appended) = appends.join_next().await {
        duplicates += usize::from(appended.unwrap().duplicate);
    }
    assert!(duplicates > 0, "the run repeated some deliveries");
    let c = sql(&db.url).await;
    let (stored, wrong): (i64, i64) = {
        let r = c
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE search IS DISTINCT FROM
                     to_tsvector('simple', type || ' ' || coalesce(summary, '') || ' ' ||
                                           coalesce(search_text, '')))
                 FROM events",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(stored as usize, 300 - duplicates);
    assert_eq!(
        wrong, 0,
        "{wrong} of {stored} events carry another row's search vector"
    );
    let found = store
        .search(hookd::store::SearchQuery {
            text: "w3".into(),
            filter: Default::default(),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(
        found.hits.len(),
        1,
        "one event (without a delivery id) holds the word w3"
    );
}

/// A group whose statements fail on the server stores nothing of it (no event, no source count),
/// answers every append in it with an error, and leaves no connection behind in a broken
/// transaction: what follows is stored normally.
#[tokio::test]
async fn postgres_a_failing_group_stores_nothing_and_the_next_ones_succeed() {
    let Some((db, store)) =
        store("postgres_a_failing_group_stores_nothing_and_the_next_ones_succeed").await
    else {
        return;
    };
    let c = sql(&db.url).await;
    c.batch_execute(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.type = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER refuse_poison BEFORE INSERT ON events
             FOR EACH ROW EXECUTE FUNCTION refuse_poison();",
    )
    .await
    .unwrap();
    let mut appends = tokio::task::JoinSet::new();
    for n in 0..200 {
        let store = store.clone();
        appends.spawn(async move {
            let kind = if n % 50 == 0 { "poison" } else { "fine" };
            let e = event("s", Some(&format!("d{n}")), json!({"type": kind, "n": n}));
            (n, kind, store.append(e).await)
        });
    }
    let mut succeeded = Vec::new();
    while let Some(done) = appends.join_next().await {
        let (n, kind, result) = done.unwrap();
        match result {
            Ok(appended) => succeeded.push((n, appended.id)),
            Err(_) => continue,
        }
        assert_ne!(kind, "poison", "append {n} was refused by the server");
    }
    assert!(
        succeeded.len() < 196,
        "some fine appends shared a poisoned group"
    );
    let counted = |c: tokio_postgres::Client| async move {
        let events: i64 = c
            .query_one("SELECT count(*) FROM events", &[])
            .await
            .unwrap()
            .get(0);
        let source: Option<i64> = c
            .query_opt("SELECT count FROM sources WHERE source = 's'", &[])
            .await
            .unwrap()
            .map(|r| r.get(0));
        (c, events, source.unwrap_or(0))
    };
    let (c, events, source) = counted(c).await;
    assert_eq!(
        events as usize,
        succeeded.len(),
        "only acknowledged appends are stored"
    );
    assert_eq!(source, events, "the source counts only stored events");
    // More appends than the pool has connections, one at a time: a connection left inside the
    // failed transaction would refuse one of them.
    for n in 0..40 {
        let e = event("s", Some(&format!("after{n}")), json!({"n": n}));
        store.append(e).await.unwrap();
    }
    let (_, events_after, source_after) = counted(c).await;
    assert_eq!(events_after, events + 40);
    assert_eq!(source_after, events_after);
}
