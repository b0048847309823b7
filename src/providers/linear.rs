//! Linear: signed with `Linear-Signature` (hex HMAC-SHA256 of the body); type =
//! `<type>.<action>` (e.g. `Issue.create`), id = `Linear-Delivery`, subject = the issue's
//! identifier.

use super::{Incoming, Normalized, Provider, generic, header};
use crate::payload::{str_at, text};
use std::sync::LazyLock;

use crate::signature::{Algorithm, Encoding, HmacScheme, Scheme};

/// `Linear-Signature: <hex HMAC-SHA256(secret, body)>`.
static LINEAR: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "Linear-Signature",
        "",
        Algorithm::Sha256,
        Encoding::Hex,
        "{body}",
    )
});

#[derive(Debug)]
pub struct Linear;

impl Provider for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn timed(&self) -> bool {
        false
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*LINEAR)
    }

    fn identify(&self, event_type: Option<&str>, delivery_id: &str) -> Vec<(String, String)> {
        let mut headers = generic::identify(event_type, None);
        headers.push(("Linear-Delivery".into(), delivery_id.into()));
        headers
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let (Some(t), Some(a)) = (str_at(v, "type"), str_at(v, "action")) {
            n.event_type = format!("{t}.{a}");
        }
        n.delivery_id = header(d.headers, "linear-delivery").or(n.delivery_id.take());
        n.subject = text(v, "data/identifier").or_else(|| text(v, "data/id"));
        n.summary = str_at(v, "data/title").map(|t| format!("{} {t}", n.event_type));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn type_and_delivery() {
        let mut h = HeaderMap::new();
        h.insert("linear-delivery", "d-1".parse().unwrap());
        let json = r#"{"action":"create","type":"Issue","data":{"id":"x","identifier":"ENG-1","title":"Fix it"}}"#;
        let n = read("linear", &h, json);
        assert_eq!(
            (n.event_type.as_str(), n.delivery_id.as_deref()),
            ("Issue.create", Some("d-1"))
        );
        assert_eq!(n.subject.as_deref(), Some("ENG-1"));
    }
}
