//! `events/stream`: a long-lived request that pushes `notifications/events/event` as events
//! commit, with `notifications/events/heartbeat` (carrying the cursor) when nothing matches.
//!
//! The stream reads the store from its own cursor whenever the bus says something committed, so
//! a slow client only falls behind (and catches up from the store); it never holds a queue.

use rmcp::model::{CustomNotification, NotificationMetaObject, ServerNotification};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::{Value, json};

use super::{Selector, Start, invalid, occurrence, parse_cursor, start, storage};
use crate::mcp::Hookd;

pub async fn stream(
    hookd: &Hookd,
    params: Value,
    context: RequestContext<RoleServer>,
) -> Result<Value, ErrorData> {
    let p: Start = serde_json::from_value(params)
        .map_err(|e| invalid(format!("events/stream params: {e}")))?;
    let selector = Selector::parse(hookd, &p.name, p.arguments.as_ref()).await?;
    let (cursor, truncated) =
        start(hookd, &selector, parse_cursor(&p.cursor)?, p.max_age_ms).await?;
    // Every notification names its stream: `_meta["io.modelcontextprotocol/subscriptionId"]`.
    let mut meta = NotificationMetaObject::new();
    meta.set_subscription_id(context.id.clone());
    let send = |method: &'static str, params: Value| {
        let peer = context.peer.clone();
        let meta = meta.clone();
        async move {
            let mut n = CustomNotification::new(method, Some(params));
            n.extensions.insert(meta);
            peer.send_notification(ServerNotification::CustomNotification(n))
                .await
                .is_ok()
        }
    };
    let active = json!({"cursor": cursor.to_string(), "truncated": truncated});
    if !send("notifications/events/active", active).await {
        return Ok(json!({"_meta": {}}));
    }
    let mut follow = crate::wait::Follow::new(hookd.store.clone(), selector.after(cursor), cursor);
    let period = hookd.heartbeat;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        let events = follow.next_batch().await.map_err(storage)?;
        for e in &events {
            if !send("notifications/events/event", occurrence(e, &selector.name)).await {
                return Ok(json!({"_meta": {}}));
            }
            follow.handled(e.id);
        }
        if !events.is_empty() {
            continue;
        }
        // Caught up: every matching event up to the cursor has been sent.
        tokio::select! {
            _ = follow.changed() => {}
            _ = heartbeat.tick() => {
                let beat = json!({"cursor": follow.cursor().to_string()});
                if !send("notifications/events/heartbeat", beat).await {
                    break;
                }
            }
            _ = context.ct.cancelled() => break,
            _ = hookd.shutdown.cancelled() => break,
        }
    }
    Ok(json!({"_meta": {}}))
}
