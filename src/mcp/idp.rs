//! Access tokens from an external identity provider (`--mcp-authorization-server URL`): its
//! metadata (RFC 8414, else OpenID discovery) names its key set, and a JWT access token is
//! accepted only when its signature verifies with one of those keys under an asymmetric
//! algorithm, `iss` is the issuer exactly, `aud` holds hookd's resource URL (RFC 8707), `exp` and
//! `nbf` hold within [`SKEW`], and it carries a hookd scope.
//!
//! Keys are cached for [`KEYS_KEPT`]; a token naming a key the cache lacks fetches the set again,
//! at most once per [`REFETCH_EVERY`], so invented key ids cannot make hookd hammer the provider.
//! Documents are read with a deadline and a size cap. Nothing is fetched before the first token.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

pub use super::claims::Refusal;
use super::claims::ScopeList;
use super::scope::Grant;

/// How far `exp` and `nbf` may be off: the two clocks' difference.
pub const SKEW: Duration = Duration::from_secs(30);
/// How long a fetched key set is trusted before it is fetched again.
pub const KEYS_KEPT: Duration = Duration::from_secs(3600);
/// The least time between two fetches of the key set (for an unknown key, or after a failure).
pub const REFETCH_EVERY: Duration = Duration::from_secs(10);
/// The largest metadata document or key set read.
const MAX_DOCUMENT: usize = 256 * 1024;
/// The longest an access token may be.
pub const MAX_TOKEN: usize = 16 * 1024;

/// The identity provider hookd trusts, and the keys it has read from it.
pub struct Issuer {
    issuer: String,
    resource: String,
    client: reqwest::Client,
    keys: Mutex<Keys>,
    /// Held while the key set is fetched: one fetch at a time.
    fetching: tokio::sync::Mutex<()>,
    /// Opaque tokens: how hookd authenticates to the introspection endpoint, and what it said.
    introspection: Option<super::introspect::Introspection>,
}

#[derive(Default)]
struct Keys {
    metadata: Option<Metadata>,
    set: Vec<Jwk>,
    fetched: Option<Instant>,
    /// The last fetch of the key set.
    tried: Option<Instant>,
    /// The last read of the metadata alone (a failed one is not repeated for a while; it does
    /// not delay fetching the keys).
    metadata_tried: Option<Instant>,
}

#[derive(Deserialize, Clone)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
    #[serde(default)]
    introspection_endpoint: Option<String>,
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint: Option<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
}

/// Where a browser signs in at the provider (the dashboard, as a public client with PKCE).
pub struct Endpoints {
    pub authorization: reqwest::Url,
    pub token: reqwest::Url,
    /// Whether it lists `offline_access`, the scope that asks for a refresh token.
    pub offline_access: bool,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    /// RFC 9068 and RFC 8693: space-separated.
    #[serde(default)]
    scope: Option<String>,
    /// Okta, Microsoft: a list.
    #[serde(default)]
    scp: Option<ScopeList>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.issuer)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// `issuer` as configured (compared with `iss` exactly), `resource` hookd's MCP URL, and the
    /// client id and secret to introspect opaque tokens with, if any.
    pub fn new(
        issuer: String,
        resource: String,
        introspection: Option<(String, crate::secret::Secret)>,
    ) -> Self {
        crate::outbound::install_tls();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            issuer,
            resource,
            client,
            keys: Mutex::new(Keys::default()),
            fetching: tokio::sync::Mutex::new(()),
            introspection: introspection
                .map(|(id, secret)| super::introspect::Introspection::new(id, secret)),
        }
    }

    /// The issuer URL, as configured.
    pub fn name(&self) -> &str {
        &self.issuer
    }

    /// Checks a bearer token; what it may do, or why not.
    pub async fn check(&self, token: &str) -> Result<Grant, Refusal> {
        if token.len() > MAX_TOKEN {
            return Err(Refusal::Malformed);
        }
        let header = match jsonwebtoken::decode_header(token) {
            Ok(header) => header,
            // Not a JWT: an opaque token, which only the provider can describe.
            Err(_) => return self.introspect(token).await,
        };
        let family = asymmetric(header.alg)?;
        let key = self.key(header.kid.as_deref(), header.alg, family).await?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = SKEW.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.resource]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature | K::InvalidEcdsaKey | K::InvalidRsaKey(_) => {
                    Refusal::Signature
                }
                K::ExpiredSignature | K::ImmatureSignature => Refusal::Expired,
                K::InvalidIssuer => Refusal::Issuer,
                K::InvalidAudience => Refusal::Audience,
                K::MissingRequiredClaim(c) if c == "aud" => Refusal::Audience,
                K::MissingRequiredClaim(c) if c == "iss" => Refusal::Issuer,
                K::MissingRequiredClaim(_) => Refusal::Expired,
                K::InvalidAlgorithm => Refusal::Algorithm(format!("{:?}", header.alg)),
                _ => Refusal::Malformed,
            }
        })?;
        let claims = data.claims;
        self.grant(claims.sub.or(claims.client_id), claims.scope, claims.scp)
    }

    /// What a token's subject may do with its scopes (`scope`, space-separated, or `scp`).
    fn grant(
        &self,
        who: Option<String>,
        scope: Option<String>,
        scp: Option<ScopeList>,
    ) -> Result<Grant, Refusal> {
        let scopes: Vec<String> = match (scope, scp) {
            (Some(s), _) => s.split_whitespace().map(str::to_owned).collect(),
            (None, Some(ScopeList::Many(list))) => list,
            (None, Some(ScopeList::One(s))) => s.split_whitespace().map(str::to_owned).collect(),
            (None, None) => Vec::new(),
        };
        let who = who.unwrap_or_default();
        Grant::from_scopes(format!("{}#{who}", self.issuer), &scopes).ok_or(Refusal::NoScope)
    }

    /// An opaque token, as the provider's introspection endpoint (RFC 7662) describes it: active,
    /// from this issuer, for this resource, unexpired, with a hookd scope. Answers are kept
    /// briefly (`introspect::KEPT`).
    async fn introspect(&self, token: &str) -> Result<Grant, Refusal> {
        let Some(introspection) = &self.introspection else {
            return Err(Refusal::Malformed);
        };
        if let Some(kept) = introspection.kept(token) {
            return kept;
        }
        let endpoint = self
            .metadata()
            .await?
            .introspection_endpoint
            .ok_or(Refusal::NoIntrospection)?;
        let said = introspection
            .ask(&self.client, &endpoint, token)
            .await
            .map_err(|e| {
                tracing::warn!(issuer = %self.issuer, error = %e, "cannot introspect a token");
                Refusal::Unavailable
            })?;
        let answer = self.judge(said);
        introspection.keep(token, &answer);
        answer
    }

    fn judge(&self, said: super::introspect::Said) -> Result<Grant, Refusal> {
        if !said.active {
            return Err(Refusal::Inactive);
        }
        if said.iss.as_ref().is_some_and(|iss| *iss != self.issuer) {
            return Err(Refusal::Issuer);
        }
        if !said.audiences().iter().any(|a| *a == self.resource) {
            return Err(Refusal::Audience);
        }
        let now = chrono::Utc::now().timestamp();
        let skew = SKEW.as_secs() as i64;
        if said.exp.is_some_and(|exp| exp < now - skew)
            || said.nbf.is_some_and(|nbf| nbf > now + skew)
        {
            return Err(Refusal::Expired);
        }
        self.grant(said.sub.or(said.client_id), said.scope, said.scp)
    }

    /// Its authorization and token endpoints, from its metadata; http(s) URLs only.
    pub async fn endpoints(&self) -> Result<Endpoints, String> {
        let m = self
            .metadata()
            .await
            .map_err(|_| format!("cannot read {}'s metadata", self.issuer))?;
        let url = |name: &str, value: Option<String>| {
            value
                .as_deref()
                .and_then(|v| reqwest::Url::parse(v).ok())
                .filter(|u| matches!(u.scheme(), "https" | "http"))
                .ok_or_else(|| format!("{}'s metadata has no http(s) {name}", self.issuer))
        };
        Ok(Endpoints {
            authorization: url("authorization_endpoint", m.authorization_endpoint)?,
            token: url("token_endpoint", m.token_endpoint)?,
            offline_access: m.scopes_supported.iter().any(|s| s == "offline_access"),
        })
    }

    /// The issuer's metadata, read once (a failure is retried at most every [`REFETCH_EVERY`]).
    async fn metadata(&self) -> Result<Metadata, Refusal> {
        {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(m) = &keys.metadata {
                return Ok(m.clone());
            }
            if keys
                .metadata_tried
                .is_some_and(|at| at.elapsed() < REFETCH_EVERY)
            {
                return Err(Refusal::Unavailable);
            }
            keys.metadata_tried = Some(Instant::now());
        }
        match self.read_metadata().await {
            Ok(m) => {
                let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
                keys.metadata = Some(m.clone());
                Ok(m)
            }
            Err(e) => {
                tracing::warn!(issuer = %self.issuer, error = %e, "cannot read the identity provider's metadata");
                Err(Refusal::Unavailable)
            }
        }
    }

    /// The published key for `kid` (or, without one, the only key that fits the algorithm),
    /// fetching the set when it is missing, old, or lacks `kid`. Tokens with known keys never
    /// wait; one fetch happens at a time, and a token that needs it waits for the one in flight
    /// (so the first tokens after a start or a rotation are not refused while it runs).
    async fn key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        family: KeyFamily,
    ) -> Result<DecodingKey, Refusal> {
        let fresh = |keys: &Keys| {
            let stale = keys.fetched.is_none_or(|at| at.elapsed() > KEYS_KEPT);
            (!stale).then(|| pick(&keys.set, kid, family)).flatten()
        };
        let mut found = fresh(&self.keys.lock().unwrap_or_else(|e| e.into_inner()));
        if found.is_none() {
            let _one_fetch = self.fetching.lock().await;
            let (known, fetch, jwks_uri) = {
                let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
                let known = fresh(&keys);
                let fetch =
                    known.is_none() && keys.tried.is_none_or(|at| at.elapsed() >= REFETCH_EVERY);
                if fetch {
                    keys.tried = Some(Instant::now());
                }
                (known, fetch, keys.metadata.clone())
            };
            found = known;
            if fetch {
                match self.fetch(jwks_uri).await {
                    Ok((metadata, set)) => {
                        tracing::info!(issuer = %self.issuer, keys = set.len(), "read the identity provider's keys");
                        found = pick(&set, kid, family);
                        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
                        keys.metadata = Some(metadata);
                        keys.set = set;
                        keys.fetched = Some(Instant::now());
                    }
                    Err(e) => {
                        tracing::warn!(issuer = %self.issuer, error = %e, "cannot read the identity provider's keys");
                        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
                        if keys.set.is_empty() {
                            return Err(Refusal::Unavailable);
                        }
                    }
                }
            }
            if found.is_none() {
                // Old keys are still better than none while a fetch is not due or failed.
                let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
                found = pick(&keys.set, kid, family);
            }
        }
        let jwk = found.ok_or(Refusal::UnknownKey)?;
        if let Some(declared) = jwk.common.key_algorithm
            && format!("{declared:?}") != format!("{alg:?}")
        {
            return Err(Refusal::Algorithm(format!("{alg:?}")));
        }
        DecodingKey::from_jwk(&jwk).map_err(|_| Refusal::UnknownKey)
    }

    /// The key set (and the metadata naming it), reading the metadata first when not known.
    async fn fetch(&self, metadata: Option<Metadata>) -> Result<(Metadata, Vec<Jwk>), String> {
        let metadata = match metadata {
            Some(m) => m,
            None => self.read_metadata().await?,
        };
        let jwks_uri = metadata.jwks_uri.clone();
        #[derive(Deserialize)]
        struct Set {
            keys: Vec<serde_json::Value>,
        }
        let set: Set = self.get_json(&jwks_uri).await?;
        // A key hookd cannot use (another type, encryption) is skipped, not fatal.
        let usable = set
            .keys
            .into_iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
            .filter(|k| family_of(k).is_some())
            .filter(|k| {
                k.common
                    .public_key_use
                    .as_ref()
                    .is_none_or(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Signature)
            })
            .collect();
        Ok((metadata, usable))
    }

    /// The issuer's metadata: RFC 8414's well-known place first, then OpenID discovery's. Its
    /// `issuer` must be the configured one exactly (RFC 8414 §3.3).
    async fn read_metadata(&self) -> Result<Metadata, String> {
        let mut last = String::new();
        for url in metadata_urls(&self.issuer)? {
            match self.get_json::<Metadata>(&url).await {
                Ok(m) if m.issuer == self.issuer => return Ok(m),
                Ok(m) => {
                    return Err(format!(
                        "{url} names the issuer {:?}, not {:?}",
                        m.issuer, self.issuer
                    ));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let mut response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.without_url().to_string())
            .map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(format!("{url}: larger than {MAX_DOCUMENT} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not the JSON expected: {e}"))
    }
}

/// Where an issuer's metadata may be: `https://h/.well-known/oauth-authorization-server/p` for
/// the issuer `https://h/p` (RFC 8414 §3.1), then `https://h/p/.well-known/openid-configuration`.
pub fn metadata_urls(issuer: &str) -> Result<Vec<String>, String> {
    let url = reqwest::Url::parse(issuer).map_err(|e| format!("{issuer}: {e}"))?;
    let path = url.path().trim_end_matches('/');
    let mut rfc8414 = url.clone();
    rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    let mut oidc = url.clone();
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    Ok(vec![rfc8414.to_string(), oidc.to_string()])
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyFamily {
    Rsa,
    Ec,
    Ed,
}

/// The key family of an asymmetric algorithm; HMAC (which a public key must never serve as a
/// secret for) is refused, and `none` is not an algorithm the token parser knows.
fn asymmetric(alg: Algorithm) -> Result<KeyFamily, Refusal> {
    use Algorithm::*;
    match alg {
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => Ok(KeyFamily::Rsa),
        ES256 | ES384 => Ok(KeyFamily::Ec),
        EdDSA => Ok(KeyFamily::Ed),
        HS256 | HS384 | HS512 => Err(Refusal::Algorithm(format!("{alg:?}"))),
    }
}

fn family_of(jwk: &Jwk) -> Option<KeyFamily> {
    match jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(KeyFamily::Rsa),
        AlgorithmParameters::EllipticCurve(_) => Some(KeyFamily::Ec),
        AlgorithmParameters::OctetKeyPair(_) => Some(KeyFamily::Ed),
        AlgorithmParameters::OctetKey(_) => None,
    }
}

/// The key named `kid` if it is of the right family; without a `kid`, the one key of that
/// family when there is exactly one.
fn pick(set: &[Jwk], kid: Option<&str>, family: KeyFamily) -> Option<Jwk> {
    let mut fitting = set.iter().filter(|k| family_of(k) == Some(family));
    match kid {
        Some(kid) => fitting
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .cloned(),
        None => {
            let first = fitting.next()?;
            fitting.next().is_none().then(|| first.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_looked_for_where_rfc_8414_then_openid_put_it() {
        assert_eq!(
            metadata_urls("https://id.example.com").unwrap(),
            [
                "https://id.example.com/.well-known/oauth-authorization-server",
                "https://id.example.com/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            metadata_urls("https://id.example.com/realms/team/").unwrap(),
            [
                "https://id.example.com/.well-known/oauth-authorization-server/realms/team",
                "https://id.example.com/realms/team/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn hmac_algorithms_are_never_accepted() {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            assert!(asymmetric(alg).is_err());
        }
        assert!(asymmetric(Algorithm::ES256).is_ok());
    }
}
