//! Netlify deploy notifications: signed with `X-Webhook-Signature`, a JWS (HS256 with the
//! notification's secret) whose claims are `iss: "netlify"` and `sha256`, the hex SHA-256 of the
//! body. The body is the deploy: type = `deploy.<state>` (`deploy.ready`, `deploy.error`, …),
//! delivery id = the deploy id and state, subject = the site, summary = branch, commit and URL.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use subtle::ConstantTimeEq;

use super::{Incoming, Normalized, Provider};
use crate::payload::{str_at, text};
use crate::secret::Secret;
use crate::signature::{Delivery, Rejection, ToSign};

const HEADER: &str = "x-webhook-signature";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sha256: String,
}

#[derive(Debug)]
pub struct Netlify;

impl Provider for Netlify {
    fn name(&self) -> &'static str {
        "netlify"
    }

    fn timed(&self) -> bool {
        false
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let token = d.header(HEADER)?;
        if jsonwebtoken::decode_header(token).is_err() {
            return Err(Rejection::Malformed(HEADER.into()));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.set_issuer(&["netlify"]);
        let digest = hex::encode(sha2::Sha256::digest(d.body));
        let signed = secrets.iter().any(|s| {
            let key = DecodingKey::from_secret(s.expose().as_bytes());
            jsonwebtoken::decode::<Claims>(token, &key, &validation)
                .is_ok_and(|t| bool::from(t.claims.sha256.as_bytes().ct_eq(digest.as_bytes())))
        });
        signed.then_some(()).ok_or(Rejection::BadSignature)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let claims = Claims {
            iss: "netlify".into(),
            sha256: hex::encode(sha2::Sha256::digest(d.body)),
        };
        let key = EncodingKey::from_secret(secret.expose().as_bytes());
        match jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key) {
            Ok(token) => vec![("X-Webhook-Signature".into(), token)],
            Err(_) => Vec::new(),
        }
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        let Some(state) = str_at(v, "state") else {
            return;
        };
        n.event_type = format!("deploy.{state}");
        n.delivery_id = text(v, "id").map(|id| format!("{id}:{state}"));
        n.subject = text(v, "name").or_else(|| text(v, "site_id"));
        n.occurred_at = super::rfc3339(v, "updated_at");
        let mut parts = vec![format!("deploy {state}")];
        parts.extend(str_at(v, "branch").map(|b| format!("on {b}")));
        let short = |c: &str| c.chars().take(7).collect::<String>();
        parts.extend(str_at(v, "commit_ref").map(|c| format!("at {}", short(c))));
        parts.extend(str_at(v, "deploy_ssl_url").map(str::to_owned));
        n.summary = Some(parts.join(" "));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn a_deploy_names_its_site_and_state() {
        let odd = r#"{"state":"ready","commit_ref":"éééééééé"}"#;
        assert_eq!(
            read("netlify", &HeaderMap::new(), odd).summary.as_deref(),
            Some("deploy ready at ééééééé")
        );
        let body = r#"{"id":"5f8b","site_id":"s-1","name":"acme-docs","state":"ready","branch":"main","commit_ref":"0123456789abcdef","deploy_ssl_url":"https://5f8b--acme-docs.netlify.app","updated_at":"2024-01-01T00:00:00Z"}"#;
        let n = read("netlify", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "deploy.ready");
        assert_eq!(n.delivery_id.as_deref(), Some("5f8b:ready"));
        assert_eq!(n.subject.as_deref(), Some("acme-docs"));
        assert_eq!(
            n.summary.as_deref(),
            Some("deploy ready on main at 0123456 https://5f8b--acme-docs.netlify.app")
        );
    }
}
