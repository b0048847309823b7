//! Stripe: signed with `Stripe-Signature`; type = `type`, delivery id = the event `id`,
//! occurred_at = `created`, subject = the customer of the event's object; the actions
//! `[stripe.actions]` asks for as derived rows.

use super::{Incoming, Normalized, Provider, unix};
use crate::derive::Derived;
use crate::payload::{Json, at, int, str_at, text};
use crate::secret::Secret;
use crate::signature::pairs::Pairs;
use crate::signature::{Delivery, Rejection, ToSign};

#[derive(Debug)]
pub struct Stripe;

impl Provider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn toolsets(&self) -> &'static [crate::config::Toolset] {
        &[crate::config::Toolset::Stripe]
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        verify(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        sign(secret, d)
    }

    fn with_delivery_id(&self, body: &[u8], delivery_id: &str) -> Option<Vec<u8>> {
        super::with_field(body, "id", delivery_id)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "type") {
            n.event_type = t;
        }
        n.delivery_id = text(v, "id").or(n.delivery_id.take());
        n.occurred_at = unix(v, "created", false);
        let object = at(v, "data/object");
        n.subject = object.and_then(|o| {
            text(o, "customer")
                .or_else(|| text(o, "customer_email"))
                .or_else(|| text(o, "id"))
        });
        n.summary = Some(summary(&n.event_type, object));
        let action = d.settings.stripe_actions.action_for(&n.event_type, v);
        n.derived.extend(action.map(Derived::Action));
    }
}

/// `invoice.payment_failed: invoice in_1Mt…, 10.00 USD, jenny.rosen@example.com`: the object
/// by its own id, the amount with its currency, and who (an email or name, else the customer id).
fn summary(event_type: &str, object: Option<&Json<'_>>) -> String {
    let Some(o) = object else {
        return event_type.to_owned();
    };
    let mut parts = Vec::new();
    let what = str_at(o, "object").unwrap_or("object");
    parts.push(match str_at(o, "id") {
        Some(id) => format!("{what} {id}"),
        None => what.to_owned(),
    });
    let amount = ["amount_due", "amount_total", "amount", "amount_paid"]
        .iter()
        .find_map(|p| int(o, p));
    if let (Some(minor), Some(currency)) = (amount, str_at(o, "currency")) {
        let major = crate::derive::stripe::major_units(minor, currency);
        parts.push(format!("{major} {}", currency.to_ascii_uppercase()));
    }
    let who = [
        "customer_details/email",
        "customer_email",
        "receipt_email",
        "billing_details/email",
        "email",
        "customer_name",
        "customer_details/name",
        "billing_details/name",
        "customer",
    ]
    .iter()
    .find_map(|p| str_at(o, p).filter(|s| !s.is_empty()));
    parts.extend(who.map(str::to_owned));
    format!("{event_type}: {}", parts.join(", "))
}

// ---- The signature ----
// Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>[,v1=…]`, with a
// 300 s tolerance. The `whsec_…` secret is the HMAC key as-is.

const SCHEME: Pairs = Pairs {
    header: "Stripe-Signature",
    separator: ',',
    time: Some("t"),
    signature: "v1",
    joiner: ".",
    tolerance: 300,
};

fn verify(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
    SCHEME.verify(secrets, d)
}

/// The header Stripe would send for `d`.
fn sign(secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
    SCHEME.sign(secret, d)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn a_real_invoice_event() {
        let json = include_str!("../../tests/fixtures/stripe/invoice.payment_failed.json");
        let n = read("stripe", &HeaderMap::new(), json);
        assert_eq!(n.event_type, "invoice.payment_failed");
        assert!(n.delivery_id.as_deref().unwrap().starts_with("evt_"));
        assert_eq!(n.subject.as_deref(), Some("cus_QXg1o8vcGmoR32"));
        assert!(n.occurred_at.is_some());
        assert!(matches!(
            &n.derived[..],
            [crate::derive::Derived::Action(a)] if a.action_type == "send_payment_failed_email"
        ));
    }

    #[test]
    fn summaries_name_the_object_the_amount_and_who() {
        let summary = |name: &str| {
            let path = format!(
                "{}/tests/fixtures/stripe/{name}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let json = std::fs::read_to_string(path).unwrap();
            read("stripe", &HeaderMap::new(), &json).summary.unwrap()
        };
        assert_eq!(
            summary("invoice.payment_failed"),
            "invoice.payment_failed: invoice in_1Pgc6tB7WZ01zgkWu9fdqL6I, 10.00 USD, \
             jenny.rosen@example.com"
        );
        assert!(summary("checkout.session.completed.jpy").contains(", 1500 JPY, "));
        assert!(summary("charge.refunded").ends_with("1.00 USD, Jenny Rosen"));
        assert!(summary("customer.subscription.deleted").ends_with("cus_QXg1o8vcGmoR32"));
    }

    #[test]
    fn an_absurd_amount_is_no_panic() {
        let json = r#"{"type":"x","data":{"object":{"object":"charge","amount":-9223372036854775808,"currency":"usd"}}}"#;
        let n = read("stripe", &HeaderMap::new(), json);
        assert!(n.summary.unwrap().contains("-92233720368547758.08 USD"));
    }
}

#[cfg(test)]
mod signature_tests {
    use super::*;
    use crate::signature::test_support;

    // Generated with PyPI stripe 16.1.0 over tests/fixtures/stripe/checkout.session.completed.json.
    const SIG: &str =
        "t=1700000000,v1=e87bd3a51a0dae2358ba943601b9dee6fbe27fd08b20aefc19b460360e00bd71";
    const BODY: &[u8] =
        include_bytes!("../../tests/fixtures/stripe/checkout.session.completed.json");

    fn check(secret: &[&str], sig: &str, body: &[u8], now: i64) -> Result<(), Rejection> {
        test_support::check(verify, secret, &[("stripe-signature", sig)], body, now)
    }

    #[test]
    fn the_stripe_library_vector_verifies_within_the_tolerance() {
        assert_eq!(check(&["whsec_test"], SIG, BODY, 1_700_000_100), Ok(()));
        let with_old = format!("{SIG},v1=00ff,v0=abc");
        assert_eq!(
            check(&["whsec_test"], &with_old, BODY, 1_700_000_000),
            Ok(())
        );
    }

    #[test]
    fn stale_future_tampered_and_wrong_secret_are_refused() {
        assert_eq!(
            check(&["whsec_test"], SIG, BODY, 1_700_000_301),
            Err(Rejection::StaleTimestamp(300))
        );
        assert_eq!(
            check(&["whsec_test"], SIG, BODY, 1_699_999_600),
            Err(Rejection::FutureTimestamp(300))
        );
        assert_eq!(
            check(&["whsec_test"], SIG, b"{}", 1_700_000_000),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(&["whsec_other"], SIG, BODY, 1_700_000_000),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            check(&["whsec_test"], "t=1700000000", BODY, 0),
            Err(Rejection::Malformed("stripe-signature".into()))
        );
        assert_eq!(
            check(&["whsec_old", "whsec_test"], SIG, BODY, 1_700_000_000),
            Ok(())
        );
    }
}
