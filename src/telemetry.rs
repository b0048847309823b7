//! What hookd tells a monitoring system, every name prefixed `hookd_`: the counters and
//! histograms bumped where things happen (ingest, the stores' writers). `scrape` serves them as
//! `GET /metrics`, with the gauges it reads when scraped.
//!
//! Labels never carry what a client chose freely: a delivery to a source that is not configured
//! counts under `source="(other)"`, so a flood of made-up paths cannot grow the page.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The label for deliveries to sources that are not configured.
pub const OTHER: &str = "(other)";

/// The process's recorder, installed on first use (`scrape` renders it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let seconds = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ];
        let sizes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(GROUP.into()), &sizes))
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder (a program embedding hookd) keeps its own; this page is then empty.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        handle
    })
}

const GROUP: &str = "hookd_commit_group_size";

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "hookd_webhooks_received_total",
        "Webhook deliveries answered, by source and HTTP status"
    );
    describe_counter!(
        "hookd_webhooks_rejected_total",
        "Deliveries refused by signature verification, by source and reason"
    );
    describe_counter!(
        "hookd_webhooks_duplicates_total",
        "Deliveries already stored (answered with the first event's id)"
    );
    describe_counter!(
        "hookd_webhooks_rate_limited_total",
        "Deliveries refused by the source's rate limit"
    );
    describe_counter!(
        "hookd_client_hangups_total",
        "MCP requests whose client went away before the answer"
    );
    describe_counter!(
        "hookd_connections_refused_total",
        "Connections closed as soon as accepted, by reason (per_ip: the address held its share)"
    );
    describe_histogram!(
        "hookd_ingest_seconds",
        "Time from a webhook's request to its answer"
    );
    describe_histogram!(GROUP, "Events committed per transaction (group commit)");
    describe_histogram!(
        "hookd_commit_seconds",
        "Time one group commit takes, fsync included"
    );
    describe_gauge!(
        "hookd_waiters",
        "Waiters and pushers following the store (wait_for_event, streams, subscriptions, channels)"
    );
    describe_gauge!(
        "hookd_consumer_backlog",
        "Stored events beyond a durable consumer's cursor"
    );
    describe_gauge!(
        "hookd_store_bytes",
        "Size of the SQLite store's files, by file"
    );
}

/// How often histogram samples are folded into their buckets. The recorder keeps each sample
/// until then: without this, a hookd that is never scraped would hold every sample it took.
const UPKEEP: Duration = Duration::from_secs(5);

/// Folds histogram samples into buckets every few seconds until `stop`.
pub async fn upkeep(stop: tokio_util::sync::CancellationToken) {
    let handle = handle();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(UPKEEP) => handle.run_upkeep(),
            _ = stop.cancelled() => return,
        }
    }
}

/// A webhook answered.
pub fn webhook(source: &str, status: u16, took: Duration) {
    let status = status.to_string();
    counter!("hookd_webhooks_received_total", "source" => source.to_owned(), "status" => status)
        .increment(1);
    histogram!("hookd_ingest_seconds").record(took.as_secs_f64());
}

/// A delivery refused by verification.
pub fn rejected(source: &str, reason: &'static str) {
    counter!("hookd_webhooks_rejected_total", "source" => source.to_owned(), "reason" => reason)
        .increment(1);
}

/// A delivery already stored.
pub fn duplicate(source: &str) {
    counter!("hookd_webhooks_duplicates_total", "source" => source.to_owned()).increment(1);
}

/// A delivery refused by its source's rate limit.
pub fn rate_limited(source: &str) {
    counter!("hookd_webhooks_rate_limited_total", "source" => source.to_owned()).increment(1);
}

/// One group commit of `events` that took `took`.
pub fn committed(events: usize, took: Duration) {
    histogram!(GROUP).record(events as f64);
    histogram!("hookd_commit_seconds").record(took.as_secs_f64());
}
