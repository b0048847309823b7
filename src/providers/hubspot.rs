//! HubSpot (signature v3): `X-HubSpot-Signature-v3` is the base64 HMAC-SHA256, keyed with the
//! app's client secret, of `POST` + the URL HubSpot called (with the characters HubSpot decodes
//! decoded) + the body + `X-HubSpot-Request-Timestamp` (Unix milliseconds, refused beyond 5
//! minutes). A delivery is an array of up to 100 events: type = the first one's
//! `subscriptionType` (`contact.creation`, …), delivery id = the event ids, subject = the first
//! object's id, summary = how many of which.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Incoming, Normalized, Provider, unix};
use crate::payload::{Json, id_at, str_at};
use crate::secret::Secret;
use crate::signature::{
    Delivery, HmacSha256, Rejection, ToSign, check_timestamp, hmac_matches, mac,
};

const SIGNATURE: &str = "x-hubspot-signature-v3";
const TIMESTAMP: &str = "x-hubspot-request-timestamp";
const TOLERANCE: u64 = 300;

/// The encoded characters HubSpot decodes in the URL before signing it.
const DECODED: &[(&str, &str)] = &[
    ("%3A", ":"),
    ("%2F", "/"),
    ("%3F", "?"),
    ("%40", "@"),
    ("%21", "!"),
    ("%24", "$"),
    ("%27", "'"),
    ("%28", "("),
    ("%29", ")"),
    ("%2A", "*"),
    ("%2C", ","),
    ("%3B", ";"),
];

fn signed_url(url: &str) -> String {
    let mut out = url.to_owned();
    for (encoded, plain) in DECODED {
        out = out
            .replace(encoded, plain)
            .replace(&encoded.to_ascii_lowercase(), plain);
    }
    out
}

#[derive(Debug)]
pub struct HubSpot;

impl Provider for HubSpot {
    fn name(&self) -> &'static str {
        "hubspot"
    }

    fn signs_url(&self) -> bool {
        true
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let sig = B64
            .decode(d.header(SIGNATURE)?)
            .map_err(|_| Rejection::Malformed(SIGNATURE.into()))?;
        let ts = d.header(TIMESTAMP)?;
        let url = signed_url(d.url);
        let parts: [&[u8]; 4] = [b"POST", url.as_bytes(), d.body, ts.as_bytes()];
        let signed = secrets
            .iter()
            .any(|s| hmac_matches::<HmacSha256>(s.expose().as_bytes(), &parts, &sig));
        if !signed {
            return Err(Rejection::BadSignature);
        }
        let millis: i64 = ts
            .parse()
            .map_err(|_| Rejection::Malformed(TIMESTAMP.into()))?;
        check_timestamp(&(millis / 1000).to_string(), TIMESTAMP, d.now, TOLERANCE).map(|_| ())
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let ts = (d.now * 1000).to_string();
        let url = signed_url(d.url);
        let parts: [&[u8]; 4] = [b"POST", url.as_bytes(), d.body, ts.as_bytes()];
        let sig = mac::<HmacSha256>(secret.expose().as_bytes(), &parts);
        vec![
            ("X-HubSpot-Signature-v3".into(), B64.encode(sig)),
            ("X-HubSpot-Request-Timestamp".into(), ts),
        ]
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let Some(events) = d.body.as_array().filter(|e| !e.is_empty()) else {
            return;
        };
        let first = &events[0];
        if let Some(t) = str_at(first, "subscriptionType") {
            n.event_type = t.to_owned();
        }
        let ids: Vec<String> = events.iter().filter_map(|e| id_at(e, "eventId")).collect();
        n.delivery_id = (!ids.is_empty()).then(|| ids.join(","));
        n.occurred_at = unix(first, "occurredAt", true);
        n.subject = id_at(first, "objectId");
        n.summary = Some(summary(events));
    }
}

/// `3 events: contact.creation ×2, deal.propertyChange`.
fn summary(events: &[Json<'_>]) -> String {
    let kinds = super::describe::tally(
        events
            .iter()
            .map(|e| str_at(e, "subscriptionType").unwrap_or("?")),
    );
    match events.len() {
        1 => kinds,
        k => format!("{k} events: {kinds}"),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;

    #[test]
    fn a_batch_names_its_events() {
        let body = r#"[{"eventId":1,"subscriptionType":"contact.creation","objectId":123,"occurredAt":1700000000000},{"eventId":2,"subscriptionType":"contact.creation","objectId":124},{"eventId":3,"subscriptionType":"deal.propertyChange","objectId":9}]"#;
        let n = read("hubspot", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "contact.creation");
        assert_eq!(n.delivery_id.as_deref(), Some("1,2,3"));
        assert_eq!(n.subject.as_deref(), Some("123"));
        assert_eq!(
            n.summary.as_deref(),
            Some("3 events: contact.creation ×2, deal.propertyChange")
        );
        assert_eq!(n.occurred_at.unwrap().timestamp(), 1_700_000_000);
    }

    #[test]
    fn the_url_is_signed_with_hubspots_characters_decoded() {
        assert_eq!(
            signed_url("https://h.example/webhook/hs?a=b%3Ac%2Cd%20e"),
            "https://h.example/webhook/hs?a=b:c,d%20e"
        );
    }
}
