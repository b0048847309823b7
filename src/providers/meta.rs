//! Meta (WhatsApp Cloud API, Messenger, Instagram): the URL is verified with a GET carrying
//! `hub.mode=subscribe`, `hub.verify_token` and `hub.challenge`, answered with the challenge when
//! the token is the source's `verify_token` (403 otherwise); nothing is stored. Deliveries are
//! signed with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>`. Type =
//! `<object>.<field>` (`whatsapp_business_account.messages`, `page.messaging`), subject = the
//! entry's id, summary = the first message's sender and text.

use std::sync::Arc;

use axum::http::Method;
use subtle::ConstantTimeEq;

use super::{Answer, Incoming, Normalized, Options, Provider};
use crate::payload::{Json, at, first, str_at, text};
use crate::secret::Secret;
use crate::signature::hub::HubSignature256;
use crate::signature::{Delivery, Scheme};

const MAX_CHALLENGE: usize = 256;

#[derive(Debug)]
pub struct Meta {
    verify_token: Option<Secret>,
}

pub fn build(options: Options<'_>) -> Result<Arc<dyn Provider>, String> {
    if options.hmac.is_some() {
        return Err("an hmac table needs provider = \"hmac\"".into());
    }
    Ok(Arc::new(Meta {
        verify_token: options.verify_token,
    }))
}

impl Provider for Meta {
    fn name(&self) -> &'static str {
        "meta"
    }

    fn timed(&self) -> bool {
        false
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&HubSignature256)
    }

    fn handshake(
        &self,
        method: &Method,
        d: &Delivery<'_>,
        _secrets: &[Secret],
    ) -> Option<Result<Answer, String>> {
        if method == Method::POST {
            return None;
        }
        let Some(expected) = &self.verify_token else {
            return Some(Err(
                "this source has no verify_token: set one in its [sources.NAME] table, the same \
                 as in Meta's webhook settings"
                    .into(),
            ));
        };
        let (mode, token, challenge) = (
            d.query("hub.mode"),
            d.query("hub.verify_token"),
            d.query("hub.challenge"),
        );
        let (Some("subscribe"), Some(token), Some(challenge)) = (mode.as_deref(), token, challenge)
        else {
            return Some(Err(
                "a GET here is Meta's verification: hub.mode=subscribe, hub.verify_token and \
                 hub.challenge expected"
                    .into(),
            ));
        };
        if !bool::from(expected.expose().as_bytes().ct_eq(token.as_bytes())) {
            return Some(Ok(Answer {
                status: 403,
                ..Answer::text("hub.verify_token is not this source's verify_token")
            }));
        }
        Some(match super::echoable(&challenge, MAX_CHALLENGE) {
            true => Ok(Answer::text(challenge)),
            false => Err(format!(
                "hub.challenge must be 1 to {MAX_CHALLENGE} printable characters"
            )),
        })
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        let Some(object) = str_at(v, "object") else {
            return;
        };
        let Some(entry) = first(v, "entry") else {
            n.event_type = object.to_owned();
            return;
        };
        let change = first(entry, "changes");
        let field = match change {
            Some(c) => str_at(c, "field"),
            None => at(entry, "messaging").map(|_| "messaging"),
        };
        n.event_type = match field {
            Some(f) => format!("{object}.{f}"),
            None => object.to_owned(),
        };
        n.subject = text(entry, "id");
        // WhatsApp: changes[0].value.messages[0]; Messenger: messaging[0].message.
        let message: Option<&Json<'_>> = change
            .and_then(|c| first(c, "value/messages"))
            .or_else(|| first(entry, "messaging"));
        n.delivery_id = message
            .and_then(|m| text(m, "id").or_else(|| text(m, "message/mid")))
            .or(n.delivery_id.take());
        let from = message.and_then(|m| str_at(m, "from").or_else(|| str_at(m, "sender/id")));
        let said =
            message.and_then(|m| str_at(m, "text/body").or_else(|| str_at(m, "message/text")));
        n.summary = match (from, said) {
            (Some(f), Some(s)) => Some(format!("{f}: {s}")),
            (None, Some(s)) => Some(s.to_owned()),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;

    fn get(p: &Meta, url: &str) -> Option<Result<Answer, String>> {
        let h = HeaderMap::new();
        let d = Delivery {
            headers: &h,
            body: b"",
            now: 0,
            url,
        };
        p.handshake(&Method::GET, &d, &[])
    }

    #[test]
    fn the_challenge_is_answered_only_for_the_verify_token() {
        let p = Meta {
            verify_token: Some(Secret::new("meatyhamhock")),
        };
        let ok = "https://h/webhook/wa?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";
        assert_eq!(get(&p, ok), Some(Ok(Answer::text("1158201444"))));
        let wrong = ok.replace("meatyhamhock", "guess");
        assert_eq!(get(&p, &wrong).unwrap().unwrap().status, 403);
        assert!(matches!(get(&p, "https://h/webhook/wa"), Some(Err(_))));
        let unset = Meta { verify_token: None };
        assert!(matches!(get(&unset, ok), Some(Err(e)) if e.contains("verify_token")));
    }

    #[test]
    fn a_whatsapp_message_names_its_sender() {
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","messages":[{"from":"16315551181","id":"wamid.ABGG","type":"text","text":{"body":"this is a text message"}}]}}]}]}"#;
        let n = read("meta", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "whatsapp_business_account.messages");
        assert_eq!(n.subject.as_deref(), Some("102290129340398"));
        assert_eq!(n.delivery_id.as_deref(), Some("wamid.ABGG"));
        assert_eq!(
            n.summary.as_deref(),
            Some("16315551181: this is a text message")
        );
    }
}
