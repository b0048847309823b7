//! Vercel: `x-vercel-signature: <hex HMAC-SHA1(secret, body)>`.

use super::sign::{ToSign, mac};
use super::{Delivery, HmacSha1, Rejection, Secret, body_signed_by_any};

const HEADER: &str = "x-vercel-signature";

pub fn verify(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
    let sig =
        hex::decode(d.header(HEADER)?).map_err(|_| Rejection::Malformed(HEADER.to_owned()))?;
    body_signed_by_any::<HmacSha1>(secrets, d.body, &sig)
}

/// The header Vercel would send for `d`.
pub fn sign(secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
    let sig = mac::<HmacSha1>(secret.expose().as_bytes(), &[d.body]);
    vec![("x-vercel-signature".into(), hex::encode(sig))]
}

#[cfg(test)]
mod tests {
    use super::super::test_support;
    use super::*;

    // getsentry/sentry's Vercel integration tests: both payload formats, exact bytes.
    const SECRET: &str = "AiK52QASLJXmCXX3X9gO2Zyh";
    const OLD: &[u8] =
        include_bytes!("../../tests/fixtures/vercel/sentry.deployment.old-format.body");
    const NEW: &[u8] =
        include_bytes!("../../tests/fixtures/vercel/sentry.deployment.created.new-format.body");

    fn check(secret: &str, sig: &str, body: &[u8]) -> Result<(), Rejection> {
        test_support::check(verify, &[secret], &[(HEADER, sig)], body, 0)
    }

    #[test]
    fn both_published_vectors_verify_and_tampering_does_not() {
        assert_eq!(
            check(SECRET, "74b587857986545361e8a4253b74cd6224d34869", OLD),
            Ok(())
        );
        assert_eq!(
            check(SECRET, "cecad6333f8652af7d4e9c7b6ad87f1c922a76d3", NEW),
            Ok(())
        );
        assert_eq!(
            check(SECRET, "cecad6333f8652af7d4e9c7b6ad87f1c922a76d3", OLD),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check("other", "74b587857986545361e8a4253b74cd6224d34869", OLD),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(SECRET, "zz", OLD),
            Err(Rejection::Malformed(HEADER.into()))
        );
    }
}
