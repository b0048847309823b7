//! A subject and a one-line summary for an event no provider described (a source without a
//! provider, or a provider's event type it has no words for), taken from the payload's short
//! fields whose names say what they are. Bounded in length; control characters become spaces.

use super::Json;

/// Fields a summary names, in the order it names them (at most [`SUMMARY_FIELDS_MAX`]).
const SUMMARY_FIELDS: &[&str] = &[
    "title",
    "name",
    "status",
    "state",
    "action",
    "result",
    "conclusion",
    "message",
    "id",
];
const SUMMARY_FIELDS_MAX: usize = 3;

/// Fields that say what an event is about, most telling first.
const SUBJECT_FIELDS: &[&str] = &[
    "subject",
    "repository",
    "repo",
    "project",
    "service",
    "app",
    "environment",
];

/// Where the fields are looked for: the payload, else its usual envelope.
const ENVELOPES: &[&str] = &["data", "object", "payload", "event"];

/// The longest value named, in characters; a longer string is not a short field.
const VALUE_CHARS: usize = 80;
/// The longest summary, in characters.
const SUMMARY_CHARS: usize = 160;

/// A short, one-line rendering of a string or integer value.
fn short(v: &Json<'_>) -> Option<String> {
    let text = match (v.as_str(), v.as_i64()) {
        (Some(s), _) => s.trim().to_owned(),
        (None, Some(n)) => n.to_string(),
        _ => return None,
    };
    if text.is_empty() || text.chars().count() > VALUE_CHARS {
        return None;
    }
    Some(one_line(&text))
}

/// `text` with every control character (a newline included) as a space.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The payload itself, then each envelope object it has.
fn scopes<'a>(body: &'a Json<'a>) -> impl Iterator<Item = &'a Json<'a>> {
    let envelopes = ENVELOPES
        .iter()
        .map(move |k| body.get(*k))
        .filter(|v| v.as_object().is_some());
    std::iter::once(body).chain(envelopes)
}

/// `title: Deploy, status: success, id: 4812` from the first scope that has such fields; else the
/// payload's first short fields whatever their names (`n: 7, host: web-1`); a text payload's
/// first line.
pub fn summary(body: &Json<'_>) -> Option<String> {
    if let Some(text) = body.as_str() {
        let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
        return Some(cut(&one_line(line)));
    }
    let named = scopes(body).find_map(|scope| {
        let named: Vec<String> = SUMMARY_FIELDS
            .iter()
            .filter_map(|k| Some(format!("{k}: {}", short(scope.get(*k))?)))
            .take(SUMMARY_FIELDS_MAX)
            .collect();
        (!named.is_empty()).then(|| cut(&named.join(", ")))
    });
    named.or_else(|| {
        let first: Vec<String> = body
            .as_object()?
            .iter()
            .filter_map(|(k, v)| Some(format!("{}: {}", one_line(k), short(v)?)))
            .take(SUMMARY_FIELDS_MAX)
            .collect();
        (!first.is_empty()).then(|| cut(&first.join(", ")))
    })
}

/// How many of each kind, in order of first appearance: `delivered ×2, open`.
pub fn tally<'a>(kinds: impl Iterator<Item = &'a str>) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for kind in kinds {
        match counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, c)) => *c += 1,
            None => counts.push((kind, 1)),
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(k, c)| match c {
            1 => (*k).to_owned(),
            c => format!("{k} ×{c}"),
        })
        .collect();
    parts.join(", ")
}

/// The first field that says what the event is about (a repository object by its full name).
pub fn subject(body: &Json<'_>) -> Option<String> {
    scopes(body).find_map(|scope| {
        SUBJECT_FIELDS.iter().find_map(|k| {
            let v = scope.get(*k);
            short(v).or_else(|| short(v.get("full_name")).or_else(|| short(v.get("name"))))
        })
    })
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(SUMMARY_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{subject, summary};

    fn both(json: &str) -> (Option<String>, Option<String>) {
        let body = crate::payload::parse(json).unwrap();
        (subject(&body), summary(&body))
    }

    #[test]
    fn short_named_fields_make_the_summary_and_the_subject() {
        let (subject, summary) = both(
            r#"{"id": 4812, "status": "success", "name": "nightly", "project": "api",
                "log": "a very long text that is no field to name"}"#,
        );
        assert_eq!(subject.as_deref(), Some("api"));
        assert_eq!(
            summary.as_deref(),
            Some("name: nightly, status: success, id: 4812")
        );
    }

    #[test]
    fn an_envelope_is_looked_into_and_a_repository_named_by_its_full_name() {
        let (subject, summary) = both(
            r#"{"type": "x", "data": {"state": "failed", "repository": {"full_name": "o/r"}}}"#,
        );
        assert_eq!(subject.as_deref(), Some("o/r"));
        assert_eq!(summary.as_deref(), Some("state: failed"));
    }

    #[test]
    fn long_values_and_control_characters_do_not_pass() {
        let long = "x".repeat(81);
        let (_, summary) = both(&format!(
            r#"{{"title": "{long}", "status": "a\nb\u001b[2J"}}"#
        ));
        assert_eq!(summary.as_deref(), Some("status: a b [2J"));
        let (subject, summary) = both(r#"{"nothing": [1, 2]}"#);
        assert_eq!((subject, summary), (None, None));
    }

    /// A payload with none of the telling names is summed up by its first short fields, so an
    /// event from a source hookd knows nothing of still says something in the list.
    #[test]
    fn an_unknown_payload_is_summed_up_by_its_first_short_fields() {
        let (_, summary) =
            both(r#"{"n": 7, "deep": {"x": 1}, "host": "web-1", "cpu": 93, "more": 1}"#);
        assert_eq!(summary.as_deref(), Some("n: 7, host: web-1, cpu: 93"));
    }

    #[test]
    fn a_text_payload_is_summarized_by_its_first_line() {
        let (_, summary) = both(r#""\n  build 17 finished\nmore""#);
        assert_eq!(summary.as_deref(), Some("build 17 finished"));
        let long = format!("\"{}\"", "y".repeat(500));
        let (_, summary) = both(&long);
        assert_eq!(
            summary.map(|s| s.chars().count()),
            Some(161),
            "cut, with an ellipsis"
        );
    }
}
