//! GitLab: a shared token in `X-Gitlab-Token`, compared in constant time; or, for webhooks with
//! a signing token, GitLab's Standard Webhooks signature (`webhook-signature`).

use subtle::ConstantTimeEq;

use super::sign::ToSign;
use super::{Delivery, Rejection, Secret, standard};

const HEADER: &str = "x-gitlab-token";

pub fn verify_gitlab(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
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
pub fn sign_gitlab(secret: &Secret, _d: &ToSign<'_>) -> Vec<(String, String)> {
    vec![("X-Gitlab-Token".into(), secret.expose().to_owned())]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{headers, secrets};
    use super::*;

    #[test]
    fn the_token_must_match_one_secret() {
        let h = headers(&[(HEADER, "glwt-token-1")]);
        let d = Delivery {
            headers: &h,
            body: b"{}",
            now: 0,
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
        };
        assert_eq!(
            verify_gitlab(&secrets(&["t"]), &d),
            Err(Rejection::MissingHeader(HEADER.into()))
        );
    }
}
