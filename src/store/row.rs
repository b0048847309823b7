//! An event as the backends write and read it: every text column prepared once, off the writer.

use crate::derive::Derived;
use crate::event::{Event, NewEvent, PayloadEncoding};
use crate::time::format_time;

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
    pub payload: crate::payload::JsonText,
    pub verified: Option<bool>,
    pub subject: Option<String>,
    pub occurred_at: Option<String>,
    pub summary: Option<String>,
    pub search_text: String,
    /// The payload parses into a `Value` (JSON functions can read it); see `search_text`.
    pub payload_parses: bool,
    pub derived: Vec<crate::derive::Derived>,
}

impl From<NewEvent> for Row {
    fn from(mut e: NewEvent) -> Self {
        for field in [&mut e.event_type, &mut e.source] {
            scrub(field);
        }
        for field in [&mut e.delivery_id, &mut e.subject, &mut e.summary] {
            field.as_mut().map(scrub);
        }
        e.derived.iter_mut().for_each(scrub_derived);
        bound_keys(&mut e);
        let words = match e.search_words.take() {
            Some(words) => Some(words),
            None => crate::store::search_text::search_text(e.payload_encoding, e.payload.get()),
        };
        let payload_parses = words.is_some();
        let mut search_text = words.unwrap_or_default();
        scrub(&mut search_text);
        Self {
            search_text,
            payload_parses,
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

/// Replaces NUL characters with U+FFFD. A JSON payload can carry NUL (`\u0000`) into the type,
/// summary or a derived row, and PostgreSQL text cannot hold it: unscrubbed, one such delivery
/// would fail the whole group commit it shares with others. Both backends store the same; the
/// payload itself keeps its escape.
fn scrub(s: &mut String) {
    if s.contains('\0') {
        *s = s.replace('\0', "\u{FFFD}");
    }
}

/// The longest text kept in an indexed column, in characters: 256 characters of at most 4 bytes
/// stay well under PostgreSQL's limit for a B-tree entry (about 2.7 KB), so an absurd `type` or
/// repository name in one delivery cannot fail the group commit it shares with others.
const MAX_KEY_CHARS: usize = 256;

fn bound(s: &mut String) {
    if let Some((end, _)) = s.char_indices().nth(MAX_KEY_CHARS) {
        s.truncate(end);
    }
}

/// Bounds every field that lands in an index.
fn bound_keys(e: &mut NewEvent) {
    bound(&mut e.source);
    bound(&mut e.event_type);
    e.delivery_id.as_mut().map(bound);
    for d in &mut e.derived {
        match d {
            Derived::Action(a) => bound(&mut a.action_type),
            Derived::Push(p) => [&mut p.repo, &mut p.sha].into_iter().for_each(bound),
            Derived::Deployment(d) => {
                [&mut d.platform, &mut d.project, &mut d.deployment_id]
                    .into_iter()
                    .for_each(bound);
                d.sha.as_mut().map(bound);
            }
            Derived::GitHub(a) => bound(&mut a.repo),
        }
    }
}

fn scrub_derived(d: &mut Derived) {
    let fields: Vec<&mut String> = match d {
        Derived::Action(a) => vec![&mut a.action_type],
        Derived::Push(p) => vec![
            &mut p.repo,
            &mut p.branch,
            &mut p.sha,
            &mut p.message,
            &mut p.author,
        ],
        Derived::Deployment(d) => {
            let mut f = vec![
                &mut d.platform,
                &mut d.project,
                &mut d.deployment_id,
                &mut d.state,
            ];
            f.extend(
                [&mut d.url, &mut d.sha, &mut d.environment]
                    .into_iter()
                    .flatten(),
            );
            f
        }
        Derived::GitHub(a) => {
            let mut f = vec![&mut a.repo, &mut a.event_type];
            let optional = [
                &mut a.action,
                &mut a.actor,
                &mut a.title,
                &mut a.state,
                &mut a.branch,
            ];
            f.extend(optional.into_iter().flatten());
            f
        }
    };
    fields.into_iter().for_each(scrub);
}

/// A stored event whose JSON columns are still text; `into_event` parses them.
pub struct RawEvent {
    pub event: Event,
    pub headers: String,
    pub payload_encoding: String,
    pub payload: String,
}

/// What a read returns of each event: the whole event, or what a list shows (no payload, no
/// headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Whole,
    Listed,
}

impl Shape {
    /// The stored text a read of this shape holds for `raw`, which its size bound counts.
    pub fn size(self, raw: &RawEvent) -> usize {
        match self {
            Shape::Whole => raw.size(),
            Shape::Listed => raw.listed_size(),
        }
    }
}

impl RawEvent {
    /// The stored text it holds (payload and headers), which an answer carrying it about costs.
    pub fn size(&self) -> usize {
        self.payload.len() + self.headers.len()
    }

    /// The text a list shows of it (read without payload and headers): what bounds a list.
    pub fn listed_size(&self) -> usize {
        let e = &self.event;
        let optional = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        e.source.len()
            + e.event_type.len()
            + optional(&e.delivery_id)
            + optional(&e.subject)
            + optional(&e.summary)
            + optional(&e.content_type)
    }

    /// Parses the JSON columns. A row that does not decode (written by an older version, or by a
    /// bug) never fails the answer it is part of: its payload is served as the stored text, with
    /// a note saying why, and the rest of the answer is served as usual.
    pub fn into_event(self) -> Event {
        let mut event = self.event;
        let mut problems = Vec::new();
        match serde_json::from_str(&self.headers) {
            Ok(headers) => event.headers = headers,
            Err(e) => problems.push(format!("headers ({e})")),
        }
        let parsed = match PayloadEncoding::parse(&self.payload_encoding) {
            None => Err(format!("unknown encoding {:?}", self.payload_encoding)),
            Some(encoding) => serde_json::from_str(&self.payload)
                .map(|payload| (encoding, payload))
                .map_err(|e| e.to_string()),
        };
        match parsed {
            Ok((encoding, payload)) => {
                (event.payload_encoding, event.payload) = (encoding, payload)
            }
            Err(why) => {
                problems.push(format!("payload ({why}); served as the stored text"));
                event.payload_encoding = PayloadEncoding::Text;
                event.payload = serde_json::Value::String(self.payload);
            }
        }
        if !problems.is_empty() {
            tracing::warn!(event = event.id, problems = ?problems, "stored event does not decode");
            event.note = Some(format!(
                "could not decode the stored {}",
                problems.join(", ")
            ));
        }
        event
    }
}
