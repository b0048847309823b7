//! Intercom: signed with `X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, body)>`; a
//! notification names its `topic` (type, e.g. `conversation.user.created`), its `id` (delivery
//! id), `created_at`, and the item it concerns (`data.item`: subject = its id).

use std::sync::LazyLock;

use super::{Incoming, Normalized, Provider, unix};
use crate::payload::{str_at, text};
use crate::signature::{Algorithm, Encoding, HmacScheme, Scheme};

static SCHEME: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "X-Hub-Signature",
        "sha1=",
        Algorithm::Sha1,
        Encoding::Hex,
        "{body}",
    )
});

#[derive(Debug)]
pub struct Intercom;

impl Provider for Intercom {
    fn name(&self) -> &'static str {
        "intercom"
    }

    fn timed(&self) -> bool {
        false
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*SCHEME)
    }

    fn with_delivery_id(&self, body: &[u8], delivery_id: &str) -> Option<Vec<u8>> {
        super::with_field(body, "id", delivery_id)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "topic") {
            n.event_type = t;
        }
        n.delivery_id = text(v, "id").or(n.delivery_id.take());
        n.occurred_at = unix(v, "created_at", false);
        n.subject = text(v, "data/item/id");
        let who = str_at(v, "data/item/user/email")
            .or_else(|| str_at(v, "data/item/email"))
            .or_else(|| str_at(v, "data/item/name"));
        n.summary = who.map(|w| format!("{}: {w}", n.event_type));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn a_notification_names_its_topic_and_item() {
        let body = r#"{"type":"notification_event","topic":"contact.user.created","id":"notif_1","created_at":1700000000,"data":{"item":{"type":"contact","id":"c-9","email":"jo@example.com"}}}"#;
        let n = read("intercom", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "contact.user.created");
        assert_eq!(n.delivery_id.as_deref(), Some("notif_1"));
        assert_eq!(n.subject.as_deref(), Some("c-9"));
        assert_eq!(
            n.summary.as_deref(),
            Some("contact.user.created: jo@example.com")
        );
        assert_eq!(n.occurred_at.unwrap().timestamp(), 1_700_000_000);
    }
}
