//! PagerDuty (v3 webhooks): signed with `X-PagerDuty-Signature: v1=<hex HMAC-SHA256(secret,
//! body)>`, several `v1=` at once while a secret rotates (any may match); type =
//! `event.event_type` (`incident.triggered`, …), delivery id = `event.id`, occurred_at =
//! `event.occurred_at`, subject = the incident's number or id, summary = its title.

use super::{Incoming, Normalized, Provider};
use crate::payload::{id_at, str_at, text};
use crate::signature::Scheme;
use crate::signature::pairs::Pairs;

const SCHEME: Pairs = Pairs {
    header: "X-PagerDuty-Signature",
    separator: ',',
    time: None,
    signature: "v1",
    joiner: "",
    tolerance: 0,
};

#[derive(Debug)]
pub struct PagerDuty;

impl Provider for PagerDuty {
    fn name(&self) -> &'static str {
        "pagerduty"
    }

    fn timed(&self) -> bool {
        false
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&SCHEME)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        if let Some(t) = text(v, "event/event_type") {
            n.event_type = t;
        }
        n.delivery_id = text(v, "event/id").or(n.delivery_id.take());
        n.occurred_at = super::rfc3339(v, "event/occurred_at");
        n.subject = id_at(v, "event/data/number")
            .map(|n| format!("#{n}"))
            .or_else(|| text(v, "event/data/id"));
        n.summary = str_at(v, "event/data/title").map(|t| format!("{}: {t}", n.event_type));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;
    use crate::secret::Secret;
    use crate::signature::test_support::check;
    use crate::signature::{Delivery, Rejection, ToSign};

    #[test]
    fn an_incident_names_its_number() {
        let body = r#"{"event":{"id":"01DEN3","event_type":"incident.triggered","occurred_at":"2020-10-02T18:45:22.169Z","data":{"id":"PGR0VU2","number":2,"title":"A little bump in the road"}}}"#;
        let n = read("pagerduty", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "incident.triggered");
        assert_eq!(n.delivery_id.as_deref(), Some("01DEN3"));
        assert_eq!(n.subject.as_deref(), Some("#2"));
        assert_eq!(
            n.summary.as_deref(),
            Some("incident.triggered: A little bump in the road")
        );
    }

    /// While a secret rotates PagerDuty sends one `v1=` per secret: either verifies.
    #[test]
    fn any_of_several_signatures_verifies() {
        let body = b"{}";
        let sig = |s: &str| {
            let h = PagerDuty.sign(
                &Secret::new(s),
                &ToSign {
                    body,
                    now: 0,
                    delivery_id: "",
                    url: "",
                },
            );
            h[0].1.clone()
        };
        let both = format!("{},{}", sig("old"), sig("new"));
        let verify = |secrets: &[Secret], d: &Delivery<'_>| PagerDuty.verify(secrets, d);
        let header = [("x-pagerduty-signature", both.as_str())];
        assert_eq!(check(verify, &["new"], &header, body, 0), Ok(()));
        assert_eq!(check(verify, &["old"], &header, body, 0), Ok(()));
        assert_eq!(
            check(verify, &["x"], &header, body, 0),
            Err(Rejection::BadSignature)
        );
    }
}
