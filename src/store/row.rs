//! An event as the backends write and read it: every text column prepared once, off the writer.

use crate::event::{Event, NewEvent, PayloadEncoding, format_time};
use crate::store::StoreError;

/// An event as a writer binds it: every text column prepared by the caller (on tokio's threads),
/// so a backend's writer spends its time only on the database.
pub struct Row {
    pub source: String,
    pub event_type: String,
    pub delivery_id: Option<String>,
    pub received_at: String,
    pub headers: String,
    pub content_type: Option<String>,
    pub payload_encoding: &'static str,
    pub payload: Box<serde_json::value::RawValue>,
    pub verified: Option<bool>,
    pub subject: Option<String>,
    pub occurred_at: Option<String>,
    pub summary: Option<String>,
    pub search_text: String,
    pub derived: Vec<crate::views::Derived>,
}

impl From<NewEvent> for Row {
    fn from(e: NewEvent) -> Self {
        Self {
            search_text: crate::store::search_text::search_text(
                e.payload_encoding,
                e.payload.get(),
            ),
            received_at: format_time(e.received_at),
            headers: serde_json::Value::Object(e.headers).to_string(),
            payload_encoding: e.payload_encoding.as_str(),
            occurred_at: e.occurred_at.map(format_time),
            source: e.source,
            event_type: e.event_type,
            delivery_id: e.delivery_id,
            content_type: e.content_type,
            payload: e.payload,
            verified: e.verified,
            subject: e.subject,
            summary: e.summary,
            derived: e.derived,
        }
    }
}

/// A stored event whose JSON columns are still text; `into_event` parses them.
pub struct RawEvent {
    pub event: Event,
    pub headers: String,
    pub payload_encoding: String,
    pub payload: String,
}

impl RawEvent {
    pub fn into_event(self) -> Result<Event, StoreError> {
        let id = self.event.id;
        let corrupt = |what: &str| StoreError::Corrupt(format!("event {id}: bad {what}"));
        let mut event = self.event;
        event.headers = serde_json::from_str(&self.headers).map_err(|_| corrupt("headers"))?;
        event.payload = serde_json::from_str(&self.payload).map_err(|_| corrupt("payload"))?;
        event.payload_encoding =
            PayloadEncoding::parse(&self.payload_encoding).ok_or_else(|| corrupt("encoding"))?;
        Ok(event)
    }
}
