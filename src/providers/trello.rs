//! Trello: signed with `X-Trello-Webhook`, the base64 HMAC-SHA1 of the body followed by the
//! callback URL, keyed with the application's secret. Untimed. When a webhook is created Trello
//! checks the callback URL with a `HEAD`, answered `200` with nothing stored. Type =
//! `action.type` (`updateCard`, `commentCard`, …), delivery id = `action.id`, occurred_at =
//! `action.date`, subject = the model (board or card) name, summary = who did what to which card.

use std::sync::LazyLock;

use axum::http::Method;

use super::{Answer, Incoming, Normalized, Provider};
use crate::payload::{str_at, text};
use crate::secret::Secret;
use crate::signature::{Algorithm, Delivery, Encoding, HmacScheme, Scheme};

static SCHEME: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "X-Trello-Webhook",
        "",
        Algorithm::Sha1,
        Encoding::Base64,
        "{body}{url}",
    )
});

#[derive(Debug)]
pub struct Trello;

impl Provider for Trello {
    fn name(&self) -> &'static str {
        "trello"
    }

    fn timed(&self) -> bool {
        false
    }

    fn signs_url(&self) -> bool {
        true
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*SCHEME)
    }

    /// Trello's `HEAD` on the callback URL when the webhook is created.
    fn handshake(
        &self,
        method: &Method,
        _d: &Delivery<'_>,
        _secrets: &[Secret],
    ) -> Option<Result<Answer, String>> {
        (method == Method::HEAD).then(|| Ok(Answer::empty(200)))
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "action/type") {
            n.event_type = t;
        }
        n.delivery_id = text(v, "action/id").or(n.delivery_id.take());
        n.occurred_at = super::rfc3339(v, "action/date");
        n.subject = text(v, "model/name");
        let who = str_at(v, "action/memberCreator/fullName");
        let card = str_at(v, "action/data/card/name");
        n.summary = match (who, card) {
            (Some(w), Some(c)) => Some(format!("{w}: {} on {c}", n.event_type)),
            (None, Some(c)) => Some(format!("{} on {c}", n.event_type)),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn an_action_names_its_card() {
        let body = r#"{"model":{"id":"5a","name":"Roadmap"},"action":{"id":"5b","type":"updateCard","date":"2024-01-02T03:04:05.000Z","memberCreator":{"fullName":"Ann Lee"},"data":{"card":{"name":"Ship it"}}}}"#;
        let n = read("trello", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "updateCard");
        assert_eq!(n.delivery_id.as_deref(), Some("5b"));
        assert_eq!(n.subject.as_deref(), Some("Roadmap"));
        assert_eq!(n.summary.as_deref(), Some("Ann Lee: updateCard on Ship it"));
    }
}
