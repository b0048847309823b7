//! Stripe: signed with `Stripe-Signature`; type = `type`, delivery id = the event `id`,
//! occurred_at = `created`, subject = the customer of the event's object; the actions
//! `[stripe.actions]` asks for as derived rows.

use super::{Incoming, Normalized, Provider, unix};
use crate::derive::Derived;
use crate::payload::{at, str_at, text};
use crate::secret::Secret;
use crate::signature::{self, Delivery, Rejection, ToSign};

#[derive(Debug)]
pub struct Stripe;

impl Provider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        signature::stripe::verify(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        signature::stripe::sign(secret, d)
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
        let what = object.and_then(|o| str_at(o, "object")).unwrap_or_default();
        n.summary = Some(format!(
            "{} ({what} {})",
            n.event_type,
            n.subject.as_deref().unwrap_or("?")
        ));
        let action = d.settings.stripe_actions.action_for(&n.event_type, v);
        n.derived.extend(action.map(Derived::Action));
    }
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
}
