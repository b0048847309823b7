//! Dynamic client registration (RFC 7591) and what a client may be. Every client is public
//! (`token_endpoint_auth_method: none`): PKCE, not a secret, binds its code to it. A redirect URI
//! must be `https`, or `http` to a loopback address (a native app's listener, RFC 8252 §7.3); it
//! is matched exactly, character for character. A registration that never gets a grant is
//! forgotten after a day.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::{Authority, UNUSED_CLIENT_TTL, oauth_error, random};
use crate::store::oauth::OauthClient;

/// The most redirect URIs one client registers.
const MAX_REDIRECTS: usize = 10;
/// The longest redirect URI.
const MAX_REDIRECT: usize = 2048;
/// The longest client name kept (longer ones are cut).
const MAX_NAME: usize = 100;

#[derive(Deserialize)]
struct Registration {
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    response_types: Option<Vec<String>>,
}

pub async fn register(State(a): State<Arc<Authority>>, body: Bytes) -> Response {
    if a.registrations.check().is_err() {
        let mut response = oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            "too many registrations at once; try again in a second",
        );
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
        return response;
    }
    if body.len() > super::MAX_BODY {
        return oauth_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_client_metadata",
            "a registration is at most 16 KiB",
        );
    }
    let r: Registration = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client_metadata",
                &format!("not a registration: {e}"),
            );
        }
    };
    if let Err(why) = check_redirects(&r.redirect_uris) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_redirect_uri", &why);
    }
    let grant_types = r
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    if let Some(other) = grant_types
        .iter()
        .find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            &format!("grant type {other:?} is not offered (authorization_code, refresh_token)"),
        );
    }
    if r.response_types
        .as_ref()
        .is_some_and(|t| t.iter().any(|t| t != "code"))
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "only the response type \"code\" is offered",
        );
    }
    let name: String = r
        .client_name
        .unwrap_or_else(|| "an unnamed client".into())
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    let now = Utc::now();
    let id = format!("hookd-client-{}", random(16));
    let document = json!({
        "client_id": id,
        "client_id_issued_at": now.timestamp(),
        "client_name": name,
        "redirect_uris": r.redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    });
    let client = OauthClient {
        id,
        name,
        redirect_uris: json!(r.redirect_uris).to_string(),
        metadata: document.to_string(),
        created_at: now,
        expires_at: Some(now + UNUSED_CLIENT_TTL),
    };
    if let Err(e) = a.store.save_client(client).await {
        tracing::error!(error = %e, "cannot store a client registration");
        return oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the store cannot take the registration now",
        );
    }
    (StatusCode::CREATED, Json(document)).into_response()
}

/// A client's redirect URIs: 1 to 10, each `https` or loopback `http`, without a fragment.
pub fn check_redirects(uris: &[String]) -> Result<(), String> {
    if uris.is_empty() || uris.len() > MAX_REDIRECTS {
        return Err(format!("give 1 to {MAX_REDIRECTS} redirect_uris"));
    }
    for uri in uris {
        if uri.len() > MAX_REDIRECT {
            return Err(format!("a redirect URI is at most {MAX_REDIRECT} bytes"));
        }
        let url = reqwest::Url::parse(uri).map_err(|e| format!("{uri:?}: {e}"))?;
        if url.fragment().is_some() {
            return Err(format!("{uri:?} has a fragment"));
        }
        let host = url.host_str().unwrap_or_default();
        let loopback = matches!(host, "localhost" | "[::1]")
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(format!(
                    "{uri:?}: a redirect URI is https, or http to localhost or a loopback address"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_redirects;

    #[test]
    fn redirects_are_https_or_loopback_http() {
        let ok = |u: &str| check_redirects(&[u.to_owned()]).is_ok();
        assert!(ok("https://claude.ai/api/mcp/auth_callback"));
        assert!(ok("http://127.0.0.1:33418/callback"));
        assert!(ok("http://localhost:8080/cb"));
        assert!(ok("http://[::1]:9/cb"));
        assert!(!ok("http://example.com/cb"));
        assert!(!ok("http://10.0.0.1/cb"));
        assert!(!ok("javascript:alert(1)"));
        assert!(!ok("https://example.com/cb#frag"));
        assert!(check_redirects(&[]).is_err());
    }
}
