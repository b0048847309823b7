//! Turns a raw request body into the stored payload, by content type.

use base64::Engine;
use serde_json::{Map, Value};

use crate::event::PayloadEncoding;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BodyError {
    #[error("malformed JSON body (content type {content_type}): {reason}")]
    MalformedJson {
        content_type: String,
        reason: String,
    },
}

/// Decodes `body` as its `content_type` says: JSON stays JSON, form fields become a JSON object,
/// UTF-8 text becomes a string, anything else becomes base64.
pub fn decode(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(PayloadEncoding, Value), BodyError> {
    let mime = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if is_json(&mime) {
        return serde_json::from_slice(body)
            .map(|v| (PayloadEncoding::Json, v))
            .map_err(|e| BodyError::MalformedJson {
                content_type: mime,
                reason: e.to_string(),
            });
    }
    if mime == "application/x-www-form-urlencoded" {
        return Ok((PayloadEncoding::Form, Value::Object(form_fields(body))));
    }
    Ok(match std::str::from_utf8(body) {
        Ok(text) => (PayloadEncoding::Text, Value::String(text.to_owned())),
        Err(_) => (
            PayloadEncoding::Base64,
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
        ),
    })
}

/// `application/json`, `text/json` and structured `+json` types such as `application/cloudevents+json`.
fn is_json(mime: &str) -> bool {
    mime == "application/json" || mime == "text/json" || mime.ends_with("+json")
}

/// Form fields as an object. A field that repeats becomes an array of its values, in order.
fn form_fields(body: &[u8]) -> Map<String, Value> {
    let mut fields = Map::new();
    for (k, v) in form_urlencoded::parse(body) {
        let v = Value::String(v.into_owned());
        match fields.get_mut(k.as_ref()) {
            None => {
                fields.insert(k.into_owned(), v);
            }
            Some(Value::Array(values)) => values.push(v),
            Some(first) => *first = Value::Array(vec![first.take(), v]),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_kept_as_json_and_malformed_json_is_an_error() {
        let (enc, v) = decode(Some("application/json; charset=utf-8"), br#"{"a":[1,2]}"#).unwrap();
        assert_eq!((enc, v), (PayloadEncoding::Json, json!({"a":[1,2]})));
        let err = decode(Some("application/json"), b"{\"a\":").unwrap_err();
        assert!(err.to_string().contains("malformed JSON"), "{err}");
        assert!(decode(Some("application/vnd.api+json"), b"nope").is_err());
    }

    #[test]
    fn form_bodies_become_objects_with_repeated_fields_as_arrays() {
        let (enc, v) = decode(
            Some("application/x-www-form-urlencoded"),
            b"command=%2Fhookd&text=deploy+now&tag=a&tag=b&tag=c",
        )
        .unwrap();
        assert_eq!(enc, PayloadEncoding::Form);
        assert_eq!(
            v,
            json!({"command":"/hookd","text":"deploy now","tag":["a","b","c"]})
        );
    }

    #[test]
    fn other_bodies_are_text_or_base64() {
        assert_eq!(
            decode(Some("text/plain"), "héllo".as_bytes()).unwrap(),
            (PayloadEncoding::Text, json!("héllo"))
        );
        assert_eq!(
            decode(None, &[0xff, 0x00, 0x01]).unwrap(),
            (PayloadEncoding::Base64, json!("/wAB"))
        );
        // JSON without a JSON content type is kept byte-exact as text, not reinterpreted.
        assert_eq!(
            decode(None, br#"{"a":1}"#).unwrap(),
            (PayloadEncoding::Text, json!(r#"{"a":1}"#))
        );
    }
}
