//! Rows derived from an event at ingest (Stripe events that call for an action, pushes,
//! deployments, GitHub activity), written in the same transaction as the event and only when it is
//! new; the MCP tools read them back.

use chrono::Utc;

use crate::sources::Provider;

pub mod deploy;
pub mod github;
pub mod stripe;

/// A row derived from an event, stored with it.
#[derive(Debug, Clone, PartialEq)]
pub enum Derived {
    Action(stripe::NewAction),
    Push(deploy::Push),
    Deployment(deploy::Deployment),
    GitHub(github::Activity),
}

/// The rows a provider's event implies: Stripe actions, GitHub pushes, deployments. `payload` is
/// the stored JSON text.
pub fn rows(
    provider: Option<Provider>,
    event_type: &str,
    payload: &str,
    stripe_rules: &stripe::Rules,
) -> Vec<Derived> {
    let value = || serde_json::from_str(payload).unwrap_or(serde_json::Value::Null);
    match (provider, event_type) {
        (Some(Provider::Stripe), t) => {
            let action = stripe_rules.action_for(t, &value());
            action.map(Derived::Action).into_iter().collect()
        }
        (Some(Provider::Github), t) => {
            let payload = value();
            let mut rows: Vec<Derived> = Vec::new();
            if t == "push" {
                rows.extend(deploy::pushes(&payload).into_iter().map(Derived::Push));
            }
            if matches!(t, "deployment" | "deployment_status") {
                rows.extend(deploy::github(t, &payload).map(Derived::Deployment));
            }
            let now = crate::time::format_time(Utc::now());
            rows.extend(github::activity(t, &payload, &now).map(Derived::GitHub));
            rows
        }
        (Some(Provider::Vercel), t) => deploy::vercel(t, &value())
            .map(Derived::Deployment)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}
