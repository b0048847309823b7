//! The Redis pub/sub bridge: every message on the configured channels (default `events:*`)
//! becomes an event whose source is the channel name, stored and deduplicated like a webhook, so
//! messages published while no MCP client is connected are kept.
//!
//! Redis is never the truth: the bridge reconnects with backoff when Redis goes away (ingest of
//! webhooks is not affected), and a message published while it is away is not seen, as Redis
//! pub/sub keeps nothing. Dedupe: a message's own `id` or `event_id` field, else a hash of its
//! channel and bytes, so several hookd instances bridging the same channel store it once (and a
//! byte-identical message published twice on purpose is stored once too).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use futures_util::StreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::event::{NewEvent, PayloadEncoding};
use crate::payload::JsonText;
use crate::store::Store;

/// Bridges `patterns` on the Redis at `url` into `store` until `stop`.
pub async fn run(
    store: Arc<dyn Store>,
    client: redis::Client,
    patterns: Vec<String>,
    stop: CancellationToken,
) {
    crate::bus::reconnecting("redis bridge", &stop, || async {
        let pubsub = subscribe(&client, &patterns).await;
        let mut pubsub = pubsub.map_err(|e| e.to_string())?;
        tracing::info!(patterns = ?patterns, "redis bridge subscribed");
        let mut messages = pubsub.on_message();
        while let Some(m) = messages.next().await {
            store_message(store.as_ref(), &m).await;
        }
        Ok(())
    })
    .await
}

async fn subscribe(
    client: &redis::Client,
    patterns: &[String],
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = tokio::time::timeout(Duration::from_secs(5), client.get_async_pubsub())
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    for p in patterns {
        if p.contains(['*', '?', '[']) {
            pubsub.psubscribe(p).await?;
        } else {
            pubsub.subscribe(p).await?;
        }
    }
    Ok(pubsub)
}

async fn store_message(store: &dyn Store, m: &redis::Msg) {
    let channel = m.get_channel_name().to_owned();
    let event = message_event(&channel, m.get_payload_bytes());
    if let Err(e) = store.append(event).await {
        tracing::error!(error = %e, channel, "redis bridge could not store a message");
    }
}

/// A pub/sub message as an event.
pub fn message_event(channel: &str, bytes: &[u8]) -> NewEvent {
    let parsed: Option<Value> = serde_json::from_slice(bytes).ok();
    let (encoding, payload) = match (&parsed, std::str::from_utf8(bytes)) {
        (Some(_), Ok(text)) => (PayloadEncoding::Json, text.to_owned()),
        (None, Ok(text)) => (
            PayloadEncoding::Text,
            Value::String(text.to_owned()).to_string(),
        ),
        (_, Err(_)) => (
            PayloadEncoding::Base64,
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)).to_string(),
        ),
    };
    let field = |k: &str| parsed.as_ref().and_then(|v| v.get(k));
    let event_type = field("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
        .to_owned();
    let delivery_id = match field("id").or_else(|| field("event_id")) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            let mut h = Sha256::new();
            h.update(channel.as_bytes());
            h.update([0]);
            h.update(bytes);
            format!("sha256:{}", hex::encode(h.finalize()))
        }
    };
    let mut headers = serde_json::Map::new();
    headers.insert("x-redis-channel".into(), Value::String(channel.to_owned()));
    NewEvent {
        source: channel.to_owned(),
        summary: Some(format!("{event_type} on {channel}")),
        event_type,
        delivery_id: Some(delivery_id),
        received_at: chrono::Utc::now(),
        headers,
        content_type: Some(
            if encoding == PayloadEncoding::Json {
                "application/json"
            } else {
                "text/plain"
            }
            .into(),
        ),
        payload_encoding: encoding,
        payload: JsonText::new(payload).unwrap_or_else(|_| JsonText::of_value(&Value::Null)),
        verified: Some(false),
        subject: Some(channel.to_owned()),
        occurred_at: None,
        derived: Vec::new(),
        search_words: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_events_with_a_stable_delivery_id() {
        let e = message_event("events:github", br#"{"type":"push","repo":"o/r"}"#);
        assert_eq!(
            (e.source.as_str(), e.event_type.as_str()),
            ("events:github", "push")
        );
        assert_eq!(e.payload_encoding, PayloadEncoding::Json);
        let again = message_event("events:github", br#"{"type":"push","repo":"o/r"}"#);
        assert_eq!(e.delivery_id, again.delivery_id, "the same bytes dedupe");
        let other = message_event("events:other", br#"{"type":"push","repo":"o/r"}"#);
        assert_ne!(e.delivery_id, other.delivery_id, "per channel");
        let with_id = message_event("c", br#"{"id":"evt_1","x":1}"#);
        assert_eq!(with_id.delivery_id.as_deref(), Some("evt_1"));
        let text = message_event("c", b"hello");
        assert_eq!(
            (text.payload_encoding, text.payload.get()),
            (PayloadEncoding::Text, r#""hello""#)
        );
        let binary = message_event("c", &[0xff, 0x00]);
        assert_eq!(binary.payload_encoding, PayloadEncoding::Base64);
        assert_eq!(text.event_type, "message");
    }
}
