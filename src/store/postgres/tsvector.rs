//! Search vectors computed before the write lock is taken, so that the one transaction holding
//! the lock does not also parse every payload's words (`to_tsvector` was a quarter of
//! PostgreSQL's work during ingest). They travel back to PostgreSQL in its own binary form,
//! untouched by hookd.

use bytes::BytesMut;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, Statement};

use crate::store::StoreError;
use crate::store::row::Row;

/// What an event's search vector is made of: its type, summary and search text, lower-cased
/// words with no stemming and no stop words (as SQLite's FTS5 tokenizer).
macro_rules! search_vector {
    () => {
        "to_tsvector('simple', type || ' ' || coalesce(summary, '') || ' ' || coalesce(search_text, ''))"
    };
}
pub const SEARCH_VECTOR: &str = search_vector!();

/// A `tsvector` in PostgreSQL's binary format, as PostgreSQL sent it.
#[derive(Debug)]
pub struct Tsvector(Vec<u8>);

impl<'a> FromSql<'a> for Tsvector {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self(raw.to_vec()))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TS_VECTOR
    }
}

impl ToSql for Tsvector {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TS_VECTOR
    }

    to_sql_checked!();
}

/// Computes the search vector of each row of a group (`$1` types, `$2` summaries, `$3` search
/// texts), in order.
pub const COMPUTE: &str = concat!(
    "SELECT ",
    search_vector!(),
    " FROM unnest($1::text[], $2::text[], $3::text[])
          WITH ORDINALITY AS r (type, summary, search_text, n)
      ORDER BY n"
);

/// The search vector of each row, in order (`compute` is `COMPUTE`, prepared).
pub async fn compute(
    client: &Client,
    compute: &Statement,
    rows: &[&Row],
) -> Result<Vec<Tsvector>, StoreError> {
    let types: Vec<&str> = rows.iter().map(|r| r.event_type.as_str()).collect();
    let summaries: Vec<Option<&str>> = rows.iter().map(|r| r.summary.as_deref()).collect();
    let texts: Vec<&str> = rows.iter().map(|r| r.search_text.as_str()).collect();
    let found = client.query(compute, &[&types, &summaries, &texts]).await?;
    Ok(found.iter().map(|r| r.get(0)).collect())
}
