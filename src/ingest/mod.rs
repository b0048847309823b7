//! The webhook receiver: `POST /webhook/{source}` on the webhook listener.
//!
//! A delivery is read as raw bytes (bounded by `--max-body`), decoded by content type, given a
//! type and delivery id, and appended to the store. The answer is sent only after the store says
//! the event is committed, so a 200 always means "on disk".

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

use crate::event::{Appended, NewEvent};
use crate::store::{Store, StoreError};

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
    #[error("storage unavailable, the event was not stored: {0}")]
    Store(#[from] StoreError),
}

impl IngestError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound | Self::BadSource(_) => StatusCode::NOT_FOUND,
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
        (
            status,
            Json(json!({"status": "error", "error": self.to_string()})),
        )
            .into_response()
    }
}

/// What a sender gets back for a stored (or already stored) delivery.
#[derive(Debug, Serialize)]
pub struct Receipt {
    pub status: &'static str,
    pub event_id: i64,
    pub duplicate: bool,
}

/// The webhook listener's routes.
pub fn router(store: Arc<dyn Store>, max_body: usize) -> Router {
    Router::new()
        .route("/webhook/{source}", post(receive))
        .route("/healthz", get(healthz))
        .fallback(|| async { IngestError::NotFound })
        .method_not_allowed_fallback(|| async { IngestError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(store)
}

pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn receive(
    State(store): State<Arc<dyn Store>>,
    source: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Receipt>, IngestError> {
    let Path(source) = source.map_err(|_| IngestError::NotFound)?;
    let body = body.map_err(|e| IngestError::Unreadable(e.body_text(), e.status()))?;
    let appended = accept(store.as_ref(), &source, &headers, &body).await?;
    Ok(Json(Receipt {
        status: "received",
        event_id: appended.id,
        duplicate: appended.duplicate,
    }))
}

/// Validates, normalizes and durably stores one delivery.
pub async fn accept(
    store: &dyn Store,
    source: &str,
    request_headers: &HeaderMap,
    raw_body: &[u8],
) -> Result<Appended, IngestError> {
    if !valid_source(source) {
        return Err(IngestError::BadSource(source.chars().take(80).collect()));
    }
    let content_type = request_headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let header_type = normalize::header_type(request_headers);
    let decoded = body::decode(content_type.as_deref(), raw_body, header_type.is_none())?;
    let delivery_id = normalize::delivery_id(request_headers);
    if delivery_id.is_some_and(|d| d.len() > normalize::MAX_ID_LEN) {
        return Err(IngestError::DeliveryIdTooLong);
    }
    let event = NewEvent {
        source: source.to_owned(),
        event_type: normalize::event_type(request_headers, decoded.body_type.as_deref()),
        delivery_id: delivery_id.map(str::to_owned),
        received_at: Utc::now(),
        headers: headers::safe_headers(request_headers),
        content_type,
        payload_encoding: decoded.encoding,
        payload: decoded.payload,
        verified: None,
        subject: None,
        occurred_at: None,
        summary: None,
    };
    Ok(store.append(event).await?)
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
