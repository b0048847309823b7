//! Mux: signed with `Mux-Signature: t=<unix>,v1=<hex HMAC-SHA256(signing secret, "t.body")>`
//! (5-minute tolerance); type = `type` (`video.asset.ready`, …), delivery id = `id`, occurred_at =
//! `created_at`, subject = the object's id.

use super::{Incoming, Normalized, Provider};
use crate::payload::{str_at, text};
use crate::signature::Scheme;
use crate::signature::pairs::Pairs;

const SCHEME: Pairs = Pairs {
    header: "Mux-Signature",
    separator: ',',
    time: Some("t"),
    signature: "v1",
    joiner: ".",
    tolerance: 300,
};

#[derive(Debug)]
pub struct Mux;

impl Provider for Mux {
    fn name(&self) -> &'static str {
        "mux"
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&SCHEME)
    }

    fn with_delivery_id(&self, body: &[u8], delivery_id: &str) -> Option<Vec<u8>> {
        super::with_field(body, "id", delivery_id)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        n.delivery_id = text(v, "id").or(n.delivery_id.take());
        n.occurred_at = super::rfc3339(v, "created_at");
        n.subject = text(v, "object/id").or_else(|| text(v, "data/id"));
        n.summary = str_at(v, "data/status").map(|s| format!("{}: {s}", n.event_type));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn an_asset_event_names_the_asset() {
        let body = r#"{"type":"video.asset.ready","id":"3a56ac3d","created_at":"2024-01-01T00:00:00Z","object":{"type":"asset","id":"0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002"},"data":{"status":"ready"}}"#;
        let n = read("mux", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "video.asset.ready");
        assert_eq!(n.delivery_id.as_deref(), Some("3a56ac3d"));
        assert_eq!(
            n.subject.as_deref(),
            Some("0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002")
        );
        assert_eq!(n.summary.as_deref(), Some("video.asset.ready: ready"));
    }
}
