//! Discord (interactions and webhook events): signed with Ed25519. `X-Signature-Ed25519` is the
//! hex signature of `X-Signature-Timestamp` + the body, verified with the application's public
//! key (`public_key`, hex, from the Developer Portal); the timestamp is refused beyond 5
//! minutes. Discord checks the URL with a signed PING: an interactions PING (`type` 1) is
//! answered `{"type":1}`, a webhook events PING (`type` 0) `204`; neither is stored. Type =
//! `interaction.<kind>` or the webhook event's `event.type` (`APPLICATION_AUTHORIZED`, …),
//! delivery id = the interaction's `id`, subject = the guild or user.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde_json::json;

use super::{Answer, Incoming, Normalized, Provider};
use crate::payload::{id_at, int, str_at, text};
use crate::secret::Secret;
use crate::signature::{Delivery, Rejection, ToSign, check_timestamp};

const SIGNATURE: &str = "x-signature-ed25519";
const TIMESTAMP: &str = "x-signature-timestamp";
const TOLERANCE: u64 = 300;

#[derive(Debug)]
pub struct Discord;

/// The key pair in a base64 PKCS#8 private key.
fn key_pair(private: &Secret) -> Result<Ed25519KeyPair, String> {
    let der = B64
        .decode(private.expose().trim())
        .map_err(|_| "not base64".to_owned())?;
    Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).map_err(|e| e.to_string())
}

impl Provider for Discord {
    fn name(&self) -> &'static str {
        "discord"
    }

    fn parse_public_key(&self, key: &str) -> Option<Result<(), String>> {
        Some(match hex::decode(key.trim()) {
            Ok(bytes) if bytes.len() == 32 => Ok(()),
            _ => Err("expected 64 hex digits (the application's public key)".into()),
        })
    }

    fn public_key(&self, private: &Secret) -> Option<Result<String, String>> {
        Some(key_pair(private).map(|k| hex::encode(k.public_key().as_ref())))
    }

    fn new_private_key(&self) -> Option<Secret> {
        let rng = ring::rand::SystemRandom::new();
        let der = Ed25519KeyPair::generate_pkcs8(&rng).ok()?;
        Some(Secret::new(B64.encode(der.as_ref())))
    }

    fn verify(&self, keys: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let sig = hex::decode(d.header(SIGNATURE)?)
            .map_err(|_| Rejection::Malformed(SIGNATURE.into()))?;
        let ts = d.header(TIMESTAMP)?;
        let message = [ts.as_bytes(), d.body].concat();
        let signed = keys.iter().any(|k| {
            hex::decode(k.expose().trim()).is_ok_and(|key| {
                UnparsedPublicKey::new(&ED25519, key)
                    .verify(&message, &sig)
                    .is_ok()
            })
        });
        if !signed {
            return Err(Rejection::BadSignature);
        }
        check_timestamp(ts, TIMESTAMP, d.now, TOLERANCE).map(|_| ())
    }

    fn sign(&self, private: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let Ok(pair) = key_pair(private) else {
            return Vec::new();
        };
        let ts = d.now.to_string();
        let sig = pair.sign(&[ts.as_bytes(), d.body].concat());
        vec![
            ("X-Signature-Ed25519".into(), hex::encode(sig.as_ref())),
            ("X-Signature-Timestamp".into(), ts),
        ]
    }

    fn challenge(&self, d: &Incoming<'_>, _keys: &[Secret]) -> Option<Answer> {
        let v = d.body;
        // A webhook event carries `event`; its PING (type 0) and an interactions PING (type 1)
        // do not.
        if crate::payload::at(v, "event").is_some() {
            return None;
        }
        match int(v, "type")? {
            0 => Some(Answer::empty(204)),
            1 => Some(Answer::json(json!({ "type": 1 }))),
            _ => None,
        }
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(event) = text(v, "event/type") {
            n.event_type = event;
            n.subject = id_at(v, "event/data/guild/id").or_else(|| id_at(v, "event/data/user/id"));
            n.summary =
                str_at(v, "event/data/user/username").map(|u| format!("{}: {u}", n.event_type));
            return;
        }
        let kind = match int(v, "type") {
            Some(2) => "application_command",
            Some(3) => "message_component",
            Some(4) => "autocomplete",
            Some(5) => "modal_submit",
            _ => return,
        };
        n.event_type = format!("interaction.{kind}");
        n.delivery_id = id_at(v, "id").or(n.delivery_id.take());
        n.subject = id_at(v, "guild_id").or_else(|| id_at(v, "channel_id"));
        let who = str_at(v, "member/user/username").or_else(|| str_at(v, "user/username"));
        let what = str_at(v, "data/name").or_else(|| str_at(v, "data/custom_id"));
        n.summary = match (who, what) {
            (Some(w), Some(c)) => Some(format!("{w} used {c}")),
            (None, Some(c)) => Some(format!("{c} used")),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;

    fn incoming_challenge(body: &str) -> Option<Answer> {
        let tree = crate::payload::parse(body).unwrap();
        let settings = super::super::Settings::default();
        let d = Incoming {
            headers: &HeaderMap::new(),
            encoding: crate::event::PayloadEncoding::Json,
            body: &tree,
            received_at: chrono::Utc::now(),
            settings: &settings,
        };
        Discord.challenge(&d, &[])
    }

    #[test]
    fn pings_are_answered_as_discord_expects() {
        let ping = r#"{"id":"1","application_id":"2","type":1,"token":"t","version":1}"#;
        assert_eq!(
            incoming_challenge(ping),
            Some(Answer::json(json!({"type": 1})))
        );
        let events_ping = r#"{"version":1,"application_id":"2","type":0}"#;
        assert_eq!(incoming_challenge(events_ping), Some(Answer::empty(204)));
        let command = r#"{"id":"1","application_id":"2","type":2,"data":{"name":"hi"}}"#;
        assert_eq!(incoming_challenge(command), None);
        let event = r#"{"version":1,"application_id":"2","type":1,"event":{"type":"APPLICATION_AUTHORIZED"}}"#;
        assert_eq!(incoming_challenge(event), None);
    }

    #[test]
    fn a_command_and_an_event_read() {
        let command = r#"{"id":"786008729715212338","type":2,"guild_id":"290926798626357999","member":{"user":{"username":"mason"}},"data":{"name":"cardsearch"}}"#;
        let n = read("discord", &HeaderMap::new(), command);
        assert_eq!(n.event_type, "interaction.application_command");
        assert_eq!(n.delivery_id.as_deref(), Some("786008729715212338"));
        assert_eq!(n.subject.as_deref(), Some("290926798626357999"));
        assert_eq!(n.summary.as_deref(), Some("mason used cardsearch"));
        let event = r#"{"version":1,"application_id":"2","type":1,"event":{"type":"APPLICATION_AUTHORIZED","data":{"user":{"id":"53","username":"ann"}}}}"#;
        let n = read("discord", &HeaderMap::new(), event);
        assert_eq!(n.event_type, "APPLICATION_AUTHORIZED");
        assert_eq!(n.subject.as_deref(), Some("53"));
    }

    #[test]
    fn keys_are_checked_and_derived() {
        let private = Discord.new_private_key().unwrap();
        let public = Discord.public_key(&private).unwrap().unwrap();
        assert_eq!(Discord.parse_public_key(&public), Some(Ok(())));
        assert!(matches!(Discord.parse_public_key("abc"), Some(Err(_))));
        assert!(matches!(
            Discord.public_key(&Secret::new("whsec_x")),
            Some(Err(_))
        ));
    }
}
