//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>[,v1=…]`, with a
//! 300 s tolerance. The `whsec_…` secret is the HMAC key as-is.

use super::sign::{ToSign, mac};
use super::{Delivery, HmacSha256, Rejection, Secret, check_timestamp, hmac_matches};

const HEADER: &str = "stripe-signature";
pub const TOLERANCE: u64 = 300;

pub fn verify(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
    let value = d.header(HEADER)?;
    let malformed = || Rejection::Malformed(HEADER.to_owned());
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", sig)) => signatures.push(hex::decode(sig).map_err(|_| malformed())?),
            _ => {}
        }
    }
    let t = timestamp.ok_or_else(malformed)?;
    if signatures.is_empty() {
        return Err(malformed());
    }
    // The signature is checked before the time: a forged header learns nothing from the clock.
    let signed = secrets.iter().any(|s| {
        let key = s.expose().as_bytes();
        signatures
            .iter()
            .any(|sig| hmac_matches::<HmacSha256>(key, &[t.as_bytes(), b".", d.body], sig))
    });
    if !signed {
        return Err(Rejection::BadSignature);
    }
    check_timestamp(t, HEADER, d.now, TOLERANCE).map(|_| ())
}

/// The header Stripe would send for `d`.
pub fn sign(secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
    let ts = d.now.to_string();
    let sig = mac::<HmacSha256>(secret.expose().as_bytes(), &[ts.as_bytes(), b".", d.body]);
    vec![(
        "Stripe-Signature".into(),
        format!("t={ts},v1={}", hex::encode(sig)),
    )]
}

#[cfg(test)]
mod tests {
    use super::super::test_support;
    use super::*;

    // Generated with PyPI stripe 16.1.0 over tests/fixtures/stripe/checkout.session.completed.json.
    const SIG: &str =
        "t=1700000000,v1=e87bd3a51a0dae2358ba943601b9dee6fbe27fd08b20aefc19b460360e00bd71";
    const BODY: &[u8] =
        include_bytes!("../../tests/fixtures/stripe/checkout.session.completed.json");

    fn check(secret: &[&str], sig: &str, body: &[u8], now: i64) -> Result<(), Rejection> {
        test_support::check(verify, secret, &[(HEADER, sig)], body, now)
    }

    #[test]
    fn the_stripe_library_vector_verifies_within_the_tolerance() {
        assert_eq!(check(&["whsec_test"], SIG, BODY, 1_700_000_100), Ok(()));
        let with_old = format!("{SIG},v1=00ff,v0=abc");
        assert_eq!(
            check(&["whsec_test"], &with_old, BODY, 1_700_000_000),
            Ok(())
        );
    }

    #[test]
    fn stale_future_tampered_and_wrong_secret_are_refused() {
        assert_eq!(
            check(&["whsec_test"], SIG, BODY, 1_700_000_301),
            Err(Rejection::StaleTimestamp(300))
        );
        assert_eq!(
            check(&["whsec_test"], SIG, BODY, 1_699_999_600),
            Err(Rejection::FutureTimestamp(300))
        );
        assert_eq!(
            check(&["whsec_test"], SIG, b"{}", 1_700_000_000),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(&["whsec_other"], SIG, BODY, 1_700_000_000),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(&["whsec_test"], "t=1700000000", BODY, 0),
            Err(Rejection::Malformed(HEADER.into()))
        );
        assert_eq!(
            check(&["whsec_old", "whsec_test"], SIG, BODY, 1_700_000_000),
            Ok(())
        );
    }
}
