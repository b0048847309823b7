//! Postmark: webhooks carry HTTP basic auth credentials put in the webhook's URL
//! (`https://user:pass@…`); the secret is `user:pass`, compared in constant time (it proves the
//! sender, it does not sign the body). Type = `RecordType` (`Delivery`, `Bounce`, `Open`,
//! `Click`, `SpamComplaint`, `Inbound`…), subject = the recipient, delivery id = the message id
//! with the record type (one message has several records).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use subtle::ConstantTimeEq;

use super::{Incoming, Normalized, Provider};
use crate::payload::{str_at, text};
use crate::secret::Secret;
use crate::signature::{Delivery, Rejection, ToSign};

const HEADER: &str = "authorization";

#[derive(Debug)]
pub struct Postmark;

impl Provider for Postmark {
    fn name(&self) -> &'static str {
        "postmark"
    }

    fn timed(&self) -> bool {
        false
    }

    fn signs_body(&self) -> bool {
        false
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let value = d.header(HEADER)?;
        let (scheme, encoded) = value
            .split_once(' ')
            .ok_or_else(|| Rejection::Malformed(HEADER.into()))?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(Rejection::Malformed(HEADER.into()));
        }
        let sent = B64
            .decode(encoded.trim())
            .map_err(|_| Rejection::Malformed(HEADER.into()))?;
        secrets
            .iter()
            .any(|s| bool::from(s.expose().as_bytes().ct_eq(&sent)))
            .then_some(())
            .ok_or(Rejection::BadSignature)
    }

    fn sign(&self, secret: &Secret, _d: &ToSign<'_>) -> Vec<(String, String)> {
        let basic = format!("Basic {}", B64.encode(secret.expose()));
        vec![("Authorization".into(), basic)]
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        let Some(kind) = text(v, "RecordType") else {
            return;
        };
        n.delivery_id = text(v, "MessageID").map(|id| format!("{id}:{kind}"));
        n.subject = text(v, "Recipient")
            .or_else(|| text(v, "Email"))
            .or_else(|| text(v, "To"));
        n.summary = str_at(v, "Subject")
            .or_else(|| str_at(v, "Description"))
            .map(|s| format!("{kind}: {s}"));
        n.event_type = kind;
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;
    use crate::signature::test_support::check;

    #[test]
    fn a_record_names_its_recipient() {
        let body = r#"{"RecordType":"Bounce","MessageID":"883953f4","Email":"john@example.com","Description":"The server was unable to deliver your message"}"#;
        let n = read("postmark", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "Bounce");
        assert_eq!(n.delivery_id.as_deref(), Some("883953f4:Bounce"));
        assert_eq!(n.subject.as_deref(), Some("john@example.com"));
    }

    #[test]
    fn basic_credentials_are_checked() {
        let verify = |s: &[Secret], d: &Delivery<'_>| Postmark.verify(s, d);
        let good = [(HEADER, "Basic dXNlcjpwYXNz")]; // user:pass
        assert_eq!(check(verify, &["user:pass"], &good, b"", 0), Ok(()));
        let wrong = check(verify, &["user:other"], &good, b"", 0);
        assert_eq!(wrong, Err(Rejection::BadSignature));
        let bearer = check(verify, &["user:pass"], &[(HEADER, "Bearer x")], b"", 0);
        assert_eq!(bearer, Err(Rejection::Malformed(HEADER.into())));
    }
}
