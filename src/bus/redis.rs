//! Wake-ups between instances over Redis: each instance publishes the newest id it commits on
//! its store's channel, and tells its local bus the ids the others publish.
//!
//! Redis is only the messenger: while it is away, ingest goes on and waiters on other instances
//! simply hear nothing; when a subscription is (re)made, the instance reads the newest committed
//! id from the store, so waiters re-read what they missed.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::store::{Postgres, Store};

/// The channel of one store: instances on other stores sharing the Redis never mix their ids.
pub fn channel(store_id: &str) -> String {
    format!("hookd:committed:{store_id}")
}

/// Publishes this instance's commits and listens for the others', until `stop`.
pub async fn run(client: redis::Client, store: Arc<Postgres>, stop: CancellationToken) {
    let channel = channel(store.store_id());
    let publish = super::reconnecting("redis bus publisher", &stop, || {
        publish(&client, &channel, &store)
    });
    let subscribe = super::reconnecting("redis bus subscriber", &stop, || {
        subscribe(&client, &channel, &store)
    });
    tokio::join!(publish, subscribe);
}

fn timed_out<T>(_: T) -> String {
    "Redis did not answer within 5 s".into()
}

async fn publish(client: &redis::Client, channel: &str, store: &Postgres) -> Result<(), String> {
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

async fn subscribe(client: &redis::Client, channel: &str, store: &Postgres) -> Result<(), String> {
    let connect = client.get_async_pubsub();
    let mut pubsub = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .map_err(timed_out)?
        .map_err(|e| e.to_string())?;
    pubsub.subscribe(channel).await.map_err(|e| e.to_string())?;
    // Whatever other instances committed while this one was not subscribed.
    let newest = store.newest_id().await.map_err(|e| e.to_string())?;
    store.bus().notify(newest);
    tracing::info!("redis bus subscribed");
    let mut messages = pubsub.on_message();
    while let Some(m) = messages.next().await {
        if let Ok(id) = m.get_payload::<i64>() {
            store.bus().notify(id);
        }
    }
    Ok(())
}
