//! `GET /metrics` on the MCP listener, in Prometheus's text format: what `telemetry` recorded,
//! and gauges read when the page is scraped (waiters, consumer backlogs, the SQLite files' sizes).

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics::gauge;

use crate::store::Store;

/// What the page reads when scraped.
#[derive(Clone)]
pub struct Scrape {
    pub store: Arc<dyn Store>,
    /// The SQLite store's folder (`None` on PostgreSQL).
    pub data_dir: Option<PathBuf>,
}

/// `GET /metrics`.
pub fn routes(scrape: Scrape) -> Router {
    crate::telemetry::handle();
    Router::new()
        .route("/metrics", axum::routing::get(page))
        .with_state(scrape)
}

async fn page(State(s): State<Scrape>) -> impl IntoResponse {
    gauge!("hookd_waiters").set(s.store.bus().waiters() as f64);
    if let Ok(consumers) = s.store.consumers().await {
        for c in consumers {
            gauge!("hookd_consumer_backlog", "consumer" => c.name).set(c.backlog as f64);
        }
    }
    if let Some(dir) = &s.data_dir {
        let files = ["hookd.db", "hookd.db-wal", "search.db", "search.db-wal"];
        for file in files {
            let bytes = std::fs::metadata(dir.join(file)).map_or(0, |m| m.len());
            gauge!("hookd_store_bytes", "file" => file).set(bytes as f64);
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::handle().render(),
    )
}
