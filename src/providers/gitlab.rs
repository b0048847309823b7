//! GitLab: a shared token in `X-Gitlab-Token` (or GitLab's Standard Webhooks signing); type =
//! `object_kind` (`push`, `merge_request`, …), subject = the project path.

use super::{Incoming, Normalized, Provider};
use crate::payload::text;
use crate::secret::Secret;
use crate::signature::{Delivery, Rejection, ToSign, standard};
use subtle::ConstantTimeEq;

#[derive(Debug)]
pub struct GitLab;

impl Provider for GitLab {
    fn name(&self) -> &'static str {
        "gitlab"
    }

    fn timed(&self) -> bool {
        false
    }

    fn signs_body(&self) -> bool {
        false
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        verify_gitlab(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        sign_gitlab(secret, d)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        if let Some(kind) = text(d.body, "object_kind") {
            n.event_type = kind;
        }
        n.subject = text(d.body, "project/path_with_namespace");
        n.summary = Some(format!(
            "{} in {}",
            n.event_type,
            n.subject.as_deref().unwrap_or("?")
        ));
    }
}

// ---- The signature ----
// GitLab: a shared token in `X-Gitlab-Token`, compared in constant time; or, for webhooks with
// a signing token, GitLab's Standard Webhooks signature (`webhook-signature`).

const HEADER: &str = "x-gitlab-token";

fn verify_gitlab(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
    if d.headers.contains_key("webhook-signature") {
        return standard::verify(secrets, d);
    }
    let token = d.header(HEADER)?.as_bytes();
    secrets
        .iter()
        .any(|s| bool::from(s.expose().as_bytes().ct_eq(token)))
        .then_some(())
        .ok_or(Rejection::BadSignature)
}

/// The header GitLab would send: the token itself.
fn sign_gitlab(secret: &Secret, _d: &ToSign<'_>) -> Vec<(String, String)> {
    vec![("X-Gitlab-Token".into(), secret.expose().to_owned())]
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn push_and_merge_request() {
        let h = HeaderMap::new();
        let n = read(
            "gitlab",
            &h,
            include_str!("../../tests/fixtures/gitlab/push.json"),
        );
        assert_eq!(n.event_type, "push");
        assert!(n.subject.is_some());
        let mr = include_str!("../../tests/fixtures/gitlab/merge_request.json");
        assert_eq!(read("gitlab", &h, mr).event_type, "merge_request");
    }
}

#[cfg(test)]
mod signature_tests {
    use super::*;
    use crate::signature::test_support::{headers, secrets};

    #[test]
    fn the_token_must_match_one_secret() {
        let h = headers(&[(HEADER, "glwt-token-1")]);
        let d = Delivery {
            headers: &h,
            body: b"{}",
            now: 0,
            url: "",
        };
        assert_eq!(verify_gitlab(&secrets(&["glwt-token-1"]), &d), Ok(()));
        assert_eq!(
            verify_gitlab(&secrets(&["old", "glwt-token-1"]), &d),
            Ok(())
        );
        assert_eq!(
            verify_gitlab(&secrets(&["glwt-token-2"]), &d),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            verify_gitlab(&secrets(&["glwt-token-1x"]), &d),
            Err(Rejection::BadSignature)
        );
        let none = headers(&[]);
        let d = Delivery {
            headers: &none,
            body: b"{}",
            now: 0,
            url: "",
        };
        assert_eq!(
            verify_gitlab(&secrets(&["t"]), &d),
            Err(Rejection::MissingHeader(HEADER.into()))
        );
    }
}
