//! The webhook receiver: `POST /webhook/{source}` on the webhook listener.
//!
//! A delivery is read as raw bytes (bounded by `--max-body`), verified with its source's scheme
//! on those bytes (before anything is parsed, and before dedupe, so a forged request cannot claim
//! a delivery id), decoded by content type, normalized, and appended to the store. The answer is
//! sent only after the store says the event is committed, so a 200 always means "on disk".

pub mod body;
mod enrol;
pub mod headers;
mod open_sources;
pub use open_sources::OpenSources;
pub mod read;
pub mod redis_bridge;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use crate::event::{Appended, NewEvent, Rejected};
use crate::providers::{self, Incoming, generic};
use crate::rate;
use crate::signature::{Delivery, Rejection};
use crate::source_name::SourceName;
use crate::sources::Sources;
use crate::store::search_text;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unknown path; webhooks are POSTed to /webhook/{{source}}")]
    NotFound,
    #[error("method not allowed; webhooks are POSTed to /webhook/{{source}}")]
    MethodNotAllowed,
    #[error("{0}")]
    BadSource(#[from] crate::source_name::InvalidSourceName),
    #[error("{0}")]
    BadBody(#[from] body::BodyError),
    #[error("{0}")]
    Read(#[from] read::ReadError),
    #[error("delivery id header is longer than {} characters", generic::MAX_ID_LEN)]
    DeliveryIdTooLong,
    #[error("signature verification failed: {0}")]
    Rejected(Rejection),
    #[error("{0}")]
    Handshake(String),
    #[error(
        "unknown source {0:?}: signatures are required and no source of that name is configured"
    )]
    UnknownSource(String),
    #[error(
        "source {name:?} is not configured and hookd already accepts {max} sources that are not \
         (--max-open-sources): configure it in hookd.toml, or raise the limit"
    )]
    TooManyOpenSources { name: String, max: usize },
    #[error(
        "source {name:?} is over its rate limit ({} per second, burst {}); retry in {} s",
        .limited.limit.per_second, .limited.limit.burst, .limited.retry_after_secs
    )]
    RateLimited {
        name: String,
        limited: rate::Limited,
    },
    #[error("storage unavailable, the event was not stored: {0}")]
    Store(#[from] StoreError),
}

impl IngestError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound | Self::BadSource(_) | Self::UnknownSource(_) => StatusCode::NOT_FOUND,
            Self::Rejected(_) => StatusCode::UNAUTHORIZED,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadBody(_) | Self::DeliveryIdTooLong | Self::Handshake(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::Read(e) => e.status(),
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::TooManyOpenSources { .. } => StatusCode::FORBIDDEN,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Seconds a client should wait before retrying, for answers that say "not now".
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Read(read::ReadError::Busy) => Some(1),
            Self::RateLimited { limited, .. } => Some(limited.retry_after_secs),
            Self::Store(_) => Some(5),
            _ => None,
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
        match &self {
            Self::Rejected(why) => body["reason"] = why.class().into(),
            Self::RateLimited { .. } => body["reason"] = "rate_limited".into(),
            Self::TooManyOpenSources { .. } => body["reason"] = "too_many_open_sources".into(),
            _ => {}
        }
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        if matches!(self, Self::Read(read::ReadError::TimedOut(_))) {
            // The rest of a stalled body may still come: the connection cannot be reused.
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

/// What a sender gets back for a stored (or already stored) delivery.
#[derive(Debug, Serialize)]
pub struct Receipt {
    pub status: &'static str,
    pub event_id: i64,
    pub duplicate: bool,
    /// Whether the signature was checked (false: the source has no secret here).
    pub verified: bool,
}

/// What ingest needs: where events go, how each source is verified, and whether sources that
/// are not configured are accepted.
pub struct Ingest {
    pub store: Arc<dyn Store>,
    pub sources: Arc<Sources>,
    /// Refuse deliveries to sources that are not configured.
    pub require_signatures: bool,
    /// How bodies are read: size, time, shared memory.
    pub bodies: read::BodyLimits,
    /// Deliveries per second, per source.
    pub rates: rate::RateLimits,
    /// Where each append's outcome is reported, for `/readyz`.
    pub writes: Arc<crate::health::WriteHealth>,
    /// The sources accepted without being configured, capped.
    pub open: open_sources::OpenSources,
    /// `--webhook-public-url`: the listener's URL as providers call it.
    pub public_url: Option<String>,
    /// The secrets sources learned in a handshake (`hookd enrol`), as last read from the store.
    pub learned: enrol::Learned,
}

/// What a delivery turned into.
#[derive(Debug)]
pub enum Outcome {
    /// Stored (or found stored), and whether its signature was checked.
    Stored(Appended, bool),
    /// A handshake (a URL verification, Slack's `url_verification`): answered, not stored.
    Answer(providers::Answer),
}

/// The webhook listener's routes.
pub fn router(ingest: Arc<Ingest>) -> Router {
    Router::new()
        .route("/webhook/{source}", post(receive).get(verify_url))
        .route("/.well-known/mcp-webhook-receiver.json", get(receivers))
        .fallback(|| async { IngestError::NotFound })
        .method_not_allowed_fallback(|| async { IngestError::MethodNotAllowed })
        .with_state(ingest)
}

/// The paths that accept MCP Events deliveries (sources of provider `mcp-events`), for servers
/// that verify a callback URL by this document instead of a challenge. 404 when there are none.
async fn receivers(State(ingest): State<Arc<Ingest>>) -> Response {
    let paths: Vec<String> = ingest
        .sources
        .iter()
        .filter(|s| s.provider.receives_mcp_events())
        .map(|s| format!("/webhook/{}", s.name))
        .collect();
    if paths.is_empty() {
        return IngestError::NotFound.into_response();
    }
    Json(json!({ "receivers": paths })).into_response()
}

/// `GET` (or `HEAD`) `/webhook/{source}`: a provider's URL verification (Dropbox's
/// `?challenge=`, Trello's HEAD), answered by the source's provider; 405 for a source whose
/// provider answers none, or that is not configured. Nothing is stored.
async fn verify_url(
    State(ingest): State<Arc<Ingest>>,
    Path(source): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(s) = ingest.sources.get(&source) else {
        return IngestError::MethodNotAllowed.into_response();
    };
    let url = ingest.url(&uri, &headers);
    let delivery = Delivery {
        headers: &headers,
        body: b"",
        now: Utc::now().timestamp(),
        url: &url,
    };
    match s.provider.handshake(&method, &delivery, &s.secrets) {
        None => IngestError::MethodNotAllowed.into_response(),
        Some(Ok(answer)) => answered(answer),
        Some(Err(why)) => IngestError::Handshake(why).into_response(),
    }
}

/// A handshake's answer as the provider expects it.
fn answered(a: providers::Answer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    let mut response = (status, a.body).into_response();
    let h = response.headers_mut();
    if a.content_type.is_empty() {
        h.remove(header::CONTENT_TYPE);
    } else {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(a.content_type),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    for (name, value) in a.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    response
}

async fn receive(
    State(ingest): State<Arc<Ingest>>,
    source: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = std::time::Instant::now();
    let name = source.as_ref().map(|Path(s)| s.as_str()).unwrap_or("");
    let label = ingest.sources.metric_label(name);
    let url = ingest.url(&uri, &headers);
    let response = match handle(&ingest, source, label, &url, headers, body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    crate::telemetry::webhook(label, response.status().as_u16(), started.elapsed());
    response
}

async fn handle(
    ingest: &Ingest,
    source: Result<Path<String>, PathRejection>,
    label: &str,
    url: &str,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, IngestError> {
    let Path(source) = source.map_err(|_| IngestError::NotFound)?;
    let source = SourceName::parse(&source)?;
    // Before the body is read or verified: a flood beyond the limit costs hookd next to nothing.
    if let Err(limited) = ingest.rates.check(source.as_str()) {
        tracing::debug!(%source, "rate limited");
        crate::telemetry::rate_limited(label);
        return Err(IngestError::RateLimited {
            name: source.to_string(),
            limited,
        });
    }
    // Held until the answer: its bytes count against the shared budget while queued for the store.
    let body = read::read(body, &headers, &ingest.bodies).await?;
    Ok(
        match ingest.accept(&source, url, &headers, &body.bytes).await? {
            Outcome::Stored(appended, verified) => Json(Receipt {
                status: "received",
                event_id: appended.id,
                duplicate: appended.duplicate,
                verified,
            })
            .into_response(),
            Outcome::Answer(answer) => answered(answer),
        },
    )
}

impl Ingest {
    /// The URL a request was sent to, as its sender called it: `--webhook-public-url` and the
    /// path, else `http://` and the request's `Host`.
    fn url(&self, uri: &Uri, headers: &HeaderMap) -> String {
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        match &self.public_url {
            Some(base) => format!("{base}{path}"),
            None => {
                let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
                format!("http://{}{path}", host.unwrap_or("localhost"))
            }
        }
    }

    /// Verifies, normalizes and durably stores one delivery sent to `url`, or answers the
    /// handshake it is.
    pub async fn accept(
        &self,
        source: &SourceName,
        url: &str,
        request_headers: &HeaderMap,
        raw_body: &[u8],
    ) -> Result<Outcome, IngestError> {
        let source = source.as_str();
        let configured = self.sources.get(source);
        let delivery = Delivery {
            headers: request_headers,
            body: raw_body,
            now: Utc::now().timestamp(),
            url,
        };
        if let Some(s) = configured
            && let Some(header) = s.provider.enrols()
            && let Some(secret) = request_headers.get(header)
        {
            return self.enrol(source, header, secret).await;
        }
        if let Some(s) = configured
            && let Some(answer) = s.provider.handshake(&Method::POST, &delivery, &s.secrets)
        {
            return answer.map(Outcome::Answer).map_err(IngestError::Handshake);
        }
        let verified = match configured {
            None if self.require_signatures => {
                return Err(IngestError::UnknownSource(source.to_owned()));
            }
            None => {
                self.open.admit(source).await?;
                false
            }
            Some(s) if s.provider.enrols().is_some() => {
                if let Err(why) = self.verify_enrolled(s, &delivery).await? {
                    self.record(source, request_headers, raw_body, &why, None)
                        .await?;
                    return Err(IngestError::Rejected(why));
                }
                true
            }
            Some(s) if !s.secrets.is_empty() => {
                if let Err(why) = s.provider.verify(&s.secrets, &delivery) {
                    // Behind a proxy the URL signed is not the one hookd sees unless told.
                    let url = s.provider.signs_url().then_some(url);
                    self.record(source, request_headers, raw_body, &why, url)
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
        let decoded = body::decode(content_type.as_deref(), raw_body)?;
        let received_at = Utc::now();
        let incoming = Incoming {
            headers: request_headers,
            encoding: decoded.encoding,
            body: &decoded.tree,
            received_at,
            settings: &self.sources.settings,
        };
        let provider = configured.map(|s| s.provider.as_ref());
        if let Some(s) = configured
            && let Some(answer) = s.provider.challenge(&incoming, &s.secrets)
        {
            return Ok(Outcome::Answer(answer));
        }
        let n = providers::normalize(provider, &incoming);
        if n.delivery_id
            .as_ref()
            .is_some_and(|d| d.len() > generic::MAX_ID_LEN)
        {
            return Err(IngestError::DeliveryIdTooLong);
        }
        let search_words = Some(search_text::from_tree(decoded.encoding, &decoded.tree));
        let event = NewEvent {
            source: source.to_owned(),
            event_type: n.event_type,
            delivery_id: n.delivery_id,
            received_at,
            headers: headers::safe_headers(request_headers),
            content_type,
            payload_encoding: decoded.encoding,
            payload: decoded.payload,
            verified: Some(verified),
            // A sender chose both: bounded like every derived field.
            subject: n.subject.map(crate::derive::bounds::bound),
            occurred_at: n.occurred_at,
            summary: n.summary.map(crate::derive::bounds::bound),
            derived: crate::derive::bounds::bounded(n.derived),
            search_words,
        };
        let event_type = event.event_type.clone();
        let delivery_id = event.delivery_id.clone();
        let appended = self.store.append(event).await;
        self.writes.record(&appended);
        let appended = appended?;
        if appended.duplicate {
            crate::telemetry::duplicate(self.sources.metric_label(source));
        }
        tracing::info!(
            source,
            // The sender chose the type: logged escaped, so it cannot forge a line.
            r#type = %crate::printable::printable(&event_type),
            delivery_id = delivery_id.as_deref().unwrap_or("-"),
            event_id = appended.id,
            duplicate = appended.duplicate,
            "webhook stored"
        );
        Ok(Outcome::Stored(appended, verified))
    }

    async fn record(
        &self,
        source: &str,
        request_headers: &HeaderMap,
        raw_body: &[u8],
        why: &Rejection,
        signed_url: Option<&str>,
    ) -> Result<(), StoreError> {
        use sha2::Digest;
        let detail = match signed_url {
            // The URL is the sender's to choose: cut like every stored field.
            Some(url) => format!(
                "{why} (checked as sent to {}; behind a tunnel or proxy, set \
                 --webhook-public-url to the URL the provider calls)",
                crate::derive::bounds::clipped(url)
            ),
            None => why.to_string(),
        };
        tracing::warn!(source, reason = why.class(), %detail, "webhook refused");
        crate::telemetry::rejected(source, why.class());
        let rejected = Rejected {
            source: source.to_owned(),
            received_at: Utc::now(),
            reason: why.class().to_owned(),
            detail,
            headers: headers::safe_headers(request_headers),
            body_size: raw_body.len() as u64,
            body_sha256: hex::encode(sha2::Sha256::digest(raw_body)),
        };
        self.store.record_rejection(rejected).await
    }
}
