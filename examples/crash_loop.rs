//! The crash loop: webhooks with unique delivery ids from many connections while `hookd serve`
//! is killed with SIGKILL at random moments and restarted, for N cycles; then every acknowledged
//! delivery must be stored, once, with the id its 200 named.
//!
//! Usage: crash_loop <hookd-binary> <cycles> [postgres-url]   (run by bench/crash-loop.sh)
//! Prints acknowledged / stored / lost / duplicated; exits 1 unless lost = duplicated = 0.

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookd::event::{EventFilter, Page};
use hookd::store::{Postgres, Sqlite, Store, WakeUps};

const CONNECTIONS: usize = 32;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, binary, cycles, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: crash_loop <hookd-binary> <cycles> [postgres-url]");
    };
    let cycles: usize = cycles.parse()?;
    let database = rest.first().cloned();
    let dir = tempfile::tempdir()?;
    let http = hookd::outbound::client_builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    // delivery id -> event id, for every 200.
    let acked: Arc<Mutex<HashMap<String, i64>>> = Default::default();
    let mut seed = std::process::id() as u64 | 1;
    let started = Instant::now();
    for cycle in 0..cycles {
        let (mut child, addr) = spawn(binary, dir.path(), database.as_deref())?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut load = tokio::task::JoinSet::new();
        for worker in 0..CONNECTIONS {
            let (http, acked, stop) = (http.clone(), acked.clone(), stop.clone());
            let url = format!("http://{addr}/webhook/crash");
            load.spawn(async move {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let delivery = format!("c{cycle}-w{worker}-n{n}");
                    let sent = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-github-delivery", &delivery)
                        .body(format!(
                            r#"{{"delivery":"{delivery}","pad":"{}"}}"#,
                            "x".repeat(512)
                        ))
                        .send()
                        .await;
                    let Ok(response) = sent else { return };
                    if response.status() != 200 {
                        continue;
                    }
                    let Ok(body) = response.json::<serde_json::Value>().await else {
                        return;
                    };
                    if let Some(id) = body["event_id"].as_i64() {
                        acked.lock().unwrap().insert(delivery, id);
                    }
                }
            });
        }
        // A random moment, 200 to 1,500 ms into the load.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(200 + seed % 1300)).await;
        child.kill()?;
        child.wait()?;
        stop.store(true, Ordering::Relaxed);
        while load.join_next().await.is_some() {}
        eprintln!(
            "cycle {}/{cycles}: {} acknowledged so far",
            cycle + 1,
            acked.lock().unwrap().len()
        );
    }
    let store: Box<dyn Store> = match &database {
        Some(url) => Box::new(Postgres::open(url, WakeUps::External).await?),
        None => Box::new(Sqlite::open(&dir.path().join("data"))?),
    };
    let events = store
        .query(EventFilter::default(), Page::Oldest(usize::MAX >> 1))
        .await?;
    let mut stored: HashMap<String, Vec<i64>> = HashMap::new();
    for e in &events {
        let key = e.delivery_id.clone().unwrap_or_default();
        stored.entry(key).or_default().push(e.id);
    }
    let acked = acked.lock().unwrap();
    let lost = acked
        .iter()
        .filter(|(d, id)| stored.get(*d).is_none_or(|ids| !ids.contains(id)))
        .count();
    let duplicated: usize = stored.values().map(|ids| ids.len() - 1).sum();
    println!(
        "store={} cycles={cycles} acknowledged={} stored={} lost={lost} duplicated={duplicated} ({:.0} s)",
        if database.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        acked.len(),
        events.len(),
        started.elapsed().as_secs_f64()
    );
    if lost > 0 || duplicated > 0 || acked.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

/// Starts `hookd serve` on the data dir (or the database) and returns it with its webhook address.
fn spawn(
    binary: &str,
    dir: &std::path::Path,
    database: Option<&str>,
) -> anyhow::Result<(std::process::Child, String)> {
    let data = dir.join("data");
    let data = data.to_str().expect("a UTF-8 temporary path");
    // No rate limit, and no per-source cap: retention must not remove what is counted.
    let args = [
        "--rate-limit",
        "off",
        "--max-events-per-source",
        "1000000000000",
        "--data-dir",
        data,
    ];
    let env: Vec<(&str, &str)> = database
        .map(|url| ("HOOKD_DATABASE_URL", url))
        .into_iter()
        .collect();
    let hookd = support::serve(binary, &args, &env)?;
    Ok((hookd.child, hookd.webhook))
}
