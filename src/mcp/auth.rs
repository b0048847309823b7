//! Who may use the MCP endpoint: a bearer token when one is configured (required when the MCP
//! address is not loopback), checked in constant time, answered as the MCP authorization spec
//! says (401 with `WWW-Authenticate: Bearer`). When an authorization server is configured, the
//! OAuth protected-resource metadata (RFC 9728) names it and the 401 points to that metadata.
//! Host and Origin checks (DNS rebinding) on `/mcp` are rmcp's, configured in `mcp::router`;
//! [`known_host`] is the same Host check for what hookd answers itself (the dashboard's API,
//! `/metrics`, a sessionless `server/discover`, the Server Card).

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::scope::{self, Grant};
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

/// What the bearer check needs: the static token and the identity provider (either may be
/// absent, not both), the metadata URL to point clients to (if any), and what needs `hookd:write`.
pub struct Guard {
    pub credentials: Credentials,
    pub resource_metadata: Option<String>,
    pub writes: Writes,
}

/// The credentials the MCP listener accepts: the static token, an identity provider's tokens,
/// and the tokens hookd issues as its own authorization server.
#[derive(Clone, Default)]
pub struct Credentials {
    pub token: Option<Secret>,
    pub issuer: Option<Arc<super::idp::Issuer>>,
    pub authority: Option<Arc<crate::oauth::Authority>>,
}

impl Credentials {
    /// What `settings` configure; hookd's own authorization server keeps its grants in `store`.
    pub fn from_config(
        settings: &crate::config::Config,
        store: &Arc<dyn crate::store::Store>,
    ) -> Self {
        let authority = match (&settings.mcp_token, settings.own_authorization_server()) {
            (Some(operator), true) => Some(Arc::new(crate::oauth::Authority::new(
                store.clone(),
                settings.mcp_resource(),
                operator.clone(),
                settings.allow_private_callbacks,
            ))),
            _ => None,
        };
        Self {
            token: settings.mcp_token.clone(),
            issuer: settings.identity_provider(),
            authority,
        }
    }

    /// Whether a request must present one.
    pub fn required(&self) -> bool {
        self.token.is_some() || self.issuer.is_some() || self.authority.is_some()
    }

    /// Whether OAuth is on (an identity provider or hookd's own server).
    pub fn oauth(&self) -> bool {
        self.issuer.is_some() || self.authority.is_some()
    }

    /// The authorization server clients are sent to, for the protected-resource metadata.
    pub fn authorization_server(&self) -> Option<String> {
        match (&self.authority, &self.issuer) {
            (Some(a), _) => Some(a.issuer.clone()),
            (None, Some(i)) => Some(i.name().to_owned()),
            (None, None) => None,
        }
    }
}

/// What a grant without `hookd:write` may not do behind a guard.
pub enum Writes {
    /// Call these MCP tools (those not annotated read-only).
    Tools(Arc<HashSet<String>>),
    /// Send a POST (the dashboard's replay).
    Posts,
}

/// The protected-resource metadata document (RFC 9728 §2).
pub fn resource_metadata(resource: &str, authorization_server: &str) -> serde_json::Value {
    serde_json::json!({
        "resource": resource,
        "authorization_servers": [authorization_server],
        "scopes_supported": scope::SUPPORTED,
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

/// `routes` behind the MCP credentials when any are required (what `/metrics` and the dashboard
/// use): the token, or a token of the identity provider; a POST needs `hookd:write`.
pub fn guard(routes: axum::Router, credentials: &Credentials) -> axum::Router {
    if !credentials.required() {
        return routes;
    }
    routes.layer(axum::middleware::from_fn_with_state(
        Arc::new(Guard {
            credentials: credentials.clone(),
            resource_metadata: None,
            writes: Writes::Posts,
        }),
        require_bearer,
    ))
}

/// Lets a request through only with `Authorization: Bearer <credential>` that the guard
/// accepts, with the [`Grant`] it holds in the request's extensions; a grant without
/// `hookd:write` that asks for a write is refused with 403 `insufficient_scope`.
pub async fn require_bearer(
    State(guard): State<Arc<Guard>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_credentials);
    let Some(presented) = presented else {
        return unauthorized(&guard, None);
    };
    let credentials = &guard.credentials;
    let is_token = credentials
        .token
        .as_ref()
        .is_some_and(|t| bool::from(presented.as_bytes().ct_eq(t.expose().as_bytes())));
    let own = match &credentials.authority {
        Some(a) if !is_token && presented.starts_with(crate::oauth::ACCESS_PREFIX) => {
            match crate::oauth::access_grant(a, presented).await {
                Some(grant) => Some(grant),
                None => {
                    return unauthorized(&guard, Some("the token is unknown, expired or revoked"));
                }
            }
        }
        _ => None,
    };
    let grant = match (own, &credentials.issuer, is_token) {
        (Some(grant), _, _) => grant,
        (None, _, true) => Grant::full("bearer-token"),
        (None, Some(issuer), false) => match issuer.check(presented).await {
            Ok(grant) => grant,
            Err(super::idp::Refusal::NoScope) => {
                return insufficient_scope(&guard, scope::READ, "this token holds no hookd scope");
            }
            Err(refusal) => return unauthorized(&guard, Some(&refusal.to_string())),
        },
        (None, None, false) => return unauthorized(&guard, Some("the token is not valid")),
    };
    let (mut parts, body) = request.into_parts();
    let body = if grant.write {
        body
    } else {
        match &guard.writes {
            Writes::Posts if parts.method == Method::POST => {
                return insufficient_scope(&guard, scope::WRITE, "this needs hookd:write");
            }
            Writes::Posts => body,
            Writes::Tools(tools) if parts.method == Method::POST => {
                // Already bounded by the MCP body limit in front of this layer.
                let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                    return StatusCode::BAD_REQUEST.into_response();
                };
                if let Some(tool) = scope::write_tool_called(&bytes, tools) {
                    let why = format!("{tool} changes things: it needs hookd:write");
                    return insufficient_scope(&guard, scope::WRITE, &why);
                }
                axum::body::Body::from(bytes)
            }
            Writes::Tools(_) => body,
        }
    };
    parts.extensions.insert(grant);
    next.run(Request::from_parts(parts, body)).await
}

/// The credentials of a `Bearer` authorization; the scheme name is case-insensitive (RFC 7235).
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

/// 401, with the challenge a client needs to get a token: the metadata and the scopes
/// (RFC 9728 §5.1, RFC 6750 §3).
fn unauthorized(guard: &Guard, error: Option<&str>) -> Response {
    let error = error
        .map(|e| {
            format!(
                r#", error="invalid_token", error_description="{}""#,
                quoted(e)
            )
        })
        .unwrap_or_default();
    let challenge = format!(
        r#"Bearer realm="hookd"{error}{}"#,
        oauth_parameters(guard, &scope::SUPPORTED.join(" "))
    );
    let message = if guard.credentials.oauth() {
        "unauthorized: send Authorization: Bearer <an access token of the identity provider, or HOOKD_MCP_TOKEN>"
    } else {
        "unauthorized: send Authorization: Bearer <HOOKD_MCP_TOKEN>"
    };
    challenged(StatusCode::UNAUTHORIZED, &challenge, message)
}

/// 403 for a credential that lacks `needed` (the MCP specification's step-up).
fn insufficient_scope(guard: &Guard, needed: &str, why: &str) -> Response {
    let challenge = format!(
        r#"Bearer realm="hookd", error="insufficient_scope", error_description="{}"{}"#,
        quoted(why),
        oauth_parameters(guard, needed)
    );
    challenged(
        StatusCode::FORBIDDEN,
        &challenge,
        &format!("forbidden: {why}"),
    )
}

/// `, scope="…", resource_metadata="…"` when OAuth is on; nothing with the static token alone.
fn oauth_parameters(guard: &Guard, scope: &str) -> String {
    let mut out = String::new();
    if guard.credentials.oauth() || guard.resource_metadata.is_some() {
        out.push_str(&format!(r#", scope="{scope}""#));
    }
    if let Some(url) = &guard.resource_metadata {
        out.push_str(&format!(r#", resource_metadata="{url}""#));
    }
    out
}

/// A quoted-string's content: no quote, backslash or control character.
fn quoted(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
        .collect()
}

fn challenged(status: StatusCode, challenge: &str, message: &str) -> Response {
    let body = axum::Json(serde_json::json!({ "error": message }));
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_str(challenge)
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
