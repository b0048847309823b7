//! Who may use the MCP endpoint: a bearer token when one is configured (required when the MCP
//! address is not loopback), checked in constant time, answered as the MCP authorization spec
//! says (401 with `WWW-Authenticate: Bearer`). When an authorization server is configured, the
//! OAuth protected-resource metadata (RFC 9728) names it and the 401 points to that metadata.
//! Host and Origin checks (DNS rebinding) on `/mcp` are rmcp's, configured in `mcp::router`;
//! [`known_host`] is the same Host check for what hookd answers itself (the dashboard's API,
//! `/metrics`, a sessionless `server/discover`, the Server Card).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// Who an HTTP client is, for the limits held per credential and for webhook subscriptions:
/// the bearer-token holder, or `None` without a token.
pub fn principal(settings: &crate::config::Config) -> Option<String> {
    settings
        .mcp_token
        .as_ref()
        .map(|_| "bearer-token".to_owned())
}

/// Routes that answer only a `Host` the MCP listener serves (`--mcp-allowed-hosts` and loopback),
/// refusing any other with 403: a page that rebinds its own name to this machine reads nothing.
pub fn known_hosts_only(routes: axum::Router, settings: &crate::config::Config) -> axum::Router {
    let hosts = Arc::new(settings.mcp_hosts());
    routes.layer(axum::middleware::from_fn_with_state(
        hosts,
        refuse_unknown_host,
    ))
}

async fn refuse_unknown_host(
    State(hosts): State<Arc<Vec<String>>>,
    request: Request,
    next: Next,
) -> Response {
    if known_host(&hosts, request.headers()) {
        next.run(request).await
    } else {
        (StatusCode::FORBIDDEN, "unknown host").into_response()
    }
}

/// Whether the request's `Host` (port aside, any case) is one of `hosts`.
pub fn known_host(hosts: &[String], headers: &axum::http::HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(host_name)
        .unwrap_or_default();
    hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
}

/// `example.com:8765` → `example.com`; `[::1]:8765` → `::1`.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// What the bearer check needs: the token, and the metadata URL to point clients to (if any).
pub struct Guard {
    pub token: Secret,
    pub resource_metadata: Option<String>,
}

/// The protected-resource metadata document (RFC 9728 §2).
pub fn resource_metadata(resource: &str, authorization_server: &str) -> serde_json::Value {
    serde_json::json!({
        "resource": resource,
        "authorization_servers": [authorization_server],
        "bearer_methods_supported": ["header"],
        "resource_name": "hookd",
    })
}

/// The metadata URL for a resource URL: `/.well-known/oauth-protected-resource` + its path.
pub fn metadata_url(resource: &reqwest::Url) -> String {
    let mut url = resource.clone();
    let path = resource.path().trim_end_matches('/');
    url.set_path(&format!("/.well-known/oauth-protected-resource{path}"));
    url.set_query(None);
    url.to_string()
}

/// `routes` behind the MCP token when one is set (what `/metrics` and the dashboard use).
pub fn guard(routes: axum::Router, settings: &crate::config::Config) -> axum::Router {
    match &settings.mcp_token {
        Some(token) => routes.layer(axum::middleware::from_fn_with_state(
            Arc::new(Guard {
                token: token.clone(),
                resource_metadata: None,
            }),
            require_bearer,
        )),
        None => routes,
    }
}

/// Lets a request through only with `Authorization: Bearer <token>`.
pub async fn require_bearer(
    State(guard): State<Arc<Guard>>,
    request: Request,
    next: Next,
) -> Response {
    let token = &guard.token;
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_credentials);
    match presented {
        Some(t) if bool::from(t.as_bytes().ct_eq(token.expose().as_bytes())) => {
            next.run(request).await
        }
        Some(_) => unauthorized(&guard, r#", error="invalid_token""#),
        None => unauthorized(&guard, ""),
    }
}

/// The credentials of a `Bearer` authorization; the scheme name is case-insensitive (RFC 7235).
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

fn unauthorized(guard: &Guard, error: &str) -> Response {
    let metadata = guard
        .resource_metadata
        .as_ref()
        .map(|url| format!(r#", resource_metadata="{url}""#))
        .unwrap_or_default();
    let challenge = format!(r#"Bearer realm="hookd"{error}{metadata}"#);
    let body = axum::Json(serde_json::json!({
        "error": "unauthorized: send Authorization: Bearer <HOOKD_MCP_TOKEN>"
    }));
    let mut response = (StatusCode::UNAUTHORIZED, body).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_str(&challenge)
            .unwrap_or_else(|_| header::HeaderValue::from_static("Bearer realm=\"hookd\"")),
    );
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_names_drop_the_port() {
        use super::host_name;
        assert_eq!(host_name("127.0.0.1:8765"), "127.0.0.1");
        assert_eq!(host_name("[::1]:8765"), "::1");
        assert_eq!(host_name("localhost"), "localhost");
    }

    use super::bearer_credentials;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for v in ["Bearer t0k", "bearer t0k", "BEARER  t0k ", " BeArEr t0k"] {
            assert_eq!(bearer_credentials(v), Some("t0k"), "{v:?}");
        }
        for v in ["Basic t0k", "Bearert0k", "Bearer", ""] {
            assert_eq!(bearer_credentials(v), None, "{v:?}");
        }
    }
}
