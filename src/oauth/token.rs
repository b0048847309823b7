//! The token endpoint (a code with its PKCE verifier, or a refresh token, for a new pair), the
//! revocation endpoint (RFC 7009), and the check of an access token this server issued.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ACCESS_TTL, Authority, REFRESH_TTL, no_store, oauth_error, random};
use crate::mcp::scope::Grant;
use crate::store::oauth::{OauthGrant, OauthToken, Rotation, TokenKind, hash};

/// Access tokens this server issues start so, which tells them from other credentials at once.
pub const ACCESS_PREFIX: &str = "hookd_at_";
const REFRESH_PREFIX: &str = "hookd_rt_";

fn invalid_grant(why: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
}

pub async fn token(State(a): State<Arc<Authority>>, body: Bytes) -> Response {
    if body.len() > super::MAX_BODY {
        return oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "too long");
    }
    let f: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let resource = get("resource");
    if !resource.is_empty() && resource != a.resource {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "this server issues tokens only for its MCP URL",
        );
    }
    match get("grant_type") {
        "authorization_code" => {
            by_code(
                &a,
                get("code"),
                get("client_id"),
                get("redirect_uri"),
                get("code_verifier"),
            )
            .await
        }
        "refresh_token" => by_refresh(&a, get("refresh_token"), get("client_id")).await,
        other => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("grant_type {other:?} is not offered (authorization_code, refresh_token)"),
        ),
    }
}

async fn by_code(
    a: &Authority,
    code: &str,
    client_id: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Response {
    if code.is_empty() || code.len() > 256 {
        return invalid_grant("no code");
    }
    let (code, grant) = match a.store.take_code(hash(code)).await {
        Ok(Some(found)) => found,
        Ok(None) => return invalid_grant("the code is unknown, used or expired"),
        Err(e) => return unavailable(&e),
    };
    // The code is spent from here on, whatever follows: a wrong verifier cannot be retried.
    if grant.client_id != client_id {
        return invalid_grant("the code was issued to another client");
    }
    if code.redirect_uri != redirect_uri {
        return invalid_grant("redirect_uri differs from the authorization request's");
    }
    let digest = Sha256::digest(verifier.as_bytes());
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    let sound = (43..=128).contains(&verifier.len());
    if !sound || !bool::from(expected.as_bytes().ct_eq(code.challenge.as_bytes())) {
        return invalid_grant("the code_verifier does not match the code_challenge (PKCE S256)");
    }
    let (pair, tokens) = new_pair(&grant.family);
    match a.store.issue_tokens(tokens).await {
        Ok(true) => issued(&grant, pair),
        Ok(false) => invalid_grant("the grant was revoked"),
        Err(e) => unavailable(&e),
    }
}

async fn by_refresh(a: &Authority, refresh: &str, client_id: &str) -> Response {
    if refresh.is_empty() || refresh.len() > 256 {
        return invalid_grant("no refresh_token");
    }
    // The store files the new pair under the spent token's family, in the same transaction.
    let (pair, tokens) = new_pair("");
    match a.store.rotate(hash(refresh), tokens).await {
        Ok(Rotation::Rotated(grant)) if grant.client_id != client_id => {
            let _ = a.store.revoke_grant(grant.family).await;
            invalid_grant("the refresh token was issued to another client; its grant is revoked")
        }
        Ok(Rotation::Rotated(grant)) => issued(&grant, pair),
        Ok(Rotation::Reused) => {
            tracing::warn!("a spent refresh token was presented again: its grant is revoked");
            invalid_grant("the refresh token was already used; the grant is revoked")
        }
        Ok(Rotation::Refused) => invalid_grant("the refresh token is unknown, expired or revoked"),
        Err(e) => unavailable(&e),
    }
}

/// `POST /oauth/revoke` (RFC 7009): always 200, known token or not.
pub async fn revoke(State(a): State<Arc<Authority>>, body: Bytes) -> Response {
    if body.len() > super::MAX_BODY {
        return oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "too long");
    }
    let f: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if let Some(token) = f.get("token").filter(|t| !t.is_empty() && t.len() <= 256)
        && let Err(e) = a.store.revoke_token(hash(token)).await
    {
        return unavailable(&e);
    }
    let mut response = StatusCode::OK.into_response();
    no_store(&mut response);
    response
}

/// The grant of an access token this server issued, if it stands.
pub async fn access_grant(a: &Authority, token: &str) -> Option<Grant> {
    if !token.starts_with(ACCESS_PREFIX) || token.len() > 256 {
        return None;
    }
    let grant = a.store.access_grant(hash(token)).await.ok()??;
    // Issued for this hookd (all instances of one deployment share its public URL).
    if grant.resource != a.resource {
        return None;
    }
    let scopes: Vec<String> = grant.scope.split(' ').map(str::to_owned).collect();
    Grant::from_scopes(format!("hookd-client#{}", grant.client_id), &scopes)
}

struct Pair {
    access: String,
    refresh: String,
}

fn new_pair(family: &str) -> (Pair, Vec<OauthToken>) {
    let now = Utc::now();
    let access = format!("{ACCESS_PREFIX}{}", random(32));
    let refresh = format!("{REFRESH_PREFIX}{}", random(32));
    let tokens = vec![
        OauthToken {
            hash: hash(&access),
            family: family.to_owned(),
            kind: TokenKind::Access,
            expires_at: now + chrono::TimeDelta::from_std(ACCESS_TTL).unwrap_or_default(),
        },
        OauthToken {
            hash: hash(&refresh),
            family: family.to_owned(),
            kind: TokenKind::Refresh,
            expires_at: now + chrono::TimeDelta::from_std(REFRESH_TTL).unwrap_or_default(),
        },
    ];
    (Pair { access, refresh }, tokens)
}

fn issued(grant: &OauthGrant, pair: Pair) -> Response {
    let mut response = Json(serde_json::json!({
        "access_token": pair.access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL.as_secs(),
        "refresh_token": pair.refresh,
        "scope": grant.scope,
    }))
    .into_response();
    no_store(&mut response);
    response
}

fn unavailable(e: &crate::store::StoreError) -> Response {
    tracing::error!(error = %e, "the authorization server cannot reach the store");
    oauth_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the store cannot be reached now; try again",
    )
}
