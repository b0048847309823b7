//! What both checks of an identity provider's tokens share: why a token is refused, and the
//! claim that may be one string or a list (`aud`, `scp`). `idp` checks JWTs and hands opaque
//! tokens to `introspect`, which reads these without going back to `idp`.

use serde::Deserialize;

/// Why a token was refused, said to the client as `error_description` (no secret in it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the token is not a JWT this server can read")]
    Malformed,
    #[error("the token's algorithm {0} is not accepted (asymmetric signatures only)")]
    Algorithm(String),
    #[error("the token is signed with a key the issuer does not publish")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token is expired or not yet valid")]
    Expired,
    #[error("the token was issued by another issuer")]
    Issuer,
    #[error("the token is not meant for this server (aud)")]
    Audience,
    #[error("the token carries no hookd scope")]
    NoScope,
    #[error("the identity provider cannot be reached; try again shortly")]
    Unavailable,
    #[error("the token is not active (revoked, expired or unknown to the identity provider)")]
    Inactive,
    #[error("the token is not a JWT, and the identity provider offers no introspection endpoint")]
    NoIntrospection,
}

/// A claim given as one string or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum ScopeList {
    Many(Vec<String>),
    One(String),
}
