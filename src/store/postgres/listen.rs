//! Wake-ups through PostgreSQL itself: every write transaction sends `NOTIFY hookd_events` with
//! its newest id (delivered by PostgreSQL exactly when it commits); this task listens on its own
//! connection and tells the local bus. Used when no Redis bus carries the wake-ups.

use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

use super::writer::CHANNEL;
use crate::bus::Bus;

/// Listens until `stop`, reconnecting with backoff. After each (re)connection it reads the newest
/// committed id, so waiters hear of commits made while the connection was down.
pub async fn run(config: tokio_postgres::Config, bus: Bus, stop: CancellationToken) {
    crate::bus::reconnecting("PostgreSQL LISTEN", &stop, || async {
        listen(&config, &bus).await.map_err(|e| e.to_string())
    })
    .await
}

async fn listen(config: &tokio_postgres::Config, bus: &Bus) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    // The connection's messages (notifications among them) come from polling it ourselves; the
    // client's own queries below make progress only while it is polled.
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let setup = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        super::reader::newest_id(&client).await
    };
    tokio::pin!(setup);
    let mut setting_up = true;
    loop {
        tokio::select! {
            newest = &mut setup, if setting_up => {
                bus.notify(newest?);
                setting_up = false;
            }
            message = messages.next() => match message {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if let Ok(id) = n.payload().parse() {
                        bus.notify(id);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    }
}
