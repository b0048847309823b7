//! The text full-text search indexes for an event: its payload's words, not its JSON.
//!
//! Indexing whole JSON bodies costs several times the rest of a commit (a GitHub push is ~9 KB,
//! mostly keys and API URLs). So each event is indexed by the distinct string and number values
//! of its payload, URLs left out, capped in size. It is computed before the event reaches the
//! writer thread, so the single writer spends its time on SQLite alone.

use crate::event::PayloadEncoding;
use crate::payload::Json;

/// The most text one event contributes to the index.
const MAX_TEXT: usize = 16 * 1024;

/// The words search finds `payload` by. `None` for a JSON or form payload that does not parse
/// (ingest refuses those; only a caller that bypasses it can append one): the one parse here also
/// tells the stores that no JSON function should be run on it.
pub fn search_text(encoding: PayloadEncoding, payload: &str) -> Option<String> {
    let tree = crate::payload::parse(payload).ok();
    match encoding {
        PayloadEncoding::Json | PayloadEncoding::Form => tree.map(|t| from_tree(encoding, &t)),
        _ => Some(tree.map_or_else(String::new, |t| from_tree(encoding, &t))),
    }
}

/// The words search finds a payload by, from its parse (what ingest already has).
pub fn from_tree(encoding: PayloadEncoding, tree: &Json<'_>) -> String {
    match encoding {
        PayloadEncoding::Json | PayloadEncoding::Form => {
            let mut out = Collector::default();
            out.walk(tree);
            out.text
        }
        PayloadEncoding::Text => {
            let mut s = tree.as_str().unwrap_or_default().to_owned();
            truncate(&mut s, MAX_TEXT);
            s
        }
        PayloadEncoding::Base64 => String::new(),
    }
}

#[derive(Default)]
struct Collector<'a> {
    text: String,
    /// Strings already taken. foldhash, not the standard SipHash: hashing them was a third of
    /// this walk. Its seed is random per process, and the set is bounded by `MAX_TEXT`.
    seen: foldhash::HashSet<&'a str>,
}

impl<'a> Collector<'a> {
    fn walk(&mut self, v: &'a Json<'a>) {
        if self.text.len() >= MAX_TEXT {
            return;
        }
        match v {
            Json::Object(m) => m.values().for_each(|x| self.walk(x)),
            Json::Array(a) => a.iter().for_each(|x| self.walk(x)),
            Json::Str(s) if !is_url(s) && !s.is_empty() && self.seen.insert(s) => self.push(s),
            Json::Number(n) => self.push(&n.to_string()),
            _ => {}
        }
    }

    fn push(&mut self, s: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(s);
        truncate(&mut self.text, MAX_TEXT);
    }
}

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let cut = (0..=max)
            .rev()
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(0);
        s.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_indexed_keys_and_urls_are_not() {
        let payload = r#"{"action":"opened","number":42,"pull_request":{"title":"Fix the card declined flow",
            "html_url":"https://github.com/o/r/pull/42","draft":false,"labels":[{"name":"bug"},{"name":"bug"}]}}"#;
        let text = search_text(PayloadEncoding::Json, payload).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort();
        assert_eq!(lines, ["42", "Fix the card declined flow", "bug", "opened"]);
    }

    #[test]
    fn text_payloads_are_their_own_text_and_binary_has_none() {
        assert_eq!(
            search_text(PayloadEncoding::Text, r#""deploy failed""#).unwrap(),
            "deploy failed"
        );
        assert_eq!(
            search_text(PayloadEncoding::Base64, r#""AAEC""#).unwrap(),
            ""
        );
        let long = format!("{:?}", "é".repeat(20_000));
        assert!(search_text(PayloadEncoding::Text, &long).unwrap().len() <= MAX_TEXT);
    }
}
