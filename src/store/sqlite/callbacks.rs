//! Kept webhook subscriptions on SQLite (see `store::callbacks`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use super::Sqlite;
use crate::secret::Secret;
use crate::store::{Callbacks, Progress, SavedSubscription, StoreError};
use crate::time::format_time;

const COLUMNS: &str = "id, principal, url, name, arguments, secret, \"cursor\", active, \
                       last_error, failed_since, last_delivery_at, expires_at";

fn saved(r: &Row<'_>) -> rusqlite::Result<SavedSubscription> {
    Ok(SavedSubscription {
        id: r.get(0)?,
        principal: r.get(1)?,
        url: r.get(2)?,
        name: r.get(3)?,
        arguments: r.get(4)?,
        secret: Secret::new(r.get::<_, String>(5)?),
        expires: super::optional_time(r, 11)?,
        progress: Progress {
            cursor: r.get(6)?,
            active: r.get(7)?,
            last_error: r.get(8)?,
            failed_since: super::optional_time(r, 9)?,
            last_delivery_at: super::optional_time(r, 10)?,
        },
    })
}

fn save(c: &Connection, s: &SavedSubscription, owner: &str, until: &str) -> Result<(), StoreError> {
    let p = &s.progress;
    c.prepare_cached(
        "INSERT INTO callback_subscriptions (id, principal, url, name, arguments, secret, \"cursor\",
             active, last_error, failed_since, last_delivery_at, owner, lease_until, created_at,
             expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (id) DO UPDATE SET secret = excluded.secret, \"cursor\" = excluded.\"cursor\",
             expires_at = excluded.expires_at,
             active = excluded.active, last_error = excluded.last_error,
             failed_since = excluded.failed_since, last_delivery_at = excluded.last_delivery_at,
             owner = excluded.owner, lease_until = excluded.lease_until",
    )?
    .execute(params![
        s.id,
        s.principal,
        s.url,
        s.name,
        s.arguments,
        s.secret.expose(),
        p.cursor,
        p.active,
        p.last_error,
        p.failed_since.map(format_time),
        p.last_delivery_at.map(format_time),
        owner,
        until,
        format_time(Utc::now()),
        s.expires.map(format_time),
    ])?;
    Ok(())
}

fn progress(
    c: &Connection,
    id: &str,
    owner: &str,
    until: &str,
    p: &Progress,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE callback_subscriptions SET \"cursor\" = ?3, active = ?4, last_error = ?5,
                 failed_since = ?6, last_delivery_at = ?7, lease_until = ?8
             WHERE id = ?1 AND owner = ?2",
        )?
        .execute(params![
            id,
            owner,
            p.cursor,
            p.active,
            p.last_error,
            p.failed_since.map(format_time),
            p.last_delivery_at.map(format_time),
            until,
        ])?;
    Ok(n == 1)
}

fn claim(c: &Connection, owner: &str, until: &str) -> Result<Vec<SavedSubscription>, StoreError> {
    let now = format_time(Utc::now());
    c.prepare_cached("DELETE FROM callback_subscriptions WHERE expires_at <= ?1")?
        .execute([&now])?;
    let sql = format!(
        "UPDATE callback_subscriptions SET owner = ?1, lease_until = ?2
         WHERE owner = ?1 OR owner IS NULL OR lease_until IS NULL OR lease_until < ?3
         RETURNING {COLUMNS}"
    );
    let rows = c
        .prepare_cached(&sql)?
        .query_map(params![owner, until, now], saved)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

#[async_trait]
impl Callbacks for Sqlite {
    async fn save_subscription(
        &self,
        s: SavedSubscription,
        owner: String,
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let until = format_time(lease_until);
        self.write(move |c| save(c, &s, &owner, &until)).await
    }

    async fn subscription_progress(
        &self,
        id: String,
        owner: String,
        lease_until: DateTime<Utc>,
        p: Progress,
    ) -> Result<bool, StoreError> {
        let until = format_time(lease_until);
        self.write(move |c| progress(c, &id, &owner, &until, &p))
            .await
    }

    async fn claim_subscriptions(
        &self,
        owner: String,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<SavedSubscription>, StoreError> {
        let until = format_time(lease_until);
        self.write(move |c| claim(c, &owner, &until)).await
    }

    async fn release_subscriptions(&self, owner: String) -> Result<(), StoreError> {
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE callback_subscriptions SET owner = NULL, lease_until = NULL
                 WHERE owner = ?1",
            )?
            .execute([owner])?;
            Ok(())
        })
        .await
    }

    async fn drop_subscription(&self, id: String) -> Result<bool, StoreError> {
        self.write(move |c| {
            let n = c
                .prepare_cached("DELETE FROM callback_subscriptions WHERE id = ?1")?
                .execute([id])?;
            Ok(n == 1)
        })
        .await
    }
}
