//! Tools over the Redis pub/sub bridge (offered when `HOOKD_REDIS_URL` is set): publish an event
//! to a channel, and see what the bridged channels carry.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Hookd, storage};
use crate::event::EventFilter;
use crate::time::format_time;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PublishArgs {
    /// The channel after `events:`, e.g. `github` publishes to `events:github`.
    pub channel: String,
    /// The event, a JSON object (anything else is wrapped as `{"data": …}`).
    pub event_data: Value,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Published {
    /// The Redis channel the message went to.
    pub channel: String,
    /// How many subscribers received it (hookd's own bridge counts when it follows the channel).
    pub receivers: i64,
    /// The message as published, with `source: "mcp"`, a `timestamp` and a unique `id`.
    pub message: Map<String, Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChannelStat {
    pub channel: String,
    /// Stored events from this channel.
    pub count: i64,
    #[serde(with = "crate::time::text")]
    #[schemars(with = "String")]
    pub last_received_at: chrono::DateTime<chrono::Utc>,
    /// Messages stored over the last minute, per second.
    pub per_second_last_minute: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChannelStats {
    /// The channels or patterns hookd bridges.
    pub patterns: Vec<String>,
    pub channels: Vec<ChannelStat>,
}

fn channel_name(channel: &str) -> Result<(), String> {
    let ok = (1..=128).contains(&channel.len())
        && channel
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "channel {channel:?} must be 1 to 128 characters without spaces"
        ))
    }
}

#[tool_router(router = redis_router, vis = "pub(super)")]
impl Hookd {
    #[tool(
        description = "Publish an event to the Redis channel events:{channel}, adding source \"mcp\", a timestamp and an id. Returns how many subscribers received it; hookd's own bridge stores it when it follows that channel.",
        annotations(read_only_hint = false)
    )]
    async fn publish_event(
        &self,
        Parameters(a): Parameters<PublishArgs>,
    ) -> Result<Json<Published>, String> {
        channel_name(&a.channel)?;
        let client = self
            .redis
            .as_ref()
            .ok_or("Redis is not configured (HOOKD_REDIS_URL)")?;
        let mut message = match a.event_data {
            Value::Object(m) => m,
            other => Map::from_iter([("data".to_owned(), other)]),
        };
        let now = chrono::Utc::now();
        message.insert("source".into(), Value::String("mcp".into()));
        message.insert("timestamp".into(), Value::String(format_time(now)));
        let mut nonce = [0u8; 8];
        let _ = getrandom::fill(&mut nonce);
        message.insert(
            "id".into(),
            Value::String(format!("mcp-{}", hex::encode(nonce))),
        );
        let channel = format!("events:{}", a.channel);
        let text = Value::Object(message.clone()).to_string();
        let receivers = crate::pubsub::publish(client, &channel, &text)
            .await
            .map_err(|e| format!("Redis refused the publish: {}", e.category()))?;
        Ok(Json(Published {
            channel,
            receivers,
            message,
        }))
    }

    #[tool(
        description = "Events stored from each bridged Redis channel: count, last receive time and messages per second over the last minute.",
        annotations(read_only_hint = true)
    )]
    async fn get_channel_stats(&self) -> Result<Json<ChannelStats>, String> {
        let since = chrono::Utc::now() - chrono::Duration::seconds(60);
        let mut channels = Vec::new();
        for s in self.store.sources().await.map_err(storage)? {
            if !self
                .redis_channels
                .iter()
                .any(|p| crate::pubsub::matches(p, &s.source))
            {
                continue;
            }
            let filter = EventFilter {
                received_after: Some(since),
                ..EventFilter::of(Some(s.source.clone()), None)
            };
            let last_minute = self.store.count(filter).await.map_err(storage)?;
            channels.push(ChannelStat {
                channel: s.source,
                count: s.count,
                last_received_at: s.last_received_at,
                per_second_last_minute: last_minute as f64 / 60.0,
            });
        }
        Ok(Json(ChannelStats {
            patterns: self.redis_channels.clone(),
            channels,
        }))
    }
}
