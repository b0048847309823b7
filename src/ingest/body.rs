//! Turns a raw request body into the stored payload, by content type.

use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::event::PayloadEncoding;
use crate::payload::{Json, JsonText, MAX_JSON_DEPTH};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BodyError {
    #[error("malformed JSON body (content type {content_type}): {reason}")]
    MalformedJson {
        content_type: String,
        reason: String,
    },
    /// Well-formed JSON that hookd's readers could not hold: refused, so that every body hookd
    /// acknowledges can be served back by every reader.
    #[error(
        "JSON body beyond hookd's limits ({reason}): nesting is limited to {MAX_JSON_DEPTH} levels \
         and numbers to the range of a 64-bit float"
    )]
    BeyondLimits { reason: String },
}

/// A decoded body: the payload as it is stored, and the one parse of it everything else reads.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub encoding: PayloadEncoding,
    /// The payload as JSON text (see `NewEvent::payload`).
    pub payload: JsonText,
    /// The payload parsed (see `crate::payload`): borrowed from the request body for JSON.
    pub tree: Json<'a>,
}

impl Decoded<'_> {
    /// The body's top-level `type` string, when it has one.
    pub fn body_type(&self) -> Option<&str> {
        self.tree.as_object()?.get("type")?.as_str()
    }
}

/// Decodes `body` as its `content_type` says: JSON stays JSON (byte for byte), form fields become
/// a JSON object, UTF-8 text becomes a string, anything else becomes base64.
pub fn decode<'a>(content_type: Option<&str>, body: &'a [u8]) -> Result<Decoded<'a>, BodyError> {
    let mime = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if is_json(&mime) {
        return decode_json(body).map_err(|e| {
            let text = std::str::from_utf8(body).unwrap_or_default();
            if serde_json::from_str::<&RawValue>(text).is_ok() {
                BodyError::BeyondLimits {
                    reason: e.to_string(),
                }
            } else {
                BodyError::MalformedJson {
                    content_type: mime,
                    reason: e.to_string(),
                }
            }
        });
    }
    let (encoding, value) = if mime == "application/x-www-form-urlencoded" {
        (PayloadEncoding::Form, Value::Object(form_fields(body)))
    } else {
        match std::str::from_utf8(body) {
            Ok(text) => (PayloadEncoding::Text, Value::String(text.to_owned())),
            Err(_) => (
                PayloadEncoding::Base64,
                Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            ),
        }
    };
    let payload = JsonText::of_value(&value);
    let tree = Json::deserialize(value).expect("a Value is always a tree");
    Ok(Decoded {
        encoding,
        payload,
        tree,
    })
}

/// Parses a JSON body once into its tree, which also proves every reader can parse it; the body
/// is kept as the text it arrived as.
fn decode_json(body: &[u8]) -> Result<Decoded<'_>, serde_json::Error> {
    let text = std::str::from_utf8(body).map_err(serde::de::Error::custom)?;
    let (payload, tree) = JsonText::parse(text)?;
    Ok(Decoded {
        encoding: PayloadEncoding::Json,
        payload,
        tree,
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

    fn decoded(content_type: Option<&str>, body: &[u8]) -> (PayloadEncoding, Value) {
        let d = decode(content_type, body).unwrap();
        (d.encoding, serde_json::from_str(d.payload.get()).unwrap())
    }

    #[test]
    fn json_is_kept_byte_for_byte_and_malformed_json_is_an_error() {
        let body = br#" {"type": "a.b", "n":[1, 2]}"#;
        let d = decode(Some("application/json; charset=utf-8"), body).unwrap();
        assert_eq!(d.encoding, PayloadEncoding::Json);
        assert_eq!(
            d.payload.get().as_bytes(),
            body.trim_ascii(),
            "only outer whitespace goes"
        );
        assert_eq!(d.body_type(), Some("a.b"));
        let body_type = |b: &[u8]| {
            let d = decode(Some("application/json"), b).unwrap();
            d.body_type().map(str::to_owned)
        };
        assert_eq!(body_type(b"[1]"), None);
        assert_eq!(body_type(br#"{"type":1}"#), None);
        let err = decode(Some("application/json"), b"{\"a\":").unwrap_err();
        assert!(err.to_string().contains("malformed JSON"), "{err}");
        assert!(decode(Some("application/vnd.api+json"), b"nope").is_err());
    }

    /// Bodies that are valid JSON but that `Value` cannot hold are refused, and everything that
    /// is accepted parses back into a `Value`.
    #[test]
    fn json_beyond_what_readers_parse_is_refused() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let objects = format!("{}1{}", r#"{"a":"#.repeat(200), "}".repeat(200));
        for body in [
            deep(MAX_JSON_DEPTH + 1),
            deep(100_000),
            objects,
            r#"{"n":1e999999}"#.to_owned(),
            r#"[-1e400]"#.to_owned(),
            r#"{"s":"\ud800"}"#.to_owned(),
        ] {
            let err = decode(Some("application/json"), body.as_bytes()).unwrap_err();
            assert!(
                matches!(err, BodyError::BeyondLimits { .. }),
                "{}: {err}",
                &body[..body.len().min(40)]
            );
        }
        for body in [
            deep(MAX_JSON_DEPTH),
            r#"{"n":1e308,"m":1e-999,"b":123456789012345678901234567890}"#.into(),
        ] {
            let d = decode(Some("application/json"), body.as_bytes()).unwrap();
            serde_json::from_str::<Value>(d.payload.get()).unwrap();
        }
    }

    #[test]
    fn form_bodies_become_objects_with_repeated_fields_as_arrays() {
        let (enc, v) = decoded(
            Some("application/x-www-form-urlencoded"),
            b"command=%2Fhookd&text=deploy+now&tag=a&tag=b&tag=c",
        );
        assert_eq!(enc, PayloadEncoding::Form);
        assert_eq!(
            v,
            json!({"command":"/hookd","text":"deploy now","tag":["a","b","c"]})
        );
    }

    #[test]
    fn other_bodies_are_text_or_base64() {
        assert_eq!(
            decoded(Some("text/plain"), "héllo".as_bytes()),
            (PayloadEncoding::Text, json!("héllo"))
        );
        assert_eq!(
            decoded(None, &[0xff, 0x00, 0x01]),
            (PayloadEncoding::Base64, json!("/wAB"))
        );
        // JSON without a JSON content type is kept byte-exact as text, not reinterpreted.
        assert_eq!(
            decoded(None, br#"{"a":1}"#),
            (PayloadEncoding::Text, json!(r#"{"a":1}"#))
        );
    }
}
