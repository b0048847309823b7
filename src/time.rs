//! Times as hookd stores and returns them: RFC 3339, UTC, microseconds, fixed width.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats a time the way every stored and returned time looks: RFC 3339, UTC, microseconds.
/// Fixed width, so text order is time order (the store relies on that for its time index).
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses an RFC 3339 time with any offset.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s.trim()).map(|t| t.with_timezone(&Utc))
}

/// Serde for a `DateTime<Utc>` field, written as `format_time` writes it (so answers read as they
/// always have) and read from any RFC 3339 time: `#[serde(with = "crate::time::text")]`, with
/// `#[schemars(with = "String")]` for the schema.
pub mod text {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_time(&s).map_err(serde::de::Error::custom)
    }
}

/// `text` for an optional time (`null` when absent).
pub mod optional_text {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::text::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.as_deref()
            .map(super::parse_time)
            .transpose()
            .map_err(serde::de::Error::custom)
    }
}

/// A stored time, read back. Every time hookd stores it wrote with `format_time`; one that does
/// not parse (a bug, or a hand-edited row) reads as the Unix epoch rather than failing the answer
/// it is part of.
pub fn stored(s: &str) -> DateTime<Utc> {
    parse_time(s).unwrap_or_else(|_| {
        tracing::warn!(
            time = s,
            "a stored time does not parse; read as the Unix epoch"
        );
        DateTime::UNIX_EPOCH
    })
}

/// Parses a length of time as written in flags and `hookd.toml`: `500ms`, `30s`, `10m`, `2h`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    use std::time::Duration;
    let part = s.trim();
    let split = part
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(part.len());
    let (digits, unit) = part.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{part:?} is not a length of time such as 10s, 500ms or 2m"))?;
    let seconds = |k: u64| n.checked_mul(k).map(Duration::from_secs);
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        _ => return Err(format!("{part:?} needs a unit: ms, s, m or h")),
    }
    .ok_or_else(|| format!("{part:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_times_sort_as_text_in_time_order() {
        let a = parse_time("2026-01-02T03:04:05Z").unwrap();
        let b = parse_time("2026-01-02T03:04:05.5+00:00").unwrap();
        let c = parse_time("2026-01-02T04:04:05+01:00").unwrap();
        assert!(format_time(a) < format_time(b));
        assert_eq!(format_time(a), format_time(c));
        assert_eq!(format_time(b), "2026-01-02T03:04:05.500000Z");
    }

    #[test]
    fn fields_serialize_as_stored_text_and_read_any_offset() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct T {
            #[serde(with = "text")]
            at: DateTime<Utc>,
            #[serde(with = "optional_text")]
            maybe: Option<DateTime<Utc>>,
        }
        let t = T {
            at: parse_time("2026-01-02T03:04:05.5Z").unwrap(),
            maybe: None,
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"at":"2026-01-02T03:04:05.500000Z","maybe":null}"#);
        let back: T =
            serde_json::from_str(r#"{"at":"2026-01-02T04:04:05.5+01:00","maybe":null}"#).unwrap();
        assert_eq!(back, t);
        assert_eq!(stored("garbage"), DateTime::UNIX_EPOCH);
    }

    #[test]
    fn bad_times_are_errors() {
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2026-01-02 03:04").is_err());
    }
}
