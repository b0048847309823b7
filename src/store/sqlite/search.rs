//! Full-text search with FTS5 over each event's type, summary and payload words, in the index
//! file attached as `s` (see `index.rs`).

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params_from_iter};

use super::reader;
use crate::store::{SearchHit, SearchQuery, StoreError};
use async_trait::async_trait;

use super::Sqlite;
use crate::store::Search;

/// Turns words into an FTS5 query that cannot be a syntax error: every word is a quoted phrase
/// (all must match); a trailing `*` keeps its prefix meaning.
pub fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
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

pub fn search(conn: &Connection, q: &SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
    let Some(matcher) = fts_query(&q.text) else {
        return Ok(Vec::new());
    };
    let (clauses, mut args) = reader::conditions(&q.filter, "e.");
    args.push(SqlValue::Text(matcher));
    let matcher = args.len();
    args.push((q.limit as i64).into());
    let limit = args.len();
    let extra: String = clauses.iter().map(|c| format!(" AND {c}")).collect();
    let sql = format!(
        "SELECT e.id, e.source, e.type, e.received_at, e.summary,
                snippet(fts, -1, '**', '**', '…', 16)
         FROM s.fts JOIN events e ON e.id = fts.rowid
         WHERE fts MATCH ?{matcher}{extra}
         ORDER BY e.id DESC LIMIT ?{limit}"
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
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[async_trait]
impl Search for Sqlite {
    async fn search(&self, query: SearchQuery) -> Result<Vec<SearchHit>, StoreError> {
        // Everything committed before the search began should be findable: wait (briefly) for
        // the indexer to get there. Past the wait, search what is indexed.
        let newest = self.bus.newest();
        let mut indexed = self.indexed.clone();
        let caught_up = indexed.wait_for(|upto| *upto >= newest);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), caught_up).await;
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
