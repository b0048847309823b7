//! Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + ts + ":" + body)>` with
//! `X-Slack-Request-Timestamp` within 5 minutes.

use super::sign::{ToSign, mac};
use super::{Delivery, HmacSha256, Rejection, Secret, check_timestamp, hmac_matches};

const SIGNATURE: &str = "x-slack-signature";
const TIMESTAMP: &str = "x-slack-request-timestamp";
pub const TOLERANCE: u64 = 300;

pub fn verify(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
    let ts = d.header(TIMESTAMP)?;
    let sig = d
        .header(SIGNATURE)?
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| Rejection::Malformed(SIGNATURE.to_owned()))?;
    let signed = secrets.iter().any(|s| {
        let parts: [&[u8]; 4] = [b"v0:", ts.as_bytes(), b":", d.body];
        hmac_matches::<HmacSha256>(s.expose().as_bytes(), &parts, &sig)
    });
    if !signed {
        return Err(Rejection::BadSignature);
    }
    check_timestamp(ts, TIMESTAMP, d.now, TOLERANCE).map(|_| ())
}

/// The headers Slack would send for `d`.
pub fn sign(secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
    let ts = d.now.to_string();
    let parts: [&[u8]; 4] = [b"v0:", ts.as_bytes(), b":", d.body];
    let sig = mac::<HmacSha256>(secret.expose().as_bytes(), &parts);
    vec![
        ("X-Slack-Request-Timestamp".into(), ts),
        (
            "X-Slack-Signature".into(),
            format!("v0={}", hex::encode(sig)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support;
    use super::*;

    // Slack docs, "Verifying requests from Slack" (step-by-step walk-through).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

    fn check(secret: &str, body: &str, now: i64) -> Result<(), Rejection> {
        let pairs = [(SIGNATURE, SIG), (TIMESTAMP, TS)];
        test_support::check(verify, &[secret], &pairs, body.as_bytes(), now)
    }

    #[test]
    fn the_documented_vector_verifies_at_its_time() {
        assert_eq!(check(SECRET, BODY, 1_531_420_618 + 60), Ok(()));
    }

    #[test]
    fn stale_future_tampered_wrong_secret_and_missing_are_refused() {
        let ts: i64 = TS.parse().unwrap();
        assert_eq!(
            check(SECRET, BODY, ts + 301),
            Err(Rejection::StaleTimestamp(300))
        );
        assert_eq!(
            check(SECRET, BODY, ts - 301),
            Err(Rejection::FutureTimestamp(300))
        );
        assert_eq!(
            check(SECRET, &BODY.replace("roadrunner", "coyote"), ts),
            Err(Rejection::BadSignature)
        );
        assert_eq!(check("0000", BODY, ts), Err(Rejection::BadSignature));
        let no_time = [(SIGNATURE, SIG)];
        assert_eq!(
            test_support::check(verify, &[SECRET], &no_time, BODY.as_bytes(), ts),
            Err(Rejection::MissingHeader(TIMESTAMP.into()))
        );
    }
}
