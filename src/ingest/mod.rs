//! The webhook receiver: `POST /webhook/{source}` on the webhook listener.
//!
//! A delivery is read as raw bytes (bounded by `--max-body`), verified with its source's scheme
//! on those bytes (before anything is parsed, and before dedupe, so a forged request cannot claim
//! a delivery id), decoded by content type, normalized, and appended to the store. The answer is
//! sent only after the store says the event is committed, so a 200 always means "on disk".

pub mod body;
pub mod headers;
pub mod normalize;
pub mod verify;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use crate::event::{Appended, NewEvent, Rejected, format_time};
use crate::sources::{Provider, Sources};
use crate::store::{Store, StoreError};
use crate::views::Derived;
use verify::{Delivery, Rejection};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unknown path; webhooks are POSTed to /webhook/{{source}}")]
    NotFound,
    #[error("method not allowed; webhooks are POSTed to /webhook/{{source}}")]
    MethodNotAllowed,
    #[error(
        "invalid source name {0:?}: use 1 to 64 characters of lower-case letters, digits, '_', '.', '-'"
    )]
    BadSource(String),
    #[error("{0}")]
    BadBody(#[from] body::BodyError),
    #[error("could not read the request body: {0}")]
    Unreadable(String, StatusCode),
    #[error(
        "delivery id header is longer than {} characters",
        normalize::MAX_ID_LEN
    )]
    DeliveryIdTooLong,
    #[error("signature verification failed: {0}")]
    Rejected(Rejection),
    #[error(
        "unknown source {0:?}: signatures are required and no source of that name is configured"
    )]
    UnknownSource(String),
    #[error("storage unavailable, the event was not stored: {0}")]
    Store(#[from] StoreError),
}

impl IngestError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound | Self::BadSource(_) | Self::UnknownSource(_) => StatusCode::NOT_FOUND,
            Self::Rejected(_) => StatusCode::UNAUTHORIZED,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadBody(_) | Self::DeliveryIdTooLong => StatusCode::BAD_REQUEST,
            Self::Unreadable(_, status) => *status,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "webhook not stored");
        }
        let mut body = json!({"status": "error", "error": self.to_string()});
        if let Self::Rejected(why) = &self {
            body["reason"] = why.class().into();
        }
        (status, Json(body)).into_response()
    }
}

/// What a sender gets back for a stored (or already stored) delivery.
#[derive(Debug, Serialize)]
pub struct Receipt {
    pub status: &'static str,
    pub event_id: i64,
    pub duplicate: bool,
}

/// What ingest needs: where events go, how each source is verified, and whether sources that
/// are not configured are accepted.
pub struct Ingest {
    pub store: Arc<dyn Store>,
    pub sources: Arc<Sources>,
    /// Refuse deliveries to sources that are not configured.
    pub require_signatures: bool,
}

/// What a delivery turned into.
#[derive(Debug)]
pub enum Outcome {
    Stored(Appended),
    /// Slack's Events API URL handshake: answered with its challenge, not stored.
    Challenge(String),
}

/// The webhook listener's routes.
pub fn router(ingest: Arc<Ingest>, max_body: usize) -> Router {
    Router::new()
        .route("/webhook/{source}", post(receive))
        .route("/healthz", get(healthz))
        .route(
            "/readyz",
            get(|State(ingest): State<Arc<Ingest>>| readyz(ingest.store.clone())),
        )
        .fallback(|| async { IngestError::NotFound })
        .method_not_allowed_fallback(|| async { IngestError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(ingest)
}

/// Liveness: the process answers.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: the store answers too (a load balancer takes an instance whose database it cannot
/// reach out of rotation).
pub async fn readyz(store: Arc<dyn Store>) -> Response {
    match store.ping().await {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn receive(
    State(ingest): State<Arc<Ingest>>,
    source: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, IngestError> {
    let Path(source) = source.map_err(|_| IngestError::NotFound)?;
    let body = body.map_err(|e| IngestError::Unreadable(e.body_text(), e.status()))?;
    Ok(match ingest.accept(&source, &headers, &body).await? {
        Outcome::Stored(appended) => Json(Receipt {
            status: "received",
            event_id: appended.id,
            duplicate: appended.duplicate,
        })
        .into_response(),
        Outcome::Challenge(challenge) => Json(json!({ "challenge": challenge })).into_response(),
    })
}

impl Ingest {
    /// Verifies, normalizes and durably stores one delivery.
    pub async fn accept(
        &self,
        source: &str,
        request_headers: &HeaderMap,
        raw_body: &[u8],
    ) -> Result<Outcome, IngestError> {
        if !valid_source(source) {
            return Err(IngestError::BadSource(source.chars().take(80).collect()));
        }
        let configured = self.sources.get(source);
        let verified = match configured {
            None if self.require_signatures => {
                return Err(IngestError::UnknownSource(source.to_owned()));
            }
            Some(s) if !s.secrets.is_empty() => {
                let now = Utc::now();
                let delivery = Delivery {
                    headers: request_headers,
                    body: raw_body,
                    now: now.timestamp(),
                };
                if let Err(why) = s.scheme.verify(&s.secrets, &delivery) {
                    self.record(source, request_headers, raw_body, &why, now)
                        .await?;
                    return Err(IngestError::Rejected(why));
                }
                true
            }
            _ => false,
        };
        let content_type = request_headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let provider = configured.map(|s| s.provider);
        let want_type = provider.is_some() || normalize::header_type(request_headers).is_none();
        let decoded = body::decode(content_type.as_deref(), raw_body, want_type)?;
        let view = normalize::Body {
            encoding: decoded.encoding,
            json: decoded.payload.get(),
        };
        if provider == Some(Provider::Slack)
            && let Some(challenge) = normalize::slack_challenge(&view)
        {
            return Ok(Outcome::Challenge(challenge));
        }
        let n = normalize::normalize(
            provider,
            request_headers,
            decoded.body_type.as_deref(),
            &view,
        );
        let derived = derive(provider, &n.event_type, &view, &self.sources);
        if n.delivery_id
            .as_ref()
            .is_some_and(|d| d.len() > normalize::MAX_ID_LEN)
        {
            return Err(IngestError::DeliveryIdTooLong);
        }
        let event = NewEvent {
            source: source.to_owned(),
            event_type: n.event_type,
            delivery_id: n.delivery_id,
            received_at: Utc::now(),
            headers: headers::safe_headers(request_headers),
            content_type,
            payload_encoding: decoded.encoding,
            payload: decoded.payload,
            verified: Some(verified),
            subject: n.subject,
            occurred_at: n.occurred_at,
            summary: n.summary,
            derived,
        };
        Ok(Outcome::Stored(self.store.append(event).await?))
    }

    async fn record(
        &self,
        source: &str,
        request_headers: &HeaderMap,
        raw_body: &[u8],
        why: &Rejection,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use sha2::Digest;
        tracing::warn!(source, reason = why.class(), detail = %why, "webhook refused");
        let rejected = Rejected {
            source: source.to_owned(),
            received_at: format_time(now),
            reason: why.class().to_owned(),
            detail: why.to_string(),
            headers: headers::safe_headers(request_headers),
            body_size: raw_body.len() as u64,
            body_sha256: hex::encode(sha2::Sha256::digest(raw_body)),
        };
        self.store.record_rejection(rejected).await
    }
}

/// The rows a provider's event implies: Stripe actions, GitHub pushes, deployments.
fn derive(
    provider: Option<Provider>,
    event_type: &str,
    body: &normalize::Body<'_>,
    sources: &Sources,
) -> Vec<Derived> {
    use crate::views::deploy;
    match (provider, event_type) {
        (Some(Provider::Stripe), t) => {
            let action = sources.stripe_rules.action_for(t, &body.value());
            action.map(Derived::Action).into_iter().collect()
        }
        (Some(Provider::Github), t) => {
            let payload = body.value();
            let mut rows: Vec<Derived> = Vec::new();
            if t == "push" {
                rows.extend(deploy::pushes(&payload).into_iter().map(Derived::Push));
            }
            if matches!(t, "deployment" | "deployment_status") {
                rows.extend(deploy::github(t, &payload).map(Derived::Deployment));
            }
            let now = crate::event::format_time(Utc::now());
            rows.extend(crate::views::github::activity(t, &payload, &now).map(Derived::GitHub));
            rows
        }
        (Some(Provider::Vercel), t) => deploy::vercel(t, &body.value())
            .map(Derived::Deployment)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// 1 to 64 of `[a-z0-9_.-]`.
pub fn valid_source(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::valid_source;

    #[test]
    fn source_names() {
        for ok in ["github", "a", "my-app.prod_2", &"x".repeat(64)] {
            assert!(valid_source(ok), "{ok}");
        }
        for bad in ["", "GitHub", "a/b", "a b", "ü", "..%2f", &"x".repeat(65)] {
            assert!(!valid_source(bad), "{bad}");
        }
    }
}
