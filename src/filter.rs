//! Which events a reader wants: sources, types, a cursor, a time, and JSON field matches
//! (`where: {"payload.action": "opened"}`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Which events a reader wants. All conditions are ANDed; an empty list or `None` means "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// Only events of one of these sources.
    pub sources: Vec<String>,
    /// Only events of one of these types.
    pub types: Vec<String>,
    /// Only events with `id > after_id`.
    pub after_id: Option<i64>,
    /// Only events with `id < before_id`.
    pub before_id: Option<i64>,
    /// Only events received strictly after this instant.
    pub received_after: Option<DateTime<Utc>>,
    /// Only events received strictly before this instant.
    pub received_before: Option<DateTime<Utc>>,
    /// Only events whose signature was verified (`true`), or only those stored unverified
    /// (`false`: their source has no secret).
    pub verified: Option<bool>,
    /// Only events whose payload has each of these values.
    pub fields: Vec<FieldMatch>,
}

impl EventFilter {
    /// A filter for at most one source and one type, the common case of the tools.
    pub fn of(source: Option<String>, event_type: Option<String>) -> Self {
        Self {
            sources: source.into_iter().collect(),
            types: event_type.into_iter().collect(),
            ..Self::default()
        }
    }
}

/// One `where` condition: the payload value at `path` equals `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMatch {
    /// The path inside the payload as an SQLite/PostgreSQL-neutral list of keys and indexes.
    pub path: Vec<PathStep>,
    /// A string, number, boolean or null.
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(u32),
}

/// How many `where` conditions one call may give.
const MAX_FIELDS: usize = 16;

impl FieldMatch {
    /// Parses a `where` object: keys `payload.a.b.0.c`, values scalars.
    pub fn parse_where(conditions: &Map<String, Value>) -> Result<Vec<FieldMatch>, String> {
        if conditions.len() > MAX_FIELDS {
            return Err(format!("`where` takes at most {MAX_FIELDS} fields"));
        }
        conditions
            .iter()
            .map(|(key, value)| Self::parse(key, value))
            .collect()
    }

    fn parse(key: &str, value: &Value) -> Result<FieldMatch, String> {
        let rest = key.strip_prefix("payload.").ok_or_else(|| {
            format!("`where` key {key:?} must start with `payload.` (e.g. `payload.action`)")
        })?;
        if value.is_array() || value.is_object() {
            return Err(format!(
                "`where` value for {key:?} must be a string, number, boolean or null"
            ));
        }
        let path = rest
            .split('.')
            .map(|step| {
                if step.is_empty() || step.len() > 128 || step.contains(['"', '\\']) {
                    Err(format!("`where` key {key:?} has an invalid step {step:?}"))
                } else if let Ok(i) = step.parse::<u32>() {
                    Ok(PathStep::Index(i))
                } else {
                    Ok(PathStep::Key(step.to_owned()))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FieldMatch {
            path,
            value: value.clone(),
        })
    }

    /// The path as an SQLite JSON path: `$."a"."b"[0]`.
    pub fn sqlite_path(&self) -> String {
        let mut out = String::from("$");
        for step in &self.path {
            match step {
                PathStep::Key(k) => {
                    out.push_str(".\"");
                    out.push_str(k);
                    out.push('"');
                }
                PathStep::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Vec<FieldMatch>, String> {
        FieldMatch::parse_where(v.as_object().unwrap())
    }

    #[test]
    fn paths_become_quoted_sqlite_paths() {
        let f = parse(json!({"payload.pull_request.labels.0.name": "bug"})).unwrap();
        assert_eq!(f[0].sqlite_path(), r#"$."pull_request"."labels"[0]."name""#);
        assert_eq!(f[0].value, json!("bug"));
    }

    #[test]
    fn bad_conditions_are_refused_with_the_reason() {
        assert!(
            parse(json!({"action": "opened"}))
                .unwrap_err()
                .contains("payload.")
        );
        assert!(
            parse(json!({"payload.a": [1]}))
                .unwrap_err()
                .contains("must be")
        );
        assert!(
            parse(json!({"payload.a..b": 1}))
                .unwrap_err()
                .contains("invalid step")
        );
        assert!(
            parse(json!({"payload.a\"b": 1}))
                .unwrap_err()
                .contains("invalid step")
        );
    }
}
