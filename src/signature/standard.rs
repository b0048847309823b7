//! Standard Webhooks (Svix, Clerk, Resend, OpenAI, GitLab's signing tokens, …):
//! `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256(key,
//! "id.ts.body")>` (a space-separated list), key = base64 of the `whsec_…` secret, 5 minutes
//! tolerance. The same scheme under `svix-id` / `svix-timestamp` / `svix-signature`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::sign::{ToSign, mac};
use super::{Delivery, HmacSha256, Rejection, Secret, check_timestamp, hmac_matches};

pub const TOLERANCE: u64 = 300;

/// Secrets are base64 with or without padding (the reference libraries accept both).
pub(super) const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub fn verify(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
    let prefix = if d.headers.contains_key("webhook-signature")
        || !d.headers.contains_key("svix-signature")
    {
        "webhook"
    } else {
        "svix"
    };
    let [id_h, ts_h, sig_h] = ["id", "timestamp", "signature"].map(|n| format!("{prefix}-{n}"));
    let id = d.header(&id_h)?;
    let ts = d.header(&ts_h)?;
    let signatures: Vec<Vec<u8>> = d
        .header(&sig_h)?
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| B64.decode(s).ok())
        .collect();
    if signatures.is_empty() {
        return Err(Rejection::Malformed(sig_h));
    }
    let signed = secrets.iter().filter_map(key).any(|key| {
        let parts: [&[u8]; 5] = [id.as_bytes(), b".", ts.as_bytes(), b".", d.body];
        signatures
            .iter()
            .any(|sig| hmac_matches::<HmacSha256>(&key, &parts, sig))
    });
    if !signed {
        return Err(Rejection::BadSignature);
    }
    check_timestamp(ts, &ts_h, d.now, TOLERANCE).map(|_| ())
}

/// The HMAC key: the base64 after `whsec_` (a secret without the prefix is taken as base64 too).
fn key(secret: &Secret) -> Option<Vec<u8>> {
    let s = secret.expose();
    LENIENT.decode(s.strip_prefix("whsec_").unwrap_or(s)).ok()
}

/// The headers a Standard Webhooks sender would send for `d` (`webhook-id` is `d.delivery_id`).
pub fn sign(secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
    let ts = d.now.to_string();
    let key = key(secret).unwrap_or_default();
    let parts: [&[u8]; 5] = [d.delivery_id.as_bytes(), b".", ts.as_bytes(), b".", d.body];
    let sig = mac::<HmacSha256>(&key, &parts);
    vec![
        ("webhook-id".into(), d.delivery_id.to_owned()),
        ("webhook-timestamp".into(), ts),
        (
            "webhook-signature".into(),
            format!("v1,{}", B64.encode(sig)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support;
    use super::*;

    // The Standard Webhooks spec's libraries' test vector ("sign function works").
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    fn check(
        prefix: &str,
        sig: &str,
        secret: &[&str],
        body: &[u8],
        now: i64,
    ) -> Result<(), Rejection> {
        let ts = TS.to_string();
        let names = ["id", "timestamp", "signature"].map(|n| format!("{prefix}-{n}"));
        let pairs = [(&*names[0], ID), (&*names[1], &*ts), (&*names[2], sig)];
        test_support::check(verify, secret, &pairs, body, now)
    }

    #[test]
    fn the_spec_vector_verifies_under_both_header_families() {
        assert_eq!(check("webhook", SIG, &[SECRET], BODY, TS), Ok(()));
        assert_eq!(check("svix", SIG, &[SECRET], BODY, TS + 299), Ok(()));
        let list = format!("v1,bm9wZQ== {SIG} v2,abc");
        assert_eq!(check("webhook", &list, &[SECRET], BODY, TS), Ok(()));
    }

    #[test]
    fn stale_future_tampered_wrong_and_rotated_secrets() {
        assert_eq!(
            check("webhook", SIG, &[SECRET], BODY, TS + 301),
            Err(Rejection::StaleTimestamp(300))
        );
        assert_eq!(
            check("webhook", SIG, &[SECRET], BODY, TS - 301),
            Err(Rejection::FutureTimestamp(300))
        );
        assert_eq!(
            check("webhook", SIG, &[SECRET], b"{}", TS),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check("webhook", SIG, &["whsec_AAAAAAAA"], BODY, TS),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check("webhook", SIG, &["whsec_AAAAAAAA", SECRET], BODY, TS),
            Ok(())
        );
        assert_eq!(
            check("webhook", "v2,abc", &[SECRET], BODY, TS),
            Err(Rejection::Malformed("webhook-signature".into()))
        );
    }
}
