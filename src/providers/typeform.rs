//! Typeform: signed with `Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, body)>`; type =
//! `event_type` (`form_response`), delivery id = `event_id`, subject = the form's id, summary = its
//! title and how many answers.

use std::sync::LazyLock;

use super::{Incoming, Normalized, Provider};
use crate::payload::{Json, at, str_at, text};
use crate::signature::{Algorithm, Encoding, HmacScheme, Scheme};

static SCHEME: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "Typeform-Signature",
        "sha256=",
        Algorithm::Sha256,
        Encoding::Base64,
        "{body}",
    )
});

#[derive(Debug)]
pub struct Typeform;

impl Provider for Typeform {
    fn name(&self) -> &'static str {
        "typeform"
    }

    fn timed(&self) -> bool {
        false
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*SCHEME)
    }

    fn with_delivery_id(&self, body: &[u8], delivery_id: &str) -> Option<Vec<u8>> {
        super::with_field(body, "event_id", delivery_id)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "event_type") {
            n.event_type = t;
        }
        n.delivery_id = text(v, "event_id").or(n.delivery_id.take());
        n.subject = text(v, "form_response/form_id");
        n.occurred_at = super::rfc3339(v, "form_response/submitted_at");
        let answers = at(v, "form_response/answers").and_then(Json::as_array);
        n.summary = str_at(v, "form_response/definition/title").map(|title| match answers {
            Some(a) => format!("{title}: a response with {} answers", a.len()),
            None => format!("{title}: a response"),
        });
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn a_response_names_its_form() {
        let body = r#"{"event_id":"01H","event_type":"form_response","form_response":{"form_id":"lT4Z3j","submitted_at":"2024-01-02T03:04:05Z","definition":{"title":"Feedback"},"answers":[{"type":"text"},{"type":"choice"}]}}"#;
        let n = read("typeform", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "form_response");
        assert_eq!(n.delivery_id.as_deref(), Some("01H"));
        assert_eq!(n.subject.as_deref(), Some("lT4Z3j"));
        assert_eq!(
            n.summary.as_deref(),
            Some("Feedback: a response with 2 answers")
        );
        assert_eq!(n.occurred_at.unwrap().timestamp(), 1_704_164_645);
    }
}
