//! The `X-Hub-Signature` family (WebSub's convention, which GitHub made common): the hex HMAC
//! of the body after `sha256=`. `X-Hub-Signature-256` is GitHub's and Meta's
//! ([`HubSignature256`]); `X-Hub-Signature` with SHA-256 is Bitbucket's and Jira's
//! ([`HUB_SIGNATURE_SHA256`]).

use std::sync::LazyLock;

use super::{
    Algorithm, Delivery, Encoding, HmacScheme, HmacSha256, Rejection, Scheme, Secret, ToSign,
    body_signed_by_any, mac,
};

/// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
pub struct HubSignature256;

const HEADER: &str = "x-hub-signature-256";

impl Scheme for HubSignature256 {
    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let value = d.header(HEADER)?;
        let sig = value
            .strip_prefix("sha256=")
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| Rejection::Malformed(HEADER.to_owned()))?;
        body_signed_by_any::<HmacSha256>(secrets, d.body, &sig)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let sig = mac::<HmacSha256>(secret.expose().as_bytes(), &[d.body]);
        vec![(
            "X-Hub-Signature-256".into(),
            format!("sha256={}", hex::encode(sig)),
        )]
    }
}

/// `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
pub static HUB_SIGNATURE_SHA256: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "X-Hub-Signature",
        "sha256=",
        Algorithm::Sha256,
        Encoding::Hex,
        "{body}",
    )
});

#[cfg(test)]
mod signature_tests {
    use super::*;
    use crate::signature::test_support;

    fn verify(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        HubSignature256.verify(secrets, d)
    }

    // GitHub Docs, "Validating webhook deliveries" > "Testing the webhook payload validation".
    const SECRET: &str = "It's a Secret to Everybody";
    const SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn check(secret: &[&str], sig: Option<&str>, body: &[u8]) -> Result<(), Rejection> {
        let pairs = sig.map(|s| vec![(HEADER, s)]).unwrap_or_default();
        test_support::check(verify, secret, &pairs, body, 0)
    }

    #[test]
    fn the_documented_vector_verifies() {
        assert_eq!(check(&[SECRET], Some(SIG), b"Hello, World!"), Ok(()));
    }

    #[test]
    fn tampering_wrong_secrets_and_missing_headers_are_refused() {
        assert_eq!(
            check(&[SECRET], Some(SIG), b"Hello, World?"),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(&["wrong"], Some(SIG), b"Hello, World!"),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(&[SECRET], None, b"Hello, World!"),
            Err(Rejection::MissingHeader(HEADER.into()))
        );
        assert_eq!(
            check(&[SECRET], Some("sha1=abc"), b"x"),
            Err(Rejection::Malformed(HEADER.into()))
        );
    }

    #[test]
    fn a_rotated_secret_still_verifies() {
        assert_eq!(
            check(&["new secret", SECRET], Some(SIG), b"Hello, World!"),
            Ok(())
        );
    }
}
