//! Twitch EventSub: signed with `Twitch-Eventsub-Message-Signature: sha256=<hex HMAC-SHA256(secret,
//! message id + timestamp + body)>`, with `Twitch-Eventsub-Message-Id` and
//! `Twitch-Eventsub-Message-Timestamp` (RFC 3339, refused beyond 10 minutes). A
//! `webhook_callback_verification` message is answered with its `challenge` as text/plain and
//! not stored; notifications and revocations are stored. Type = `subscription.type`
//! (`channel.follow`, …; `revocation` for a revocation), delivery id = the message id (Twitch
//! resends with the same one), subject = the broadcaster's login, summary = who did it.

use super::{Answer, Incoming, Normalized, Provider, header};
use crate::payload::{str_at, text};
use crate::secret::Secret;
use crate::signature::{
    Delivery, HmacSha256, Rejection, ToSign, check_timestamp, hmac_matches, mac,
};

const ID: &str = "twitch-eventsub-message-id";
const TIMESTAMP: &str = "twitch-eventsub-message-timestamp";
const SIGNATURE: &str = "twitch-eventsub-message-signature";
const TYPE: &str = "twitch-eventsub-message-type";
const TOLERANCE: u64 = 600;
const MAX_CHALLENGE: usize = 512;

#[derive(Debug)]
pub struct Twitch;

impl Provider for Twitch {
    fn name(&self) -> &'static str {
        "twitch"
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let value = d.header(SIGNATURE)?;
        let sig = value
            .strip_prefix("sha256=")
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| Rejection::Malformed(SIGNATURE.into()))?;
        let (id, ts) = (d.header(ID)?, d.header(TIMESTAMP)?);
        let parts: [&[u8]; 3] = [id.as_bytes(), ts.as_bytes(), d.body];
        let signed = secrets
            .iter()
            .any(|s| hmac_matches::<HmacSha256>(s.expose().as_bytes(), &parts, &sig));
        if !signed {
            return Err(Rejection::BadSignature);
        }
        let unix = chrono::DateTime::parse_from_rfc3339(ts)
            .map_err(|_| Rejection::Malformed(TIMESTAMP.into()))?
            .timestamp();
        check_timestamp(&unix.to_string(), TIMESTAMP, d.now, TOLERANCE).map(|_| ())
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let ts = chrono::DateTime::from_timestamp(d.now, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let parts: [&[u8]; 3] = [d.delivery_id.as_bytes(), ts.as_bytes(), d.body];
        let sig = mac::<HmacSha256>(secret.expose().as_bytes(), &parts);
        vec![
            (
                "Twitch-Eventsub-Message-Id".into(),
                d.delivery_id.to_owned(),
            ),
            ("Twitch-Eventsub-Message-Timestamp".into(), ts),
            (
                "Twitch-Eventsub-Message-Signature".into(),
                format!("sha256={}", hex::encode(sig)),
            ),
        ]
    }

    /// The message id is signed: it travels with the signature.
    fn identify(&self, event_type: Option<&str>, _delivery_id: &str) -> Vec<(String, String)> {
        let kind = if event_type == Some("revocation") {
            "revocation"
        } else {
            "notification"
        };
        let mut headers = super::generic::identify(event_type, None);
        headers.push(("Twitch-Eventsub-Message-Type".into(), kind.into()));
        headers
    }

    fn challenge(&self, d: &Incoming<'_>, _secrets: &[Secret]) -> Option<Answer> {
        if header(d.headers, TYPE).as_deref() != Some("webhook_callback_verification") {
            return None;
        }
        let challenge = str_at(d.body, "challenge").filter(|c| c.len() <= MAX_CHALLENGE)?;
        Some(Answer::text(challenge))
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        let revoked = header(d.headers, TYPE).as_deref() == Some("revocation");
        if revoked {
            n.event_type = "revocation".into();
        } else if let Some(t) = text(v, "subscription/type") {
            n.event_type = t;
        }
        n.delivery_id = header(d.headers, ID).or(n.delivery_id.take());
        n.occurred_at = header(d.headers, TIMESTAMP)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.to_utc());
        n.subject = text(v, "event/broadcaster_user_login")
            .or_else(|| text(v, "subscription/condition/broadcaster_user_id"));
        n.summary = if revoked {
            str_at(v, "subscription/status").map(|s| {
                format!(
                    "subscription {} revoked: {s}",
                    str_at(v, "subscription/type").unwrap_or("?")
                )
            })
        } else {
            str_at(v, "event/user_name").map(|u| format!("{}: {u}", n.event_type))
        };
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn a_notification_names_its_subscription() {
        let mut h = HeaderMap::new();
        h.insert("twitch-eventsub-message-id", "befa7b53".parse().unwrap());
        h.insert(
            "twitch-eventsub-message-type",
            "notification".parse().unwrap(),
        );
        let body = r#"{"subscription":{"id":"f1c2","type":"channel.follow","version":"2","condition":{"broadcaster_user_id":"1337"}},"event":{"user_name":"Cool_User","broadcaster_user_login":"cooler_user"}}"#;
        let n = read("twitch", &h, body);
        assert_eq!(n.event_type, "channel.follow");
        assert_eq!(n.delivery_id.as_deref(), Some("befa7b53"));
        assert_eq!(n.subject.as_deref(), Some("cooler_user"));
        assert_eq!(n.summary.as_deref(), Some("channel.follow: Cool_User"));
    }
}
