//! Health routes on both listeners: `/healthz` (the process answers) and `/readyz` (its store
//! answers and its writes succeed), for load balancers.
//!
//! Writes can fail while reads work (a full disk, a read-only or broken database file). Ingest
//! reports each append's outcome here; while the last one failed, `/readyz` answers 503, and it
//! probes with a small real write of its own, so that it turns 200 again once writes succeed even
//! when the load balancer has stopped sending webhooks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::store::{Store, StoreError};

/// Seconds a load balancer is asked to wait before trying a 503 again.
const RETRY_AFTER_SECS: u64 = 5;

/// Whether the store's last write failed.
#[derive(Debug, Default)]
pub struct WriteHealth {
    failing: AtomicBool,
}

impl WriteHealth {
    /// Notes how a write went.
    pub fn record<T>(&self, outcome: &Result<T, StoreError>) {
        self.failing.store(outcome.is_err(), Ordering::Relaxed);
    }

    fn failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }
}

/// Which store a hookd serves, as `/healthz` says it: a digest of the SQLite folder's full path or
/// of the PostgreSQL URL (neither is shown). `hookd stdio` compares it with its own before it
/// trusts that whatever holds the webhook port is a hookd ingesting into the same store.
pub fn store_tag(config: &crate::config::Config) -> String {
    use sha2::Digest;
    let name = match &config.database_url {
        Some(url) => url.expose().to_owned(),
        None => std::fs::canonicalize(&config.data_dir)
            .unwrap_or_else(|_| config.data_dir.clone())
            .display()
            .to_string(),
    };
    hex::encode(&sha2::Sha256::digest(name.as_bytes())[..8])
}

/// `/healthz` and `/readyz`, to merge into a listener's routes. `tag` is `store_tag`'s.
pub fn routes(store: Arc<dyn Store>, writes: Arc<WriteHealth>, tag: String) -> Router {
    let healthz = json!({"status": "ok", "service": "hookd", "store": tag});
    Router::new()
        .route("/healthz", get(move || async move { Json(healthz) }))
        .route(
            "/readyz",
            get(move || readyz(store.clone(), writes.clone())),
        )
}

async fn readyz(store: Arc<dyn Store>, writes: Arc<WriteHealth>) -> Response {
    let check = if writes.failing() {
        let probe = store.probe_write().await;
        writes.record(&probe);
        probe.map_err(|e| format!("writes fail: {e}"))
    } else {
        store.ping().await.map_err(|e| e.to_string())
    };
    match check {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())],
            Json(json!({"status": "unavailable", "error": error})),
        )
            .into_response(),
    }
}
