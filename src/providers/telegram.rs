//! Telegram bots: `setWebhook` with a `secret_token`, which Telegram sends back in
//! `X-Telegram-Bot-Api-Secret-Token` (compared in constant time; it proves the sender, it does not
//! sign the body). An update is named by its kind (`message`, `callback_query`, …), its delivery
//! id is `update_id`, subject = the chat, summary = who said what.

use subtle::ConstantTimeEq;

use super::{Incoming, Normalized, Provider};
use crate::payload::{id_at, str_at, text};
use crate::secret::Secret;
use crate::signature::{Delivery, Rejection, ToSign};

const HEADER: &str = "x-telegram-bot-api-secret-token";

#[derive(Debug)]
pub struct Telegram;

impl Provider for Telegram {
    fn name(&self) -> &'static str {
        "telegram"
    }

    fn timed(&self) -> bool {
        false
    }

    fn signs_body(&self) -> bool {
        false
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let sent = d.header(HEADER)?.as_bytes();
        secrets
            .iter()
            .any(|s| bool::from(s.expose().as_bytes().ct_eq(sent)))
            .then_some(())
            .ok_or(Rejection::BadSignature)
    }

    fn sign(&self, secret: &Secret, _d: &ToSign<'_>) -> Vec<(String, String)> {
        vec![(
            "X-Telegram-Bot-Api-Secret-Token".into(),
            secret.expose().to_owned(),
        )]
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        let Some(object) = v.as_object() else {
            return;
        };
        n.delivery_id = id_at(v, "update_id").or(n.delivery_id.take());
        let Some((kind, update)) = object.iter().find(|(k, _)| *k != "update_id") else {
            return;
        };
        n.event_type = kind.to_string();
        let message = crate::payload::at(update, "message").unwrap_or(update);
        n.subject = text(message, "chat/username")
            .map(|u| format!("@{u}"))
            .or_else(|| text(message, "chat/title"))
            .or_else(|| id_at(message, "chat/id"));
        let who = str_at(update, "from/username").or_else(|| str_at(update, "from/first_name"));
        let said = str_at(update, "text").or_else(|| str_at(update, "data"));
        n.summary = match (who, said) {
            (Some(w), Some(s)) => Some(format!("{w}: {s}")),
            (None, Some(s)) => Some(s.to_owned()),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn an_update_is_named_by_its_kind() {
        let body = r#"{"update_id":10000,"message":{"message_id":1365,"from":{"id":1111111,"first_name":"Test","username":"Test"},"chat":{"id":1111111,"type":"private","username":"Test"},"date":1441645532,"text":"/start"}}"#;
        let n = read("telegram", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "message");
        assert_eq!(n.delivery_id.as_deref(), Some("10000"));
        assert_eq!(n.subject.as_deref(), Some("@Test"));
        assert_eq!(n.summary.as_deref(), Some("Test: /start"));
    }
}
