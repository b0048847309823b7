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

/// A payload as stored: JSON text that parses, without its outer whitespace.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonText(Box<str>);

impl JsonText {
    /// Checks that `text` is JSON.
    pub fn new(text: String) -> Result<Self, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(|raw| Self(raw.into()))
    }

    /// A value's JSON text.
    pub fn of_value(value: &serde_json::Value) -> Self {
        Self(value.to_string().into())
    }

    /// `text` parsed into its tree, and kept as it is: one parse proves both (a second pass to
    /// check the text again was 4 % of ingest's CPU).
    pub fn parse(text: &str) -> Result<(Self, Json<'_>), serde_json::Error> {
        let tree = parse(text)?;
        let json_whitespace = |c| matches!(c, ' ' | '\t' | '\n' | '\r');
        Ok((Self(text.trim_matches(json_whitespace).into()), tree))
    }

    pub fn get(&self) -> &str {
        &self.0
    }
}

/// The value at `path` (object keys separated by `/`, from `v`), if every step exists.
pub fn at<'a>(v: &'a Json<'a>, path: &str) -> Option<&'a Json<'a>> {
    path.split('/')
        .try_fold(v, |v, key| v.as_object()?.get(key))
}

/// The first item of the array at `path`.
pub fn first<'a>(v: &'a Json<'a>, path: &str) -> Option<&'a Json<'a>> {
    at(v, path)?.as_array()?.first()
}

/// The string at `path`, borrowed.
pub fn str_at<'a>(v: &'a Json<'a>, path: &str) -> Option<&'a str> {
    at(v, path)?.as_str()
}

/// The string at `path`, owned.
pub fn text(v: &Json<'_>, path: &str) -> Option<String> {
    str_at(v, path).map(str::to_owned)
}

/// The string or integer at `path`, as text (ids some providers send as numbers).
pub fn id_at(v: &Json<'_>, path: &str) -> Option<String> {
    let value = at(v, path)?;
    value
        .as_str()
        .map(str::to_owned)
        .or_else(|| value.as_i64().map(|n| n.to_string()))
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
    fn kept_text_is_what_a_checked_text_would_be() {
        for text in [" {\"a\": [1, 2]}\n", "\t\"s\" ", "7", "\r\n[]\r\n"] {
            let (kept, _) = JsonText::parse(text).unwrap();
            assert_eq!(kept, JsonText::new(text.to_owned()).unwrap(), "{text:?}");
        }
        assert!(JsonText::parse("{\"a\": ").is_err());
        assert!(JsonText::new("nope".into()).is_err());
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
