//! hookd as its own OAuth 2.1 authorization server (`--mcp-authorization-server self`), for a
//! team without an identity provider: one operator, no user database. A client registers
//! (RFC 7591), sends the operator to the consent page, which asks for the operator's secret (the
//! MCP token) before it issues a code; the code, with its PKCE verifier (S256 only), buys an
//! access token (an hour) and a refresh token (30 days) that rotates on every use. Everything is
//! kept in the store as hashes (`store::oauth`), so instances on one database share it and a
//! restart keeps it.
//!
//! - `metadata.rs`: RFC 8414's document;
//! - `register.rs`: registration and the redirect URIs' checks;
//! - `clients.rs`: which client a request names;
//! - `metadata_document.rs`: clients known by the URL of their metadata document;
//! - `consent.rs`: the authorization endpoint and its page;
//! - `token.rs`: the token and revocation endpoints, and the access-token check.

mod clients;
pub use clients::DASHBOARD;
mod consent;
mod metadata;
mod metadata_document;
mod register;
mod token;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use crate::secret::Secret;
use crate::store::Store;

pub use token::{ACCESS_PREFIX, access_grant};

/// How long an authorization code lives.
pub const CODE_TTL: Duration = Duration::from_secs(60);
/// How long an access token lives.
pub const ACCESS_TTL: Duration = Duration::from_secs(3600);
/// How long a refresh token lives (each use gives a new one).
pub const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a registered client that never got a grant is kept.
pub const UNUSED_CLIENT_TTL: Duration = Duration::from_secs(24 * 3600);
/// The largest registration or form body read.
pub const MAX_BODY: usize = 16 * 1024;

/// The authorization server.
pub struct Authority {
    pub store: Arc<dyn Store>,
    /// This server's issuer identifier: the MCP listener's origin (`https://host`).
    pub issuer: String,
    /// The one resource it issues tokens for: hookd's MCP URL.
    pub resource: String,
    /// The operator's secret, asked on the consent page.
    pub operator: Secret,
    /// At most this many consent answers are judged at once; a wrong secret costs a second.
    pub judging: tokio::sync::Semaphore,
    /// Client metadata documents may be on private addresses (`--allow-private-callbacks`).
    pub allow_private: bool,
    /// Registrations: one a second, twenty at once ([`REGISTRATIONS`]).
    pub registrations: governor::DefaultDirectRateLimiter,
}

/// How fast clients may register (per second, and at once): a day of registrations that never
/// get a grant is at most about 86,000 rows before they are forgotten.
pub const REGISTRATIONS: (u32, u32) = (1, 20);

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("issuer", &self.issuer)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl Authority {
    pub fn new(
        store: Arc<dyn Store>,
        resource: String,
        operator: Secret,
        allow_private: bool,
    ) -> Self {
        let issuer = reqwest::Url::parse(&resource)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| resource.clone());
        Self {
            store,
            issuer,
            resource,
            operator,
            judging: tokio::sync::Semaphore::new(4),
            allow_private,
            registrations: governor::RateLimiter::direct(
                governor::Quota::per_second(
                    std::num::NonZeroU32::new(REGISTRATIONS.0).unwrap_or(std::num::NonZeroU32::MIN),
                )
                .allow_burst(
                    std::num::NonZeroU32::new(REGISTRATIONS.1).unwrap_or(std::num::NonZeroU32::MIN),
                ),
            ),
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Its routes, on the MCP listener.
    pub fn routes(self: Arc<Self>) -> Router {
        Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                get(metadata::document),
            )
            .route("/oauth/register", post(register::register))
            .route("/oauth/authorize", get(consent::page).post(consent::decide))
            .route("/oauth/token", post(token::token))
            .route("/oauth/revoke", post(token::revoke))
            .with_state(self)
    }
}

/// 128 random bits or more, URL-safe: codes, tokens, families, client ids.
pub fn random(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system provides randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A grant's id: 128 random bits in hex, so that it never starts with `-` (a command line would
/// take it for a flag).
pub fn grant_id() -> String {
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf).expect("the operating system provides randomness");
    hex::encode(buf)
}

/// `text/plain`-free JSON error of RFC 6749 §5.2, with no-store.
pub fn oauth_error(
    status: axum::http::StatusCode,
    error: &str,
    description: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = axum::Json(serde_json::json!({
        "error": error,
        "error_description": description,
    }));
    let mut response = (status, body).into_response();
    no_store(&mut response);
    response
}

pub fn no_store(response: &mut axum::response::Response) {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
}
