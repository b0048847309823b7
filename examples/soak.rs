//! The soak: `hookd serve` under a steady webhook rate for a long time, with MCP clients waiting
//! and querying all along; prints, minute by minute, memory, open descriptors, the data dir's size
//! and webhook p50/p99, then the first and last minute side by side. Flat is the pass: nothing may
//! grow with time.
//!
//! Usage: soak <hookd-binary> <seconds> <webhooks-per-second>   (run by bench/soak.sh)

#[path = "support/mod.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

/// Webhooks in flight at most (the load generator's own bound).
const IN_FLIGHT: usize = 128;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    hookd::outbound::install_tls();
    let args: Vec<String> = std::env::args().collect();
    let [_, binary, seconds, rate] = args.as_slice() else {
        anyhow::bail!("usage: soak <hookd-binary> <seconds> <webhooks-per-second>");
    };
    let duration = Duration::from_secs(seconds.parse()?);
    let rate: u64 = rate.parse()?;
    anyhow::ensure!(
        duration >= Duration::from_secs(120),
        "run at least two minutes"
    );
    let dir = tempfile::tempdir_in("target")?;
    let data = dir.path().to_str().expect("a UTF-8 temporary path");
    let hookd = support::serve(binary, &["--rate-limit", "off", "--data-dir", data], &[])?;
    let (mut child, webhook, mcp) = (hookd.child, hookd.webhook, hookd.mcp);
    let pid = child.id();
    let http = hookd::outbound::client_builder().build()?;
    let started = Instant::now();
    let end = started + duration;

    let mut clients = tokio::task::JoinSet::new();
    for n in 0..4 {
        let url = format!("http://{mcp}/mcp");
        clients.spawn(async move { mcp_client(n, url, end).await });
    }

    // Latencies of each minute, in microseconds.
    let minutes = duration.as_secs().div_ceil(60) as usize;
    let buckets: Arc<Vec<Mutex<Vec<u64>>>> =
        Arc::new((0..minutes).map(|_| Mutex::new(Vec::new())).collect());
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let body = Arc::new(std::fs::read("tests/fixtures/github/push.json")?);
    let (mut sent, mut refused, mut n) = (0u64, 0u64, 0u64);
    let mut rows: Vec<Row> = Vec::new();
    println!("minute  webhooks  p50 ms  p99 ms  rss MiB  fds  data MiB");
    while Instant::now() < end {
        tick.tick().await;
        let minute = (started.elapsed().as_secs() / 60) as usize;
        if minute > rows.len() {
            // The minute before has ended: its figures (its last answers may still be arriving).
            let row = Row::of(rows.len(), &buckets, pid, dir.path());
            row.print();
            rows.push(row);
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused += 1; // hookd is behind: counted, not queued without bound
            continue;
        };
        n += 1;
        sent += 1;
        let (http, body, buckets) = (http.clone(), body.clone(), buckets.clone());
        let url = format!("http://{webhook}/webhook/soak");
        tokio::spawn(async move {
            let t = Instant::now();
            let r = http
                .post(url)
                .header("content-type", "application/json")
                .header("x-github-event", "push")
                .header("x-github-delivery", format!("soak-{n}"))
                .body(body.to_vec())
                .send()
                .await;
            if r.is_ok_and(|r| r.status() == 200) {
                let bucket = &buckets[minute.min(buckets.len() - 1)];
                bucket.lock().unwrap().push(t.elapsed().as_micros() as u64);
            }
            drop(slot);
        });
    }
    if rows.len() < minutes {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let last_row = Row::of(rows.len(), &buckets, pid, dir.path());
        last_row.print();
        rows.push(last_row);
    }
    let mut queries = 0;
    while let Some(done) = clients.join_next().await {
        queries += done??;
    }
    child.kill()?;
    child.wait()?;
    println!(
        "soak: {} s at {rate}/s: {sent} webhooks sent, {refused} not sent (more than {IN_FLIGHT} in flight), {queries} MCP calls",
        duration.as_secs()
    );
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    println!(
        "first minute: rss {:.1} MiB, fds {}, p99 {:.1} ms; last minute: rss {:.1} MiB, fds {}, p99 {:.1} ms",
        first.rss, first.fds, first.p99, last.rss, last.fds, last.p99
    );
    Ok(())
}

/// One minute's figures.
struct Row {
    minute: usize,
    webhooks: usize,
    p50: f64,
    p99: f64,
    rss: f64,
    fds: usize,
    data_mib: f64,
}

impl Row {
    fn of(minute: usize, buckets: &[Mutex<Vec<u64>>], pid: u32, dir: &std::path::Path) -> Self {
        let mut v = buckets[minute.min(buckets.len() - 1)]
            .lock()
            .unwrap()
            .clone();
        v.sort_unstable();
        let at = |q: usize| {
            v.get(v.len().saturating_sub(1) * q / 100)
                .map_or(f64::NAN, |us| *us as f64 / 1000.0)
        };
        let (rss, fds) = sample(pid);
        let data: u64 = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        Self {
            minute: minute + 1,
            webhooks: v.len(),
            p50: at(50),
            p99: at(99),
            rss,
            fds,
            data_mib: data as f64 / 1048576.0,
        }
    }

    fn print(&self) {
        println!(
            "{:>6}  {:>8}  {:>6.1}  {:>6.1}  {:>7.1}  {:>3}  {:>8.0}",
            self.minute, self.webhooks, self.p50, self.p99, self.rss, self.fds, self.data_mib
        );
    }
}

/// RSS in MiB and open descriptors of `pid`.
fn sample(pid: u32) -> (f64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss_kib / 1024.0, fds)
}

/// Until `end`: two clients wait for events in a loop (each from the last id seen), two query
/// the newest events and search. Returns how many calls it made.
async fn mcp_client(n: usize, url: String, end: Instant) -> anyhow::Result<u64> {
    let client = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("soak", "0"),
    )
    .serve(StreamableHttpClientTransport::from_uri(url))
    .await?;
    let call = |name: &str, args: Value| {
        let Value::Object(args) = args else {
            unreachable!()
        };
        client.call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(args))
    };
    let (mut calls, mut after) = (0u64, 0i64);
    while Instant::now() < end {
        let result = if n < 2 {
            let r = call(
                "wait_for_event",
                json!({"source": "soak", "after_id": after, "timeout_seconds": 5}),
            )
            .await?;
            if let Some(id) = r
                .structured_content
                .as_ref()
                .and_then(|s| s["event"]["id"].as_i64())
            {
                after = id;
            }
            r
        } else if calls % 2 == 0 {
            call("get_recent_events", json!({"source": "soak", "limit": 50})).await?
        } else {
            call("search_events", json!({"query": "octocat", "limit": 20})).await?
        };
        anyhow::ensure!(result.is_error != Some(true), "{:?}", result.content);
        calls += 1;
        if n >= 2 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    client.cancel().await?;
    Ok(calls)
}
