//! Tool schemas every client's validator accepts, and answers true to them.
//!
//! schemars writes an optional field as a type array with `null` (`["string", "null"]`) or an
//! `anyOf` with a `null` branch, and numbers with formats of its own (`uint32`, `int64`,
//! `double`); some clients' schema dialects refuse the first, and validators warn about each
//! unknown format on every call. [`portable`] rewrites a schema so that an optional field is
//! simply not required and only the formats JSON Schema defines remain; [`strip_nulls`] then
//! leaves an empty field out of an answer instead of sending `null`, so the answer holds to the
//! rewritten schema. Free-form values the schema does not describe field by field (an event's
//! payload, its headers) are never touched: a `null` a provider sent stays.

use rmcp::model::JsonObject;
use serde_json::{Map, Value};

/// The formats JSON Schema 2020-12 defines; any other is left out.
const FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Rewrites `schema` in place: optional fields not required and not nullable, unknown formats
/// out, and no `$schema` (2020-12 is what MCP assumes without one, and older validators refuse
/// the declaration).
pub fn portable(schema: &mut JsonObject) {
    schema.remove("$schema");
    walk(schema);
}

/// Leaves every `description` out of an output schema: the model reads what a tool returns in
/// the answer itself and what each field means in the tool's description and input schema, so
/// the schema's prose is paid for in every conversation for nothing (about a third of
/// `tools/list`). The structure a client validates against stays whole.
pub fn terse(schema: &mut JsonObject) {
    schema.remove("description");
    for v in schema.values_mut() {
        match v {
            Value::Object(child) => terse(child),
            Value::Array(items) => items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(terse),
            _ => {}
        }
    }
}

fn is_null_type(v: &Value) -> bool {
    v.get("type").is_some_and(|t| t == "null")
}

/// Whether a property's schema lets its value be `null` (or anything).
fn nullable(s: &Value) -> bool {
    let Some(s) = s.as_object() else {
        return true;
    };
    let typed = [
        "type",
        "$ref",
        "anyOf",
        "oneOf",
        "allOf",
        "enum",
        "const",
        "properties",
    ];
    if !typed.iter().any(|k| s.contains_key(*k)) {
        return true;
    }
    match s.get("type") {
        Some(Value::Array(types)) if types.iter().any(|t| t == "null") => return true,
        Some(t) if t == "null" => return true,
        _ => {}
    }
    ["anyOf", "oneOf"].iter().any(|k| {
        s.get(*k)
            .and_then(Value::as_array)
            .is_some_and(|branches| branches.iter().any(is_null_type))
    })
}

fn walk(s: &mut Map<String, Value>) {
    if let Some(Value::String(f)) = s.get("format")
        && !FORMATS.contains(&f.as_str())
    {
        s.remove("format");
    }
    if let Some(Value::Array(types)) = s.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            s.insert("type".into(), only);
        }
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = s.get_mut(key) else {
            continue;
        };
        branches.retain(|b| !is_null_type(b));
        if branches.len() == 1
            && let Some(Value::Object(only)) = branches.pop()
        {
            s.remove(key);
            for (k, v) in only {
                s.entry(k).or_insert(v);
            }
        }
    }
    if let Some(Value::Object(props)) = s.get("properties") {
        let optional: Vec<String> = props
            .iter()
            .filter(|(_, p)| nullable(p))
            .map(|(k, _)| k.clone())
            .collect();
        if let Some(Value::Array(required)) = s.get_mut("required") {
            required.retain(|r| r.as_str().is_none_or(|r| !optional.iter().any(|o| o == r)));
        }
    }
    for key in ["properties", "$defs", "definitions"] {
        if let Some(Value::Object(children)) = s.get_mut(key) {
            children
                .values_mut()
                .filter_map(Value::as_object_mut)
                .for_each(walk);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(Value::Object(child)) = s.get_mut(key) {
            walk(child);
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(children)) = s.get_mut(key) {
            children
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(walk);
        }
    }
}

/// Leaves out every `null` field that `schema` (as [`portable`] wrote it) describes, at every
/// level it describes field by field.
pub fn strip_nulls(value: &mut Value, schema: &JsonObject) {
    strip(value, schema, schema);
}

/// `s` itself, or the definition it refers to.
fn resolve<'a>(s: &'a Map<String, Value>, root: &'a Map<String, Value>) -> &'a Map<String, Value> {
    let target = s
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| root.get("$defs")?.get(name)?.as_object());
    target.unwrap_or(s)
}

fn strip(v: &mut Value, s: &Map<String, Value>, root: &Map<String, Value>) {
    let s = resolve(s, root);
    match v {
        Value::Object(fields) => {
            let Some(Value::Object(props)) = s.get("properties") else {
                return;
            };
            fields.retain(|k, x| !(x.is_null() && props.contains_key(k)));
            for (k, x) in fields.iter_mut() {
                if let Some(Value::Object(p)) = props.get(k) {
                    strip(x, p, root);
                }
            }
        }
        Value::Array(items) => {
            if let Some(Value::Object(each)) = s.get("items") {
                items.iter_mut().for_each(|x| strip(x, each, root));
            }
        }
        _ => {}
    }
}

/// A tool's answer as its (portable) output schema says: the `null` fields it describes left
/// out, and the text content the same JSON.
pub fn shaped(result: &mut rmcp::model::CallToolResult, schema: &rmcp::model::JsonObject) {
    if result.is_error == Some(true) {
        return;
    }
    if let Some(value) = result.structured_content.as_mut() {
        strip_nulls(value, schema);
        result.content = vec![rmcp::model::ContentBlock::text(value.to_string())];
    }
}

#[cfg(test)]
mod tests {
    use super::{portable, strip_nulls};
    use serde_json::{Value, json};

    fn object(v: Value) -> rmcp::model::JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn optional_fields_are_not_required_nor_null_and_unknown_formats_go() {
        let mut s = object(json!({
            "type": "object",
            "properties": {
                "id": {"type": "integer", "format": "int64"},
                "at": {"type": "string", "format": "date-time"},
                "note": {"type": ["string", "null"]},
                "event": {"anyOf": [{"$ref": "#/$defs/E"}, {"type": "null"}]},
                "payload": {"description": "anything"}
            },
            "required": ["id", "at", "note", "event", "payload"],
            "$defs": {"E": {"type": "object", "properties": {
                "n": {"type": ["integer", "null"], "format": "uint32", "minimum": 0}
            }, "required": ["n"]}}
        }));
        portable(&mut s);
        let s = Value::Object(s);
        assert_eq!(s["properties"]["id"], json!({"type": "integer"}));
        assert_eq!(s["properties"]["at"]["format"], "date-time");
        assert_eq!(s["properties"]["note"], json!({"type": "string"}));
        assert_eq!(s["properties"]["event"], json!({"$ref": "#/$defs/E"}));
        assert_eq!(s["required"], json!(["id", "at"]));
        assert_eq!(
            s["$defs"]["E"]["properties"]["n"],
            json!({"type": "integer", "minimum": 0})
        );
        assert_eq!(s["$defs"]["E"]["required"], json!([]));
    }

    #[test]
    fn nulls_the_schema_describes_are_left_out_and_payloads_keep_theirs() {
        let mut s = object(json!({
            "type": "object",
            "properties": {
                "events": {"type": "array", "items": {"$ref": "#/$defs/E"}},
                "note": {"type": ["string", "null"]}
            },
            "$defs": {"E": {"type": "object", "properties": {
                "subject": {"type": ["string", "null"]},
                "payload": {}
            }}}
        }));
        portable(&mut s);
        let mut v = json!({"note": null, "events": [
            {"subject": null, "payload": {"a": null, "b": [null]}},
            {"subject": "x", "payload": null}
        ]});
        strip_nulls(&mut v, &s);
        assert_eq!(
            v,
            json!({"events": [{"payload": {"a": null, "b": [null]}}, {"subject": "x"}]})
        );
    }
}
