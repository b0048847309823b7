//! What a stored JSON payload may be: only JSON that every reader can parse back into a
//! `serde_json::Value`, so that nothing hookd acknowledged can later fail a reader.

use serde::Deserialize;

/// How deeply JSON may nest: `serde_json::Value`'s own limit (its recursion limit of 128 refuses
/// the 128th level), which every reader uses.
pub const MAX_JSON_DEPTH: usize = 127;

/// Whether `text` parses into a `serde_json::Value`, checked without building one.
pub fn check_readable(text: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<Readable>(text).map(|_| ())
}

/// A JSON document walked exactly as `serde_json::Value` parses it (nesting at most
/// `MAX_JSON_DEPTH`, numbers that fit an `f64`, escapes that are valid UTF-16), without building
/// anything. `RawValue` alone checks only the syntax: a body that passed it but not this would be
/// stored and then fail every reader that parses it.
struct Readable;

impl<'de> Deserialize<'de> for Readable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Readable)
    }
}

impl<'de> serde::de::Visitor<'de> for Readable {
    type Value = Readable;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_str<E>(self, _: &str) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_unit<E>(self) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Readable, A::Error> {
        while seq.next_element::<Readable>()?.is_some() {}
        Ok(Readable)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Readable, A::Error> {
        while map.next_entry::<Readable, Readable>()?.is_some() {}
        Ok(Readable)
    }
}
