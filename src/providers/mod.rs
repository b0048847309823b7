//! Providers: one file per provider, each the whole of what hookd knows about it.
//!
//! A [`Provider`] verifies a delivery's raw bytes, signs a body as the provider would (for
//! `hookd send` and re-delivery), and reads a verified delivery: its type, delivery id, subject,
//! time, one-line summary and the rows it implies ([`crate::derive`]). It reads the payload from
//! the one parse ingest made of it ([`Json`]), never parsing it again.
//!
//! [`REGISTRY`] lists them by the name `provider = "…"` gives in `hookd.toml`. Adding a provider
//! is adding its file and one line there; the registry's tests then check that it verifies what
//! it signs, refuses what it did not sign, and reads any JSON without failing.

mod describe;
mod dropbox;
pub mod generic;
mod github;
mod gitlab;
mod hmac;
mod linear;
mod mcp_events;
mod none;
mod shopify;
mod slack;
mod standard_webhooks;
mod stripe;
mod vercel;

use std::sync::Arc;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use crate::derive::Derived;
use crate::event::PayloadEncoding;
pub use crate::payload::Json;
use crate::secret::Secret;
use crate::signature::{Delivery, HmacScheme, Rejection, ToSign};

/// What hookd knows about one provider.
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// The name `provider = "…"` gives in `hookd.toml`.
    fn name(&self) -> &'static str;

    /// Whether its deliveries carry a signature (only `none` does not).
    fn signs(&self) -> bool {
        true
    }

    /// Whether its signature carries a time that must be recent, so that an old delivery
    /// replayed is refused (`stale_timestamp`).
    fn timed(&self) -> bool {
        true
    }

    /// Whether its signature covers the body (GitLab's shared token does not: it only proves
    /// the sender knows the token).
    fn signs_body(&self) -> bool {
        true
    }

    /// The toolsets a configured source of this provider turns on under `--toolsets auto`, and
    /// whose tools read its events.
    fn toolsets(&self) -> &'static [crate::config::Toolset] {
        &[]
    }

    /// Whether its deliveries are MCP Events from another server (the paths listed at
    /// `/.well-known/mcp-events-receivers` for servers that verify a callback that way).
    fn receives_mcp_events(&self) -> bool {
        false
    }

    /// Whether a source of this provider must have a secret (one that answers a verification
    /// challenge must not answer it for anyone).
    fn requires_secret(&self) -> bool {
        false
    }

    /// `Ok` if `delivery` is signed by any of `secrets` (several allow rotation). Called only
    /// with at least one secret.
    fn verify(&self, secrets: &[Secret], delivery: &Delivery<'_>) -> Result<(), Rejection>;

    /// The signature headers the provider would send for `d`.
    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)>;

    /// The headers that name the event and the delivery, as the provider sends them (what
    /// `hookd send` adds beside the signature).
    fn identify(&self, event_type: Option<&str>, delivery_id: &str) -> Vec<(String, String)> {
        generic::identify(event_type, Some(delivery_id))
    }

    /// The body of a delivery sent again under `delivery_id` (`hookd replay --new-delivery-id`),
    /// for a provider whose delivery id is in the body (Stripe's event `id`, Slack's `event_id`);
    /// `None` when it travels in headers (`identify` renames it there).
    fn with_delivery_id(&self, _body: &[u8], _delivery_id: &str) -> Option<Vec<u8>> {
        None
    }

    /// Whether the event type travels only in a header (GitHub's `X-GitHub-Event`), so that
    /// `hookd send` must name it or infer it with `infer_type`.
    fn type_in_headers(&self) -> bool {
        false
    }

    /// The event type a payload's shape shows, for a provider whose type travels in a header.
    fn infer_type(&self, _body: &Json<'_>) -> Option<&'static str> {
        None
    }

    /// The answer to a GET on a source of this provider (a URL verification before any delivery,
    /// such as Dropbox's `?challenge=`): `None` when it answers no GET (405), `Ok(text)` for a
    /// `200 text/plain` answer, `Err(why)` for a `400`. Nothing is stored either way.
    fn answer_get(&self, _query: Option<&str>) -> Option<Result<String, String>> {
        None
    }

    /// A URL handshake to answer instead of storing the delivery (Slack's `url_verification`).
    fn challenge(&self, _d: &Incoming<'_>) -> Option<String> {
        None
    }

    /// Fills in what this provider's deliveries say, on top of the generic reading in `n`.
    fn read(&self, d: &Incoming<'_>, n: &mut Normalized);
}

/// A JSON object `body` with its top-level `field` (which it must have) set to `value`.
fn with_field(body: &[u8], field: &str, value: &str) -> Option<Vec<u8>> {
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).ok()?;
    let slot = object.get_mut(field)?;
    *slot = serde_json::Value::from(value);
    serde_json::to_vec(&object).ok()
}

/// One verified delivery, as a provider reads it.
pub struct Incoming<'a> {
    pub headers: &'a HeaderMap,
    pub encoding: PayloadEncoding,
    /// The payload, parsed once.
    pub body: &'a Json<'a>,
    pub received_at: DateTime<Utc>,
    pub settings: &'a Settings,
}

/// What `hookd.toml` configures for providers beyond one source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// Which Stripe events call for which actions (`[stripe.actions]`).
    pub stripe_actions: crate::derive::stripe::Rules,
}

/// What reading a delivery gives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalized {
    pub event_type: String,
    pub delivery_id: Option<String>,
    pub subject: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    /// Rows the event implies, stored with it.
    pub derived: Vec<Derived>,
}

/// What a source's table in `hookd.toml` gives its provider.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// The source's name, for messages.
    pub source: &'a str,
    /// Its `[sources.NAME.hmac]` table.
    pub hmac: Option<HmacScheme>,
}

/// How a provider is made from a source's options.
type Build = fn(Options<'_>) -> Result<Arc<dyn Provider>, String>;

/// Every provider, by name.
pub const REGISTRY: &[(&str, Build)] = &[
    ("github", |o| plain(o, github::GitHub)),
    ("stripe", |o| plain(o, stripe::Stripe)),
    ("slack", |o| plain(o, slack::Slack)),
    ("vercel", |o| plain(o, vercel::Vercel)),
    ("standard-webhooks", |o| {
        plain(o, standard_webhooks::StandardWebhooks)
    }),
    ("shopify", |o| plain(o, shopify::Shopify)),
    ("gitlab", |o| plain(o, gitlab::GitLab)),
    ("linear", |o| plain(o, linear::Linear)),
    ("dropbox", |o| plain(o, dropbox::Dropbox)),
    ("mcp-events", |o| plain(o, mcp_events::McpEvents)),
    ("hmac", hmac::build),
    ("none", |o| plain(o, none::Unsigned)),
];

/// The provider named `name`, made with a source's options.
pub fn build(name: &str, options: Options<'_>) -> Result<Arc<dyn Provider>, String> {
    let Some((_, build)) = REGISTRY.iter().find(|(n, _)| *n == name) else {
        let known: Vec<&str> = REGISTRY.iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "unknown provider {name:?}; hookd knows {}",
            known.join(", ")
        ));
    };
    build(options)
}

/// A provider that takes no options.
fn plain(options: Options<'_>, p: impl Provider + 'static) -> Result<Arc<dyn Provider>, String> {
    match options.hmac {
        Some(_) => Err(format!(
            "source {}: an hmac table needs provider = \"hmac\"",
            options.source
        )),
        None => Ok(Arc::new(p)),
    }
}

/// Reads one delivery: the generic type and delivery id, then what `provider` (if the source is
/// configured) says.
pub fn normalize(provider: Option<&dyn Provider>, d: &Incoming<'_>) -> Normalized {
    let body_type = d.body.as_object().and_then(|o| o.get("type")?.as_str());
    let mut n = Normalized {
        event_type: generic::event_type(d.headers, body_type),
        delivery_id: generic::delivery_id(d.headers).map(str::to_owned),
        ..Default::default()
    };
    if let Some(p) = provider {
        p.read(d, &mut n);
    }
    // A provider's own field can be present and empty (an empty `X-Shopify-Topic`, say).
    if n.event_type.trim().is_empty() {
        n.event_type = "unknown".to_owned();
    }
    // What no provider described is described from the payload's own short fields (not from
    // a binary body's base64).
    let readable = d.encoding != PayloadEncoding::Base64;
    if readable && n.summary.as_deref().is_none_or(|s| s.trim().is_empty()) {
        n.summary = describe::summary(d.body);
    }
    if readable && n.subject.as_deref().is_none_or(|s| s.trim().is_empty()) {
        n.subject = describe::subject(d.body);
    }
    n
}

/// A header's value as text.
fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Unix seconds (or milliseconds when `millis`) at `path`, as a time.
fn unix(v: &Json<'_>, path: &str, millis: bool) -> Option<DateTime<Utc>> {
    let n = crate::payload::int(v, path)?;
    if millis {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Reads `json` as `provider` would, with `headers` and the default settings.
    pub fn read(provider: &str, headers: &HeaderMap, json: &str) -> Normalized {
        let p = build(provider, Options::default()).unwrap();
        let tree = crate::payload::parse(json.trim()).unwrap();
        read_tree(p.as_ref(), headers, PayloadEncoding::Json, &tree)
    }

    pub fn read_tree(
        p: &dyn Provider,
        headers: &HeaderMap,
        encoding: PayloadEncoding,
        tree: &Json<'_>,
    ) -> Normalized {
        let settings = Settings::default();
        let d = Incoming {
            headers,
            encoding,
            body: tree,
            received_at: Utc::now(),
            settings: &settings,
        };
        normalize(Some(p), &d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::test_support::headers;

    fn every_provider() -> Vec<Arc<dyn Provider>> {
        let table: HmacScheme = toml::from_str(
            "header = \"X-Sig\"\nprefix = \"t=\"\nalgorithm = \"sha512\"\nencoding = \"base64\"\nsigned = \"{timestamp}.{delivery_id}.{body}\"\ntimestamp_header = \"X-Ts\"\ndelivery_id_header = \"X-Id\"\ntolerance_seconds = 60",
        )
        .unwrap();
        REGISTRY
            .iter()
            .map(|(name, build)| {
                let hmac = (*name == "hmac").then(|| table.clone());
                let p = build(Options { source: "x", hmac }).unwrap();
                assert_eq!(p.name(), *name);
                p
            })
            .collect()
    }

    /// Every provider verifies what it signs (the published vectors pin down each side alone),
    /// under rotation, and refuses another secret, a stale or future time, no headers, and a
    /// changed body.
    #[test]
    fn every_provider_verifies_its_own_signature() {
        let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let d = ToSign {
            body: br#"{"a":1}"#,
            now: 1_800_000_000,
            delivery_id: "msg_1",
        };
        for p in every_provider().into_iter().filter(|p| p.signs()) {
            let name = p.name();
            let pairs = p.sign(&secret, &d);
            let refs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let h = headers(&refs);
            let at = |now: i64, body: &'static [u8], h: &HeaderMap| {
                let delivery = Delivery {
                    headers: h,
                    body,
                    now,
                };
                (
                    p.verify(std::slice::from_ref(&secret), &delivery),
                    delivery.now,
                )
            };
            assert_eq!(at(d.now, br#"{"a":1}"#, &h).0, Ok(()), "{name}");
            let other = Secret::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            let delivery = Delivery {
                headers: &h,
                body: d.body,
                now: d.now,
            };
            let rotated = [other.clone(), secret.clone()];
            assert_eq!(p.verify(&rotated, &delivery), Ok(()), "{name}");
            let wrong = p.verify(&[other], &delivery);
            assert_eq!(wrong, Err(Rejection::BadSignature), "{name}");
            // Timed schemes: too old and too new are both refused.
            for shift in [100_000, -100_000] {
                let got = at(d.now + shift, br#"{"a":1}"#, &h).0;
                let expected = p.timed().then_some("stale_timestamp");
                assert_eq!(got.err().map(|r| r.class()), expected, "{name}");
            }
            let missing = at(d.now, br#"{"a":1}"#, &headers(&[])).0;
            assert_eq!(
                missing.map_err(|r| r.class()),
                Err("missing_header"),
                "{name}"
            );
            if p.signs_body() {
                assert!(at(d.now, b"{}", &h).0.is_err(), "{name}");
            }
        }
    }

    #[test]
    fn every_provider_reads_any_body_and_names_a_type() {
        let bodies = [
            "null",
            "[]",
            "{}",
            r#"{"type":"","data":[],"payload":7}"#,
            "\"text\"",
        ];
        for p in every_provider() {
            for body in bodies {
                let tree = crate::payload::parse(body).unwrap();
                for encoding in [PayloadEncoding::Json, PayloadEncoding::Form] {
                    let n = test_support::read_tree(p.as_ref(), &HeaderMap::new(), encoding, &tree);
                    assert!(!n.event_type.is_empty(), "{} {body}", p.name());
                }
            }
        }
    }

    #[test]
    fn unknown_providers_and_misplaced_tables_are_clear_errors() {
        let err = build("gitbub", Options::default()).unwrap_err();
        assert!(
            err.contains("\"gitbub\"") && err.contains("github, stripe"),
            "{err}"
        );
        let table: HmacScheme = toml::from_str("header = \"X-Sig\"").unwrap();
        let options = Options {
            source: "x",
            hmac: Some(table),
        };
        let err = build("stripe", options).unwrap_err();
        assert!(err.contains("needs provider = \"hmac\""), "{err}");
        let options = Options {
            source: "x",
            hmac: None,
        };
        let err = build("hmac", options).unwrap_err();
        assert!(err.contains("needs an [sources.x.hmac] table"), "{err}");
    }
}
