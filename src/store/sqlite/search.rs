//! Full-text search with FTS5 over each event's type, summary and payload words, in the index
//! file attached as `s` (see `index.rs`).

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::reader;
use crate::event::EventFilter;
use crate::store::{Found, SEARCH_SCAN, SearchHit, SearchQuery, StoreError};
use async_trait::async_trait;

use super::Sqlite;
use crate::store::Search;

/// Turns words into an FTS5 query that cannot be a syntax error: every word is a quoted phrase
/// (all must match); a trailing `*` keeps its prefix meaning.
pub fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = crate::store::search_words(text)
        .map(|word| {
            let (word, prefix) = match word.strip_suffix('*') {
                Some(w) if !w.is_empty() => (w, "*"),
                _ => (word, ""),
            };
            format!("\"{}\"{prefix}", word.replace('"', "\"\""))
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

pub fn search(conn: &Connection, q: &SearchQuery) -> Result<Found, StoreError> {
    let Some(matcher) = fts_query(&q.text) else {
        return Ok(Found::default());
    };
    let (clauses, mut args) = reader::conditions(&q.filter, "e.");
    // Matches come newest first straight from the index; with a filter, at most SEARCH_SCAN of
    // them are examined (the bound is the id of the last one), so a filter that passes few of
    // a common word's matches never reads them all.
    let bound = if clauses.is_empty() {
        None
    } else {
        scan_bound(conn, &matcher, &q.filter)?
    };
    args.push(SqlValue::Text(matcher));
    let matcher = args.len();
    let mut extra: String = clauses.iter().map(|c| format!(" AND {c}")).collect();
    if let Some(bound) = bound {
        args.push(bound.into());
        extra.push_str(&format!(" AND fts.rowid >= ?{}", args.len()));
    }
    args.push((q.limit as i64).into());
    let limit = args.len();
    // CROSS JOIN keeps the index as the outer loop, in its own rowid order: no sort, and the
    // snippet is made only for the hits the limit keeps.
    let sql = format!(
        "SELECT e.id, e.source, e.type, e.received_at, e.summary,
                snippet(fts, -1, '**', '**', '…', 16), e.subject
         FROM s.fts CROSS JOIN events e ON e.id = fts.rowid
         WHERE fts MATCH ?{matcher}{extra}
         ORDER BY fts.rowid DESC LIMIT ?{limit}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok(SearchHit {
            id: r.get(0)?,
            source: r.get(1)?,
            event_type: r.get(2)?,
            received_at: super::time(r, 3)?,
            summary: r.get(4)?,
            snippet: r.get(5)?,
            subject: r.get(6)?,
        })
    })?;
    let hits: Vec<SearchHit> = rows.collect::<Result<_, _>>()?;
    let scan_stopped_at = bound.filter(|_| hits.len() < q.limit);
    Ok(Found {
        hits,
        scan_stopped_at,
    })
}

/// The id of the `SEARCH_SCAN`th newest match of `matcher` within the filter's id bounds, or
/// `None` when there are fewer matches than that.
fn scan_bound(
    conn: &Connection,
    matcher: &str,
    filter: &EventFilter,
) -> Result<Option<i64>, StoreError> {
    let sql = "SELECT rowid FROM s.fts WHERE fts MATCH ?1 AND rowid < ?2 AND rowid > ?3
               ORDER BY rowid DESC LIMIT 1 OFFSET ?4";
    let below = filter.before_id.unwrap_or(i64::MAX);
    let above = filter.after_id.unwrap_or(0);
    Ok(conn
        .prepare_cached(sql)?
        .query_row(
            rusqlite::params![matcher, below, above, SEARCH_SCAN as i64 - 1],
            |r| r.get(0),
        )
        .optional()?)
}

#[async_trait]
impl Search for Sqlite {
    async fn search(&self, query: SearchQuery) -> Result<Found, StoreError> {
        // Everything committed before the search began should be findable: wait (briefly) for
        // the indexer to get there. Past the wait, search what is indexed.
        let newest = self.bus.newest();
        let wait = std::time::Duration::from_secs(2);
        self.indexed.caught_up(newest, wait).await;
        self.read(move |c| search(c, &query)).await
    }
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn words_become_quoted_phrases() {
        assert_eq!(fts_query("  "), None);
        assert_eq!(fts_query("card declined").unwrap(), r#""card" "declined""#);
        assert_eq!(
            fts_query(r#"say "hi" deplo*"#).unwrap(),
            r#""say" """hi""" "deplo"*"#
        );
        assert_eq!(
            fts_query("AND OR NOT (").unwrap(),
            r#""AND" "OR" "NOT" "(""#
        );
    }
}
