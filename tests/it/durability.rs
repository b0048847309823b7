//! Durability from the outside: real `hookd serve` processes, restarts, kill -9, a full disk.

use crate::common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{Process, post, post_json};
use hookd::event::{EventFilter, Page};
use hookd::store::{Postgres, Sqlite, Store, WakeUps};

/// Every event in the store at `dir`, opened directly (no hookd running).
async fn stored(dir: &Path) -> Vec<hookd::event::Event> {
    all_events(&Sqlite::open(dir).unwrap()).await
}

async fn all_events(store: &dyn Store) -> Vec<hookd::event::Event> {
    store
        .query(EventFilter::default(), Page::Oldest(1_000_000))
        .await
        .unwrap()
}

#[tokio::test]
async fn events_and_dedupe_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let http = common::http();
    let mut hookd = Process::serve(dir.path(), &[]);
    let first = post_json(&http, hookd.webhook, "github", Some("d-1"), r#"{"a":1}"#).await;
    assert_eq!(first.status, 200);
    let first_id = first.body["event_id"].as_i64().unwrap();
    assert!(hookd.terminate().success(), "SIGTERM is a clean exit");

    let hookd = Process::serve(dir.path(), &[]);
    let retry = post_json(&http, hookd.webhook, "github", Some("d-1"), r#"{"a":1}"#).await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.body["event_id"], first_id);
    assert_eq!(retry.body["duplicate"], true);
    let next = post_json(&http, hookd.webhook, "github", Some("d-2"), "{}").await;
    assert!(next.body["event_id"].as_i64().unwrap() > first_id);

    let c = common::mcp::connect_http(
        &format!("http://{}/mcp", hookd.mcp),
        common::mcp::ERAS[0].clone(),
    )
    .await;
    let e = common::mcp::call_ok(
        &c,
        "get_event_by_id",
        serde_json::json!({"event_id": first_id}),
    )
    .await;
    assert_eq!(e["payload"], serde_json::json!({"a": 1}));
}

/// Posts distinct deliveries from `workers` tasks until `stop`; returns every acknowledged
/// (delivery id -> event id).
async fn flood(
    addr: std::net::SocketAddr,
    workers: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
) -> HashMap<String, i64> {
    let http = common::http();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (http, stop, acked) = (http.clone(), stop.clone(), acked.clone());
        tasks.spawn(async move {
            let mut mine = HashMap::new();
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let delivery = format!("w{w}-n{n}");
                let body = format!(r#"{{"worker":{w},"n":{n}}}"#);
                let sent = http
                    .post(format!("http://{addr}/webhook/flood"))
                    .header("content-type", "application/json")
                    .header("idempotency-key", &delivery)
                    .body(body)
                    .send()
                    .await;
                let Ok(resp) = sent else { break };
                if resp.status() != 200 {
                    break;
                }
                let Ok(v) = resp.json::<serde_json::Value>().await else {
                    break;
                };
                mine.insert(delivery, v["event_id"].as_i64().unwrap());
                acked.fetch_add(1, Ordering::Relaxed);
            }
            mine
        });
    }
    let mut all = HashMap::new();
    while let Some(part) = tasks.join_next().await {
        all.extend(part.unwrap());
    }
    all
}

/// Floods a `hookd serve` with `args`, kills it with SIGKILL mid-flood, and returns what it
/// acknowledged.
async fn flood_then_kill_9(dir: &Path, args: &[&str]) -> HashMap<String, i64> {
    let mut hookd = Process::serve(dir, args);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let load = tokio::spawn(flood(hookd.webhook, 16, stop.clone(), acked.clone()));
    while acked.load(Ordering::Relaxed) < 500 {
        assert!(
            !load.is_finished(),
            "the flood ended early: webhooks were refused"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    // Killed mid-flood: requests are in flight and batches mid-commit.
    hookd.kill9();
    stop.store(true, Ordering::Relaxed);
    let acknowledged = load.await.unwrap();
    assert!(acknowledged.len() >= 500);
    acknowledged
}

/// Every acknowledged delivery is stored, with the id it was acknowledged with, once.
fn assert_kept(acknowledged: &HashMap<String, i64>, events: &[hookd::event::Event]) {
    let by_delivery: HashMap<&str, i64> = events
        .iter()
        .map(|e| (e.delivery_id.as_deref().unwrap(), e.id))
        .collect();
    assert_eq!(by_delivery.len(), events.len(), "no delivery stored twice");
    for (delivery, id) in acknowledged {
        assert_eq!(
            by_delivery.get(delivery.as_str()),
            Some(id),
            "acknowledged {delivery} lost"
        );
    }
}

#[tokio::test]
async fn kill_9_loses_no_acknowledged_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let acknowledged = flood_then_kill_9(dir.path(), &[]).await;
    assert_kept(&acknowledged, &stored(dir.path()).await);
}

#[tokio::test]
async fn kill_9_loses_no_acknowledged_webhook_on_postgres() {
    let test = "kill_9_loses_no_acknowledged_webhook_on_postgres";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let acknowledged = flood_then_kill_9(dir.path(), &["--database-url", &db.url]).await;
    let store = Postgres::open(&db.url, WakeUps::ListenNotify)
        .await
        .unwrap();
    assert_kept(&acknowledged, &all_events(&store).await);
}

#[tokio::test]
async fn sigterm_answers_in_flight_webhooks_and_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut hookd = Process::serve(dir.path(), &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let load = tokio::spawn(flood(hookd.webhook, 16, stop.clone(), acked.clone()));
    while acked.load(Ordering::Relaxed) < 200 {
        tokio::task::yield_now().await;
    }
    let status = tokio::task::spawn_blocking(move || hookd.terminate())
        .await
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(status.success(), "graceful exit: {status:?}");
    let acknowledged = load.await.unwrap();
    let events = stored(dir.path()).await;
    let ids: std::collections::HashSet<i64> = events.iter().map(|e| e.id).collect();
    for (delivery, id) in &acknowledged {
        assert!(ids.contains(id), "acknowledged {delivery} lost");
    }
}

/// A disk that fills up: hookd answers 503 (never a false 200), stays up, and recovers once
/// space is freed. Needs root to mount a small tmpfs; skipped (by name) otherwise.
#[tokio::test]
async fn a_full_disk_answers_503_and_recovers() {
    let mount = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(mount.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let test = "a_full_disk_answers_503_and_recovers";
        common::skipped(test, "cannot mount tmpfs (not root)");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(self.0).status();
        }
    }
    let _unmount = Unmount(mount.path());
    let data = mount.path().join("data");
    let hookd = Process::serve(&data, &[]);
    let http = common::http();
    let filler = mount.path().join("filler");
    std::fs::write(&filler, vec![0u8; 2 << 20]).unwrap();

    let body = "x".repeat(60_000);
    let text = [("content-type", "text/plain")];
    let mut acked = Vec::new();
    let failure = loop {
        let r = post(&http, hookd.webhook, "fill", &text, body.clone()).await;
        if r.status != 200 {
            break r;
        }
        acked.push(r.body["event_id"].as_i64().unwrap());
        assert!(acked.len() < 200, "the disk never filled up");
    };
    assert_eq!(failure.status, 503, "{:?}", failure.body);
    assert!(
        failure.body["error"]
            .as_str()
            .unwrap()
            .contains("not stored")
    );
    let health = http
        .get(format!("http://{}/healthz", hookd.webhook))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "still serving");
    assert_eq!(
        failure.body["error"].as_str().map(|_| ()),
        Some(()),
        "a JSON error"
    );
    let readyz = |addr| {
        let http = http.clone();
        async move {
            http.get(format!("http://{addr}/readyz"))
                .send()
                .await
                .unwrap()
        }
    };
    for addr in [hookd.webhook, hookd.mcp] {
        let ready = readyz(addr).await;
        assert_eq!(ready.status(), 503, "not ready while writes fail");
        assert_eq!(ready.headers()["retry-after"], "5");
    }

    std::fs::remove_file(&filler).unwrap();
    // Ready again without any webhook: /readyz probes with a write of its own.
    let ready = readyz(hookd.webhook).await;
    assert_eq!(ready.status(), 200, "{:?}", ready.text().await);
    let after = post(&http, hookd.webhook, "fill", &text, "small").await;
    assert_eq!(
        after.status, 200,
        "recovers once space is free: {:?}",
        after.body
    );
    drop(hookd);
    let events = stored(&data).await;
    let ids: std::collections::HashSet<i64> = events.iter().map(|e| e.id).collect();
    assert!(
        acked.iter().all(|id| ids.contains(id)),
        "every 200 is on disk"
    );
}
