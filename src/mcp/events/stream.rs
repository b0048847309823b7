//! `events/stream`: a long-lived request that pushes `notifications/events/event` as events
//! commit, with `notifications/events/heartbeat` (carrying the cursor) when nothing matches.
//!
//! The stream reads the store from its own cursor whenever the bus says something committed, so
//! a slow client only falls behind (and catches up from the store); it never holds a queue. A read
//! that fails is reported once as `notifications/events/error` and retried every second until the
//! store answers; when hookd shuts down, `notifications/events/terminated` says so, with the
//! cursor to open a new stream from.

use rmcp::model::{CustomNotification, NotificationMetaObject, ServerNotification};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::{Value, json};

use super::{Selector, Start, invalid, occurrence, parse_cursor, start, storage};
use crate::mcp::Hookd;

/// How long shutdown waits for open streams to say `terminated` before the transport closes.
const GOODBYE: std::time::Duration = std::time::Duration::from_secs(2);

/// Resolves once every open stream (each holds a token of `open`) has ended, at most [`GOODBYE`]
/// after it is called (at shutdown).
pub async fn all_closed(open: &tokio_util::task::TaskTracker) {
    open.close();
    let _ = tokio::time::timeout(GOODBYE, open.wait()).await;
}

/// Holds a token of `open` until the response to an `events/stream` request (one that names it in
/// `Mcp-Method`, as every 2026-07-28 client does) has been sent to its end, so that shutdown does
/// not close the transport between a stream's `terminated` and its final result.
pub async fn held_until_sent(
    axum::extract::State(open): axum::extract::State<tokio_util::task::TaskTracker>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use futures_util::StreamExt;
    let streams = request
        .headers()
        .get("mcp-method")
        .is_some_and(|m| m == "events/stream");
    if !streams {
        return next.run(request).await;
    }
    let token = open.token();
    let (parts, body) = next.run(request).await.into_parts();
    let body = body.into_data_stream().map(move |chunk| {
        let _held = &token;
        chunk
    });
    axum::response::Response::from_parts(parts, axum::body::Body::from_stream(body))
}

pub async fn stream(
    hookd: &Hookd,
    params: Value,
    context: RequestContext<RoleServer>,
) -> Result<Value, ErrorData> {
    let _open = hookd.streams.token();
    let p: Start = serde_json::from_value(params)
        .map_err(|e| invalid(format!("events/stream params: {e}")))?;
    let _place = hookd.wait_place().map_err(super::no_place)?;
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
    let mut failing = false;
    loop {
        let events = match follow.next_batch().await {
            Ok(events) => {
                failing = false;
                events
            }
            Err(e) => {
                let e = storage(e).to_string();
                tracing::warn!(error = %e, "events/stream could not read the store; retrying");
                let error = json!({"error": {"code": rmcp::model::ErrorCode::INTERNAL_ERROR.0, "message": e,
                                             "data": {"reason": "store_unavailable", "retrying": true}}});
                if !failing && !send("notifications/events/error", error).await {
                    break;
                }
                failing = true;
                tokio::select! {
                    _ = tokio::time::sleep(STORE_RETRY) => continue,
                    _ = context.ct.cancelled() => break,
                    _ = hookd.shutdown.cancelled() => {
                        terminated(&send, follow.cursor()).await;
                        break;
                    }
                }
            }
        };
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
            _ = hookd.shutdown.cancelled() => {
                terminated(&send, follow.cursor()).await;
                break;
            }
        }
    }
    Ok(json!({"_meta": {}}))
}

/// How long a stream waits before reading the store again after a read failed.
const STORE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// `notifications/events/terminated`: hookd is stopping, so this stream's subscription ends here;
/// `data.cursor` is where a new stream (to this hookd once it is back) picks up.
async fn terminated<F, Fut>(send: &F, cursor: i64)
where
    F: Fn(&'static str, Value) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = json!({"error": {"code": SHUTTING_DOWN,
                               "message": "hookd is shutting down; open a new stream with the cursor",
                               "data": {"reason": "shutdown", "cursor": cursor.to_string()}}});
    send("notifications/events/terminated", end).await;
}

/// The code of `terminated` at shutdown (JSON-RPC's implementation-defined server range).
const SHUTTING_DOWN: i32 = -32000;
