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
    fn bad_times_are_errors() {
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2026-01-02 03:04").is_err());
    }
}
