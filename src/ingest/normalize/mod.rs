//! Normalization: every delivery gets a type and a delivery id from well-known headers and the
//! body (`generic`); a configured provider's file then fills in what that provider's payloads
//! say (its own type and id fields, the subject, when it happened, a one-line summary).

mod generic;
mod github;
mod others;
mod slack;
mod stripe;
mod vercel;

pub use generic::{MAX_ID_LEN, delivery_id, event_type, header_type};
pub use slack::challenge as slack_challenge;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::event::PayloadEncoding;
use crate::sources::Provider;

/// What normalization derives from one delivery.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalized {
    pub event_type: String,
    pub delivery_id: Option<String>,
    pub subject: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
}

/// The body as a provider normalizer sees it.
pub struct Body<'a> {
    pub encoding: PayloadEncoding,
    /// The payload as JSON text.
    pub json: &'a str,
}

impl Body<'_> {
    /// The payload parsed as a JSON tree (for providers whose payloads are small or rare).
    pub fn value(&self) -> Value {
        serde_json::from_str(self.json).unwrap_or(Value::Null)
    }
}

pub fn normalize(
    provider: Option<Provider>,
    headers: &HeaderMap,
    body_type: Option<&str>,
    body: &Body<'_>,
) -> Normalized {
    let mut n = Normalized {
        event_type: event_type(headers, body_type),
        delivery_id: delivery_id(headers).map(str::to_owned),
        ..Default::default()
    };
    match provider {
        Some(Provider::Github) => github::apply(&mut n, body),
        Some(Provider::Stripe) => stripe::apply(&mut n, body),
        Some(Provider::Slack) => slack::apply(&mut n, headers, body),
        Some(Provider::Vercel) => vercel::apply(&mut n, body),
        Some(Provider::StandardWebhooks) => others::standard(&mut n, headers, body),
        Some(Provider::Gitlab) => others::gitlab(&mut n, body),
        Some(Provider::Shopify) => others::shopify(&mut n, headers),
        Some(Provider::Linear) => others::linear(&mut n, headers, body),
        Some(Provider::Hmac | Provider::None) | None => {}
    }
    // A provider's own field can be present and empty (an empty `X-Shopify-Topic`, say).
    if n.event_type.trim().is_empty() {
        n.event_type = "unknown".to_owned();
    }
    n
}

/// A string field at a JSON pointer.
fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Unix seconds (or milliseconds when `millis`) at a JSON pointer, as a time.
fn unix(v: &Value, pointer: &str, millis: bool) -> Option<DateTime<Utc>> {
    let n = v.pointer(pointer)?.as_i64()?;
    if millis {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}
