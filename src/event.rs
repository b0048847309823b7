//! The event model: what ingest hands the store (`NewEvent`), what readers get back (`Event`), and
//! how readers select events (`EventFilter`).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How the request body was turned into `payload`: `json` (the body was JSON and `payload` is
/// that value), `form` (`application/x-www-form-urlencoded`; `payload` is an object of its
/// fields), `text` (UTF-8 text of another type; `payload` is that string) or `base64` (not
/// UTF-8; `payload` is its standard base64 encoding).
// No doc comment per variant: the schema stays a plain `enum` of strings, which clients
// validating every answer against the output schema check far faster than a `oneOf`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PayloadEncoding {
    #[default]
    Json,
    Form,
    Text,
    Base64,
}

impl PayloadEncoding {
    /// JSON, the encoding an answer leaves unsaid.
    pub fn is_json(&self) -> bool {
        *self == Self::Json
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Form => "form",
            Self::Text => "text",
            Self::Base64 => "base64",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "json" => Self::Json,
            "form" => Self::Form,
            "text" => Self::Text,
            "base64" => Self::Base64,
            _ => return None,
        })
    }
}

/// An event as ingest produced it, before the store gave it an id.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub source: String,
    pub event_type: String,
    pub delivery_id: Option<String>,
    pub received_at: DateTime<Utc>,
    /// Request headers with credentials removed (see `ingest::headers`).
    pub headers: Map<String, Value>,
    pub content_type: Option<String>,
    pub payload_encoding: PayloadEncoding,
    /// The payload as JSON text: a JSON body exactly as received (never re-serialized, which
    /// keeps ingest cheap and the stored bytes faithful), else the JSON encoding of the decoded
    /// form, text or base64 value.
    pub payload: crate::payload::JsonText,
    /// Whether a signature was checked: `None` until sources carry a verification scheme.
    pub verified: Option<bool>,
    pub subject: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    /// Rows derived from this event (actions, pushes, deployments), stored with it in one
    /// transaction and only if the event is new, so a retried delivery creates none.
    pub derived: Vec<crate::derive::Derived>,
    /// The words search finds it by, when ingest took them from its parse of the payload
    /// (`store::search_text::from_tree`); `None`: the store takes them from the payload.
    pub search_words: Option<String>,
}

/// A stored action: something an event calls for a person or an agent to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Action {
    pub id: i64,
    #[serde(rename = "type")]
    pub action_type: String,
    /// `pending` or `completed`.
    pub status: String,
    /// What the action needs (customer, email, amount in major units, currency, plan, …).
    pub fields: Map<String, Value>,
    /// The event that called for it.
    pub event_id: i64,
    #[serde(with = "crate::time::text")]
    #[schemars(with = "String")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::time::optional_text")]
    #[schemars(with = "Option<String>")]
    pub completed_at: Option<DateTime<Utc>>,
    /// What the completer said it did.
    pub details: Option<String>,
}

/// Which action to complete.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionTarget {
    Id(i64),
    /// The oldest pending action of this type.
    OldestOfType(String),
}

/// What completing an action did.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    Completed(Action),
    /// It was completed before; nothing changed.
    AlreadyCompleted(Action),
    NotFound,
}

/// A stored event. Fields are in the order a reader scans them (what it is first, the payload
/// last), which is also the order they are serialized in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    /// Strictly increasing, never reused.
    pub id: i64,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub subject: Option<String>,
    pub summary: Option<String>,
    /// RFC 3339, UTC.
    #[serde(with = "crate::time::text")]
    #[schemars(with = "String")]
    pub received_at: DateTime<Utc>,
    #[serde(with = "crate::time::optional_text")]
    #[schemars(with = "Option<String>")]
    pub occurred_at: Option<DateTime<Utc>>,
    pub delivery_id: Option<String>,
    pub verified: Option<bool>,
    /// How many times the same delivery arrived again after it was stored (a provider's retries
    /// and redeliveries); left out when none did.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicates: i64,
    /// Set only when the stored row could not be decoded as written (from an older version, or a
    /// bug): what failed. The payload is then the stored text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub content_type: Option<String>,
    /// Left out when it is `json`.
    #[serde(default, skip_serializing_if = "PayloadEncoding::is_json")]
    pub payload_encoding: PayloadEncoding,
    /// Left out when there are none (or they were not asked for).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub headers: Map<String, Value>,
    /// The body: JSON as sent, form fields as an object, text as a string, binary as base64
    /// (see `payload_encoding`).
    pub payload: Value,
}

/// A delivery refused by signature verification, kept so a user can see why. Never holds the
/// body or a secret: only its size and digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rejected {
    pub source: String,
    /// RFC 3339, UTC.
    #[serde(with = "crate::time::text")]
    #[schemars(with = "String")]
    pub received_at: DateTime<Utc>,
    /// The reason class: missing_header, malformed_header, bad_signature, stale_timestamp.
    pub reason: String,
    /// The failed check in words, e.g. "missing header x-hub-signature-256".
    pub detail: String,
    /// The request headers that were present (credentials redacted as for events).
    pub headers: Map<String, Value>,
    pub body_size: u64,
    /// Hex SHA-256 of the body, to compare with what the sender thinks it sent.
    pub body_sha256: String,
}

/// What `Store::append` reports: the event's id, and whether it was already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Appended {
    pub id: i64,
    pub duplicate: bool,
}

pub use crate::filter::{EventFilter, FieldMatch};

/// The order and size of a query's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The `n` events with the highest ids, returned oldest first.
    Newest(usize),
    /// The `n` events with the lowest ids, returned oldest first.
    Oldest(usize),
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}
