//! GitLab: a shared token in `X-Gitlab-Token` (or GitLab's Standard Webhooks signing); type =
//! `object_kind` (`push`, `merge_request`, …), subject = the project path.

use super::{Incoming, Normalized, Provider};
use crate::payload::text;
use crate::secret::Secret;
use crate::signature::{self, Delivery, Rejection, ToSign};

#[derive(Debug)]
pub struct GitLab;

impl Provider for GitLab {
    fn name(&self) -> &'static str {
        "gitlab"
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        signature::token::verify_gitlab(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        signature::token::sign_gitlab(secret, d)
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
