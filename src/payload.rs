//! What a stored JSON payload may be, and the one parse of it at ingest.
//!
//! A payload is parsed once, into a borrowed tree ([`Json`]: strings point into the body, objects
//! are vectors, nothing is copied that has no escape), and everything ingest takes from it comes
//! from that tree: the provider's type, delivery id, subject and summary, the derived rows, and the
//! words search finds it by. That parse is also the check that every reader can parse the payload
//! back into a `serde_json::Value`: the same deserializer, so the same nesting limit, the same
//! numbers and the same escapes are refused.

/// A parsed payload, borrowing from its text.
pub type Json<'a> = serde_json_borrow::Value<'a>;

/// How deeply JSON may nest: `serde_json::Value`'s own limit (its recursion limit of 128 refuses
/// the 128th level), which every reader uses.
pub const MAX_JSON_DEPTH: usize = 127;

/// Parses `text` into a tree that borrows from it. An error means no reader could parse it.
pub fn parse(text: &str) -> Result<Json<'_>, serde_json::Error> {
    serde_json::from_str(text)
}

/// The value at `path` (object keys separated by `/`, from `v`), if every step exists.
pub fn at<'a>(v: &'a Json<'a>, path: &str) -> Option<&'a Json<'a>> {
    path.split('/')
        .try_fold(v, |v, key| v.as_object()?.get(key))
}

/// The string at `path`, borrowed.
pub fn str_at<'a>(v: &'a Json<'a>, path: &str) -> Option<&'a str> {
    at(v, path)?.as_str()
}

/// The string at `path`, owned.
pub fn text(v: &Json<'_>, path: &str) -> Option<String> {
    str_at(v, path).map(str::to_owned)
}

/// The integer at `path`.
pub fn int(v: &Json<'_>, path: &str) -> Option<i64> {
    at(v, path)?.as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_nested_fields_and_miss_cleanly() {
        let json = r#"{"a":{"b":"c\"d","n":7},"list":[1]}"#;
        let v = parse(json).unwrap();
        assert_eq!(str_at(&v, "a/b"), Some("c\"d"));
        assert_eq!(int(&v, "a/n"), Some(7));
        assert_eq!(at(&v, "a/x"), None);
        assert_eq!(at(&v, "list/0"), None, "paths name object keys only");
        assert_eq!(text(&v, "a/n"), None);
    }

    #[test]
    fn what_value_refuses_the_tree_refuses() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(&deep(MAX_JSON_DEPTH)).is_ok());
        for bad in [
            deep(MAX_JSON_DEPTH + 1),
            r#"{"n":1e999999}"#.into(),
            r#"{"s":"\ud800"}"#.into(),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<serde_json::Value>(&bad).is_err());
        }
    }
}
