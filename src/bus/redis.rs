//! Wake-ups between instances over Redis: each instance publishes the newest id it commits on
//! its store's channel, and tells its local bus the ids the others publish.
//!
//! Redis is only the messenger: while it is away, ingest goes on and each instance asks the store
//! for the newest committed id once a second instead (slower wake-ups, none lost); when the
//! subscription is made again, it reads that id once more and goes back to Redis.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::Bus;

/// What the Redis transport needs from a store that several instances share.
#[async_trait::async_trait]
pub trait Shared: Send + Sync + 'static {
    /// Names the database, so fleets on different databases can share one Redis.
    fn store_id(&self) -> &str;
    /// The newest committed event id, asked of the database itself.
    async fn newest_committed(&self) -> Result<i64, String>;
    /// The bus this instance's waiters sleep on.
    fn bus(&self) -> &Bus;
}

/// The channel of one store: instances on other stores sharing the Redis never mix their ids.
pub fn channel(store_id: &str) -> String {
    format!("hookd:committed:{store_id}")
}

/// How often the store is asked for the newest id while Redis is away.
const FALLBACK_POLL: Duration = Duration::from_secs(1);

/// Publishes this instance's commits and listens for the others', until `stop`.
pub async fn run(client: redis::Client, store: Arc<dyn Shared>, stop: CancellationToken) {
    let channel = channel(store.store_id());
    let subscribed = AtomicBool::new(false);
    let publish = super::reconnecting("redis bus publisher", &stop, || {
        publish(&client, &channel, store.as_ref())
    });
    let subscribe = super::reconnecting("redis bus subscriber", &stop, || async {
        let session = subscribe(&client, &channel, store.as_ref(), &subscribed).await;
        subscribed.store(false, Ordering::SeqCst);
        session
    });
    tokio::join!(
        publish,
        subscribe,
        poll_while_away(store.as_ref(), &subscribed, &stop)
    );
}

/// While the subscription is down, asks the store for the newest committed id every second.
async fn poll_while_away(store: &dyn Shared, subscribed: &AtomicBool, stop: &CancellationToken) {
    let mut tick = tokio::time::interval(FALLBACK_POLL);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        if !subscribed.load(Ordering::SeqCst)
            && let Ok(newest) = store.newest_committed().await
        {
            store.bus().notify(newest);
        }
    }
}

fn timed_out<T>(_: T) -> String {
    "Redis did not answer within 5 s".into()
}

async fn publish(client: &redis::Client, channel: &str, store: &dyn Shared) -> Result<(), String> {
    let mut commits = store.bus().local_commits();
    let connect = client.get_multiplexed_async_connection();
    let mut conn = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .map_err(timed_out)?
        .map_err(|e| e.to_string())?;
    loop {
        // The newest first, at once: commits made while Redis was away are announced now.
        let id = *commits.borrow_and_update();
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(id)
            .query_async::<i64>(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        if commits.changed().await.is_err() {
            return Ok(());
        }
    }
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
    store: &dyn Shared,
    subscribed: &AtomicBool,
) -> Result<(), String> {
    let connect = client.get_async_pubsub();
    let mut pubsub = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .map_err(timed_out)?
        .map_err(|e| e.to_string())?;
    pubsub.subscribe(channel).await.map_err(|e| e.to_string())?;
    // Whatever other instances committed while this one was not subscribed.
    let newest = store.newest_committed().await?;
    store.bus().notify(newest);
    subscribed.store(true, Ordering::SeqCst);
    tracing::info!("redis bus subscribed");
    let mut messages = pubsub.on_message();
    while let Some(m) = messages.next().await {
        if let Ok(id) = m.get_payload::<i64>() {
            store.bus().notify(id);
        }
    }
    Ok(())
}
