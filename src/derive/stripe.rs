//! Stripe events that trigger actions: rules map an event type to an action type, and each
//! action carries the fields a person needs to do it (who, how much, which plan). Actions are
//! created in the same transaction as their event, so a retried delivery creates nothing new.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::payload::{Json, at, int, str_at};

/// An action an event calls for, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    pub action_type: String,
    pub fields: Map<String, Value>,
}

/// Event type → action type.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules(BTreeMap<String, String>);

impl Default for Rules {
    fn default() -> Self {
        Self(BTreeMap::from([
            (
                "checkout.session.completed".into(),
                "send_welcome_email".into(),
            ),
            (
                "invoice.payment_failed".into(),
                "send_payment_failed_email".into(),
            ),
            (
                "customer.subscription.deleted".into(),
                "send_churn_survey".into(),
            ),
        ]))
    }
}

impl Rules {
    /// The defaults with `overrides` on top; an empty action type removes a default rule.
    pub fn with(overrides: BTreeMap<String, String>) -> Self {
        let mut rules = Self::default();
        for (event, action) in overrides {
            if action.is_empty() {
                rules.0.remove(&event);
            } else {
                rules.0.insert(event, action);
            }
        }
        rules
    }

    /// The action a Stripe event of `event_type` with `payload` calls for, if any.
    pub fn action_for(&self, event_type: &str, payload: &Json<'_>) -> Option<NewAction> {
        let action_type = self.0.get(event_type)?.clone();
        Some(NewAction {
            action_type,
            fields: fields(payload),
        })
    }
}

/// The fields an action needs, from the event's `data.object`, by what that object is.
fn fields(payload: &Json<'_>) -> Map<String, Value> {
    let empty = Json::Null;
    let o = at(payload, "data/object").unwrap_or(&empty);
    let s = |p: &str| at(o, p).map_or(Value::Null, Value::from);
    let currency = str_at(o, "currency").unwrap_or("");
    let money =
        |p: &str| int(o, p).map_or(Value::Null, |minor| json!(major_units(minor, currency)));
    let email = at(o, "customer_details/email")
        .or_else(|| at(o, "customer_email"))
        .map_or(Value::Null, Value::from);
    let mut f = Map::new();
    f.insert("customer".into(), s("customer"));
    f.insert("customer_email".into(), email);
    f.insert("object_id".into(), s("id"));
    f.insert("currency".into(), json!(currency.to_ascii_uppercase()));
    match str_at(o, "object") {
        Some("checkout.session") => {
            f.insert("amount".into(), money("amount_total"));
        }
        Some("invoice") => {
            f.insert("amount_due".into(), money("amount_due"));
            f.insert("attempt_count".into(), s("attempt_count"));
            f.insert("hosted_invoice_url".into(), s("hosted_invoice_url"));
        }
        Some("subscription") => {
            let item = at(o, "items/data").and_then(|d| d.as_array()?.first());
            let id = |p: &str| item.and_then(|i| at(i, p)).map_or(Value::Null, Value::from);
            f.insert("price_id".into(), id("price/id"));
            f.insert("plan_id".into(), id("plan/id"));
        }
        _ => {}
    }
    f
}

/// Currencies whose amounts Stripe gives in major units already (¥1500 is `1500`, not `150000`).
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// A Stripe amount in major units as text: `1099 usd` → `"10.99"`, `1500 jpy` → `"1500"`.
pub fn major_units(minor: i64, currency: &str) -> String {
    if ZERO_DECIMAL.contains(&currency.to_ascii_lowercase().as_str()) {
        return minor.to_string();
    }
    let sign = if minor < 0 { "-" } else { "" };
    // `unsigned_abs`: a sender's `i64::MIN` has no positive `i64`.
    let units = minor.unsigned_abs();
    format!("{sign}{}.{:02}", units / 100, units % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The action `rules` give a fixture's event of `event_type`.
    fn action(rules: &Rules, event_type: &str, name: &str) -> Option<NewAction> {
        let path = format!(
            "{}/tests/fixtures/stripe/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        rules.action_for(event_type, &crate::payload::parse(text.trim()).unwrap())
    }

    #[test]
    fn amounts_respect_zero_decimal_currencies() {
        assert_eq!(major_units(1099, "usd"), "10.99");
        assert_eq!(major_units(5, "eur"), "0.05");
        assert_eq!(major_units(1500, "JPY"), "1500");
        assert_eq!(major_units(-250, "usd"), "-2.50");
    }

    #[test]
    fn the_default_rules_on_real_payloads() {
        let rules = Rules::default();
        let welcome = action(
            &rules,
            "checkout.session.completed",
            "checkout.session.completed.json",
        )
        .unwrap();
        assert_eq!(welcome.action_type, "send_welcome_email");
        assert_eq!(welcome.fields["customer_email"], "jenny.rosen@example.com");
        assert_eq!(
            (&welcome.fields["amount"], &welcome.fields["currency"]),
            (&json!("10.99"), &json!("USD"))
        );
        let yen = action(
            &rules,
            "checkout.session.completed",
            "checkout.session.completed.jpy.json",
        )
        .unwrap();
        assert_eq!(
            (&yen.fields["amount"], &yen.fields["currency"]),
            (&json!("1500"), &json!("JPY"))
        );
        let failed = action(
            &rules,
            "invoice.payment_failed",
            "invoice.payment_failed.json",
        )
        .unwrap();
        assert_eq!(failed.fields["amount_due"], "10.00");
        assert_eq!(failed.fields["customer"], "cus_QXg1o8vcGmoR32");
        let churn = action(
            &rules,
            "customer.subscription.deleted",
            "customer.subscription.deleted.json",
        )
        .unwrap();
        assert_eq!(churn.fields["price_id"], "price_1PgafmB7WZ01zgkW6dKueIc5");
        assert!(action(&rules, "invoice.paid", "invoice.paid.json").is_none());
    }

    #[test]
    fn configured_rules_override_and_remove_defaults() {
        let rules = Rules::with(BTreeMap::from([
            ("invoice.paid".to_owned(), "send_receipt".to_owned()),
            ("customer.subscription.deleted".to_owned(), String::new()),
        ]));
        assert!(
            rules
                .action_for("invoice.paid", &Json::Object(Default::default()))
                .is_some()
        );
        assert!(
            rules
                .action_for("customer.subscription.deleted", &Json::Null)
                .is_none()
        );
    }
}
