//! Stripe: type = `type`, delivery id = the event `id`, occurred_at = `created`, subject = the
//! customer of the event's object.

use super::{Body, Normalized, text, unix};

pub fn apply(n: &mut Normalized, body: &Body<'_>) {
    let v = body.value();
    if let Some(t) = text(&v, "/type") {
        n.event_type = t;
    }
    n.delivery_id = text(&v, "/id").or(n.delivery_id.take());
    n.occurred_at = unix(&v, "/created", false);
    let object = v.pointer("/data/object");
    n.subject = object.and_then(|o| {
        text(o, "/customer")
            .or_else(|| text(o, "/customer_email"))
            .or_else(|| text(o, "/id"))
    });
    let what = object.and_then(|o| text(o, "/object")).unwrap_or_default();
    n.summary = Some(format!(
        "{} ({what} {})",
        n.event_type,
        n.subject.as_deref().unwrap_or("?")
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PayloadEncoding;

    #[test]
    fn a_real_invoice_event() {
        let json = include_str!("../../../tests/fixtures/stripe/invoice.payment_failed.json");
        let mut n = Normalized::default();
        apply(
            &mut n,
            &Body {
                encoding: PayloadEncoding::Json,
                json,
            },
        );
        assert_eq!(n.event_type, "invoice.payment_failed");
        assert!(n.delivery_id.as_deref().unwrap().starts_with("evt_"));
        assert_eq!(n.subject.as_deref(), Some("cus_QXg1o8vcGmoR32"));
        assert!(n.occurred_at.is_some());
    }
}
