//! Square: signed with `x-square-hmacsha256-signature`, the base64 HMAC-SHA256 of the
//! notification URL (as entered in the Developer Console, which is the URL Square calls)
//! followed by the body, keyed with the subscription's signature key. Untimed. Type = `type`
//! (`payment.updated`, …), delivery id = `event_id`, occurred_at = `created_at`, subject = the
//! object's id, summary = its status and amount.

use std::sync::LazyLock;

use super::{Incoming, Normalized, Provider};
use crate::payload::{int, str_at, text};
use crate::signature::{Algorithm, Encoding, HmacScheme, Scheme};

static SCHEME: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "x-square-hmacsha256-signature",
        "",
        Algorithm::Sha256,
        Encoding::Base64,
        "{url}{body}",
    )
});

#[derive(Debug)]
pub struct Square;

impl Provider for Square {
    fn name(&self) -> &'static str {
        "square"
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

    fn with_delivery_id(&self, body: &[u8], delivery_id: &str) -> Option<Vec<u8>> {
        super::with_field(body, "event_id", delivery_id)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        n.delivery_id = text(v, "event_id").or(n.delivery_id.take());
        n.occurred_at = super::rfc3339(v, "created_at");
        n.subject = text(v, "data/id");
        let kind = str_at(v, "data/type").unwrap_or("object");
        let object = crate::payload::at(v, &format!("data/object/{kind}"));
        let status = object.and_then(|o| str_at(o, "status"));
        let amount = object.and_then(|o| {
            let cents = int(o, "amount_money/amount")?;
            let currency = str_at(o, "amount_money/currency").unwrap_or("");
            Some(format!(
                "{}.{:02} {currency}",
                cents / 100,
                (cents % 100).abs()
            ))
        });
        n.summary = match (status, amount) {
            (Some(s), Some(a)) => Some(format!("{}: {s}, {a}", n.event_type)),
            (Some(s), None) => Some(format!("{}: {s}", n.event_type)),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn a_payment_names_its_status_and_amount() {
        let body = r#"{"merchant_id":"6SSW7HV8K2ST5","type":"payment.updated","event_id":"13b867cf","created_at":"2020-02-06T21:27:34.308Z","data":{"type":"payment","id":"KkAkhdMsgzn59SM8A89WgKwekxLZY","object":{"payment":{"status":"COMPLETED","amount_money":{"amount":1050,"currency":"USD"}}}}}"#;
        let n = read("square", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "payment.updated");
        assert_eq!(n.delivery_id.as_deref(), Some("13b867cf"));
        assert_eq!(n.subject.as_deref(), Some("KkAkhdMsgzn59SM8A89WgKwekxLZY"));
        assert_eq!(
            n.summary.as_deref(),
            Some("payment.updated: COMPLETED, 10.50 USD")
        );
    }
}
