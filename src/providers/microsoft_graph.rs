//! Microsoft Graph change notifications. Graph validates a subscription's URL with a POST
//! carrying `?validationToken=…`, answered with the token as text/plain (nothing stored, no
//! signature: Graph signs nothing). A notification proves its sender with the subscription's
//! `clientState`, the secret given when subscribing, which every item of `value` carries (checked
//! in constant time; it covers no other part of the body). Type = the `changeType` (`created`,
//! `updated`, `deleted`) or `lifecycleEvent`, subject = the resource, summary = how many.

use axum::http::Method;
use subtle::ConstantTimeEq;

use super::{Answer, Incoming, Normalized, Provider};
use crate::payload::{Json, at, str_at, text};
use crate::secret::Secret;
use crate::signature::{Delivery, Rejection, ToSign};

/// The longest validation token echoed (Graph's are opaque strings of a few hundred bytes).
const MAX_TOKEN: usize = 1024;

#[derive(Debug)]
pub struct MicrosoftGraph;

impl Provider for MicrosoftGraph {
    fn name(&self) -> &'static str {
        "microsoft-graph"
    }

    fn timed(&self) -> bool {
        false
    }

    fn signs_body(&self) -> bool {
        false
    }

    fn handshake(
        &self,
        method: &Method,
        d: &Delivery<'_>,
        _secrets: &[Secret],
    ) -> Option<Result<Answer, String>> {
        if method != Method::POST {
            return None;
        }
        let token = d.query("validationToken")?;
        let printable = |t: &str| t.chars().all(|c| !c.is_control());
        Some(match token.len() {
            1..=MAX_TOKEN if printable(&token) => Ok(Answer::text(token)),
            _ => Err(format!(
                "validationToken must be 1 to {MAX_TOKEN} bytes of printable text"
            )),
        })
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let missing = || Rejection::MissingField("value[].clientState".into());
        let body: serde_json::Value = serde_json::from_slice(d.body).map_err(|_| missing())?;
        let items = body["value"]
            .as_array()
            .filter(|v| !v.is_empty())
            .ok_or_else(missing)?;
        for item in items {
            let state = item["clientState"].as_str().ok_or_else(missing)?;
            let known = secrets
                .iter()
                .any(|s| bool::from(s.expose().as_bytes().ct_eq(state.as_bytes())));
            if !known {
                return Err(Rejection::BadSignature);
            }
        }
        Ok(())
    }

    /// The secret travels in the body: no header.
    fn sign(&self, _secret: &Secret, _d: &ToSign<'_>) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Each notification in `value` carries the secret as its `clientState` (a body without
    /// `value` becomes one notification).
    fn sign_body(&self, secret: &Secret, d: &ToSign<'_>) -> Option<Vec<u8>> {
        let mut body: serde_json::Value = serde_json::from_slice(d.body).ok()?;
        let object = body.as_object_mut()?;
        let value = object
            .entry("value")
            .or_insert_with(|| serde_json::json!([{}]));
        for item in value.as_array_mut()? {
            item.as_object_mut()?
                .insert("clientState".into(), secret.expose().into());
        }
        serde_json::to_vec(&body).ok()
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let Some(items) = at(d.body, "value").and_then(Json::as_array) else {
            return;
        };
        let Some(first) = items.first() else {
            return;
        };
        if let Some(t) = text(first, "changeType").or_else(|| text(first, "lifecycleEvent")) {
            n.event_type = t;
        }
        n.subject = text(first, "resource");
        n.occurred_at = None;
        n.summary = Some(match (items.len(), str_at(first, "resource")) {
            (1, Some(r)) => format!("{} {r}", n.event_type),
            (k, Some(r)) => format!("{k} notifications, the first {} {r}", n.event_type),
            (k, None) => format!("{k} notifications"),
        });
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;

    fn delivery<'a>(h: &'a HeaderMap, body: &'a [u8], url: &'a str) -> Delivery<'a> {
        Delivery {
            headers: h,
            body,
            now: 0,
            url,
        }
    }

    #[test]
    fn the_validation_token_is_echoed() {
        let h = HeaderMap::new();
        let d = delivery(
            &h,
            b"",
            "https://h/webhook/g?validationToken=Validation%3a+Testing",
        );
        assert_eq!(
            MicrosoftGraph.handshake(&Method::POST, &d, &[]),
            Some(Ok(Answer::text("Validation: Testing")))
        );
        let plain = delivery(&h, b"{}", "https://h/webhook/g");
        assert_eq!(MicrosoftGraph.handshake(&Method::POST, &plain, &[]), None);
        let control = delivery(&h, b"", "https://h/webhook/g?validationToken=a%0Ab");
        assert!(matches!(
            MicrosoftGraph.handshake(&Method::POST, &control, &[]),
            Some(Err(_))
        ));
    }

    #[test]
    fn every_notification_must_carry_the_client_state() {
        let h = HeaderMap::new();
        let secrets = [Secret::new("s3cret")];
        let both = br#"{"value":[{"clientState":"s3cret"},{"clientState":"s3cret"}]}"#;
        assert_eq!(
            MicrosoftGraph.verify(&secrets, &delivery(&h, both, "")),
            Ok(())
        );
        let one_wrong = br#"{"value":[{"clientState":"s3cret"},{"clientState":"guess"}]}"#;
        let got = MicrosoftGraph.verify(&secrets, &delivery(&h, one_wrong, ""));
        assert_eq!(got, Err(Rejection::BadSignature));
        let one_missing = br#"{"value":[{"clientState":"s3cret"},{}]}"#;
        let got = MicrosoftGraph.verify(&secrets, &delivery(&h, one_missing, ""));
        assert_eq!(got.map_err(|r| r.class()), Err("missing_header"));
    }

    #[test]
    fn a_notification_names_its_resource() {
        let body = r#"{"value":[{"subscriptionId":"7f10","clientState":"x","changeType":"created","resource":"Users/ab/Messages/AAk="}]}"#;
        let n = read("microsoft-graph", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "created");
        assert_eq!(n.subject.as_deref(), Some("Users/ab/Messages/AAk="));
    }
}
