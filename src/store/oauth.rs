//! What hookd keeps as its own OAuth authorization server: the clients that registered, the
//! grants the operator consented to, single-use authorization codes, and access and refresh
//! tokens. Codes and tokens are kept only as their SHA-256 ([`hash`]): the store never holds one
//! that works, so a copy of the database grants nothing. In the store, every instance on one
//! PostgreSQL database honours what another issued, and a restart keeps them.
//!
//! A grant is a token family: the refresh token rotates on every use, and presenting one that was
//! already used (a stolen copy, or the thief's after the client's) revokes the whole family
//! (OAuth 2.1 §4.3.1, refresh token reuse detection).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::StoreError;

/// A client hookd knows: registered (RFC 7591) or read from its client ID metadata document.
#[derive(Debug, Clone, PartialEq)]
pub struct OauthClient {
    pub id: String,
    /// Shown on the consent page and in the list of grants.
    pub name: String,
    /// Exact `redirect_uri` values it may use (JSON array text).
    pub redirect_uris: String,
    /// What it registered or published, as JSON text.
    pub metadata: String,
    pub created_at: DateTime<Utc>,
    /// A metadata document's copy is read again after this; a registration never expires.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What the operator consented to: one client, scopes and resource; a token family.
#[derive(Debug, Clone, PartialEq)]
pub struct OauthGrant {
    pub family: String,
    pub client_id: String,
    /// Space-separated.
    pub scope: String,
    pub resource: String,
    pub created_at: DateTime<Utc>,
}

/// A single-use authorization code, by its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct OauthCode {
    pub hash: String,
    pub family: String,
    pub redirect_uri: String,
    /// The PKCE S256 challenge the token request must answer.
    pub challenge: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// An issued token, by its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct OauthToken {
    pub hash: String,
    pub family: String,
    pub kind: TokenKind,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq)]
pub enum Rotation {
    /// It was current: the new tokens are issued and it is spent.
    Rotated(OauthGrant),
    /// It had been used already: its whole family is revoked now.
    Reused,
    /// Unknown, expired, or its family revoked.
    Refused,
}

/// `next`, filed under `family` (a rotation's new tokens go to the spent token's family).
pub fn in_family(next: Vec<OauthToken>, family: &str) -> Vec<OauthToken> {
    next.into_iter()
        .map(|t| OauthToken {
            family: family.to_owned(),
            ..t
        })
        .collect()
}

/// The SHA-256 of a code or token, as stored (hex).
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[async_trait]
pub trait OauthStore {
    /// Stores a client, replacing one with the same id (a metadata document read again).
    async fn save_client(&self, client: OauthClient) -> Result<(), StoreError>;

    /// A client by id; a metadata document's copy past its `expires_at` is still returned (the
    /// caller reads the document again).
    async fn client(&self, id: String) -> Result<Option<OauthClient>, StoreError>;

    /// Stores a consented grant and its authorization code, together.
    async fn grant_with_code(&self, grant: OauthGrant, code: OauthCode) -> Result<(), StoreError>;

    /// Takes a code: it is deleted as it is read, so only one request ever gets it; `None` when
    /// unknown, taken before, expired, or its grant revoked.
    async fn take_code(&self, hash: String) -> Result<Option<(OauthCode, OauthGrant)>, StoreError>;

    /// Issues tokens of a family: `false` (and nothing issued) when the family is revoked.
    async fn issue_tokens(&self, tokens: Vec<OauthToken>) -> Result<bool, StoreError>;

    /// The grant of an access token that has not expired and whose family stands.
    async fn access_grant(&self, hash: String) -> Result<Option<OauthGrant>, StoreError>;

    /// Spends a refresh token and issues `next` in its place, atomically (see [`Rotation`]);
    /// `next` is filed under the spent token's family, whatever family it names.
    async fn rotate(
        &self,
        refresh_hash: String,
        next: Vec<OauthToken>,
    ) -> Result<Rotation, StoreError>;

    /// Revokes a token (RFC 7009): a refresh token takes its family with it, an access token
    /// only itself. `false` when unknown.
    async fn revoke_token(&self, hash: String) -> Result<bool, StoreError>;

    /// Every grant that stands, newest first, with its client.
    async fn grants(&self) -> Result<Vec<(OauthGrant, Option<OauthClient>)>, StoreError>;

    /// Revokes a grant and every token of it; `false` when unknown or revoked already.
    async fn revoke_grant(&self, family: String) -> Result<bool, StoreError>;

    /// Deletes expired codes and tokens, and lapsed clients no standing grant names; how many
    /// rows went.
    async fn forget_expired_oauth(&self) -> Result<u64, StoreError>;
}
