//! Who may use the MCP endpoint: a bearer token when one is configured (required when the MCP
//! address is not loopback), checked in constant time, answered as the MCP authorization spec
//! says (401 with `WWW-Authenticate: Bearer`). Host and Origin checks (DNS rebinding) are rmcp's,
//! configured in `mcp::router`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::ingest::verify::Secret;

/// Lets a request through only with `Authorization: Bearer <token>`.
pub async fn require_bearer(
    State(token): State<Arc<Secret>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(t) if bool::from(t.as_bytes().ct_eq(token.expose().as_bytes())) => {
            next.run(request).await
        }
        Some(_) => unauthorized(r#"Bearer realm="hookd", error="invalid_token""#),
        None => unauthorized(r#"Bearer realm="hookd""#),
    }
}

fn unauthorized(challenge: &'static str) -> Response {
    let body = axum::Json(serde_json::json!({
        "error": "unauthorized: send Authorization: Bearer <HOOKD_MCP_TOKEN>"
    }));
    let mut response = (StatusCode::UNAUTHORIZED, body).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static(challenge),
    );
    response
}
