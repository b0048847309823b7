//! The authorization server's metadata (RFC 8414), at `/.well-known/oauth-authorization-server`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::Authority;
use crate::mcp::scope;

pub async fn document(State(a): State<Arc<Authority>>) -> Json<Value> {
    Json(json!({
        "issuer": a.issuer,
        "authorization_endpoint": a.endpoint("/oauth/authorize"),
        "token_endpoint": a.endpoint("/oauth/token"),
        "registration_endpoint": a.endpoint("/oauth/register"),
        "revocation_endpoint": a.endpoint("/oauth/revoke"),
        "scopes_supported": scope::SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": true,
    }))
}
