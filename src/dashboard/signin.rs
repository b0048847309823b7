//! How the dashboard signs in, as a public OAuth client using PKCE: at hookd's own authorization
//! server (`--mcp-authorization-server self`, the built-in client `hookd-dashboard`), or at the
//! identity provider (`--dashboard-client-id`, a client the operator registered there). `GET
//! /api/signin` tells the page where to go; the page's Content-Security-Policy lets it reach the
//! provider's token endpoint and nothing else.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::mcp::idp::Issuer;
use crate::oauth::Authority;

/// Where the dashboard signs in, if anywhere.
pub enum SignIn {
    /// Only with a pasted token (or none needed).
    Nowhere,
    Own(Arc<Authority>),
    Provider {
        issuer: Arc<Issuer>,
        client_id: String,
        /// hookd's MCP URL: the audience the dashboard asks the provider for (RFC 8707).
        resource: String,
    },
}

/// What `GET /api/signin` answers: everything the page needs for the authorization code flow.
#[derive(Serialize)]
struct Place {
    /// What the button says: "Sign in with {name}".
    name: String,
    /// hookd is the authorization server: the Access tab lists what it granted.
    own: bool,
    issuer: String,
    client_id: String,
    authorization_endpoint: String,
    token_endpoint: String,
    /// The dashboard's own address; the page offers sign-in only when it is served there.
    redirect_uri: String,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<String>,
    /// `consent` with `offline_access`: OpenID Connect grants a refresh token only then.
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<&'static str>,
}

const SCOPES: &str = "hookd:read hookd:write";

impl SignIn {
    pub fn new(
        authority: Option<Arc<Authority>>,
        issuer: Option<Arc<Issuer>>,
        client_id: Option<String>,
        resource: String,
    ) -> Self {
        match (authority, issuer, client_id) {
            (Some(a), _, _) => Self::Own(a),
            (None, Some(issuer), Some(client_id)) => Self::Provider {
                issuer,
                client_id,
                resource,
            },
            _ => Self::Nowhere,
        }
    }

    async fn place(&self) -> Result<Option<Place>, String> {
        Ok(Some(match self {
            Self::Nowhere => return Ok(None),
            Self::Own(a) => Place {
                name: "hookd".into(),
                own: true,
                issuer: a.issuer.clone(),
                client_id: crate::oauth::DASHBOARD.into(),
                authorization_endpoint: format!("{}/oauth/authorize", a.issuer),
                token_endpoint: format!("{}/oauth/token", a.issuer),
                redirect_uri: format!("{}/", a.issuer),
                scope: SCOPES.into(),
                resource: None,
                prompt: None,
            },
            Self::Provider {
                issuer,
                client_id,
                resource,
            } => {
                let at = issuer.endpoints().await?;
                let home = reqwest::Url::parse(resource).map_err(|e| e.to_string())?;
                Place {
                    own: false,
                    name: at
                        .authorization
                        .host_str()
                        .unwrap_or(issuer.name())
                        .to_owned(),
                    issuer: issuer.name().to_owned(),
                    client_id: client_id.clone(),
                    authorization_endpoint: at.authorization.to_string(),
                    token_endpoint: at.token.to_string(),
                    redirect_uri: format!("{}/", home.origin().ascii_serialization()),
                    scope: if at.offline_access {
                        format!("{SCOPES} offline_access")
                    } else {
                        SCOPES.into()
                    },
                    resource: Some(resource.clone()),
                    prompt: at.offline_access.then_some("consent"),
                }
            }
        }))
    }

    /// The origin the page must be allowed to `fetch` for tokens, beyond its own: the identity
    /// provider's token endpoint (hookd's own is the page's origin).
    pub async fn token_origin(&self) -> Option<String> {
        let Self::Provider { issuer, .. } = self else {
            return None;
        };
        let at = issuer.endpoints().await.ok()?;
        Some(at.token.origin().ascii_serialization()).filter(|o| o != "null")
    }
}

/// `GET /api/signin`: where the dashboard signs in; 404 when it cannot (a token is pasted
/// instead), 503 when the identity provider cannot be read now.
pub async fn describe(State(signin): State<Arc<SignIn>>) -> Response {
    match signin.place().await {
        Ok(Some(place)) => Json(place).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "this hookd has no sign-in for its dashboard: paste a token"})),
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"error": e}))).into_response(),
    }
}
