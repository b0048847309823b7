//! Learned secrets and enrolment windows on SQLite (see `store::enrolments`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::Sqlite;
use crate::secret::Secret;
use crate::store::StoreError;
use crate::store::enrolments::Enrolments;
use crate::time::format_time;

#[async_trait]
impl Enrolments for Sqlite {
    async fn open_enrolment(&self, source: String, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO enrolment_windows (source, open_until) VALUES (?1, ?2)
                 ON CONFLICT (source) DO UPDATE SET open_until = excluded.open_until",
                params![source, format_time(until)],
            )?;
            Ok(())
        })
        .await
    }

    async fn enrol(
        &self,
        source: String,
        secret: Secret,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let now = format_time(now);
            let closed = tx.execute(
                "DELETE FROM enrolment_windows WHERE source = ?1 AND open_until > ?2",
                params![source, now],
            )?;
            if closed == 1 {
                tx.execute(
                    "INSERT INTO enrolled_secrets (source, secret, enrolled_at) VALUES (?1, ?2, ?3)",
                    params![source, secret.expose(), now],
                )?;
            }
            tx.commit()?;
            Ok(closed == 1)
        })
        .await
    }

    async fn enrolled_secrets(&self, source: String) -> Result<Vec<Secret>, StoreError> {
        self.read(move |c| {
            let mut q = c.prepare_cached(
                "SELECT secret FROM enrolled_secrets WHERE source = ?1 ORDER BY id DESC",
            )?;
            let rows = q.query_map([source], |r| r.get::<_, String>(0))?;
            Ok(rows.map(|r| r.map(Secret::new)).collect::<Result<_, _>>()?)
        })
        .await
    }
}
