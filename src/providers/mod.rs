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

mod airtable;
mod asana;
mod bitbucket;
mod cal;
mod calendly;
mod circleci;
mod describe;
mod discord;
mod dropbox;
pub mod generic;
mod gitea;
mod github;
mod gitlab;
mod hmac;
mod hubspot;
mod intercom;
mod jira;
mod lemonsqueezy;
mod linear;
mod mailgun;
mod mcp_events;
mod meta;
mod microsoft_graph;
mod mux;
mod netlify;
mod none;
mod paddle;
mod pagerduty;
mod postmark;
mod sendgrid;
mod sentry;
mod shopify;
mod slack;
mod square;
mod standard_webhooks;
mod stripe;
mod svix;
mod telegram;
mod trello;
mod twilio;
mod twitch;
mod typeform;
mod vercel;
mod x;
mod zendesk;
mod zoom;

use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use chrono::{DateTime, Utc};

use crate::derive::Derived;
use crate::event::PayloadEncoding;
pub use crate::payload::Json;
use crate::secret::Secret;
use crate::signature::{Delivery, HmacScheme, Rejection, Scheme, ToSign};

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

    /// What secret a source of this provider must have, when it must (one that answers a
    /// verification challenge with it must not answer for anyone).
    fn requires_secret(&self) -> Option<&'static str> {
        None
    }

    /// The scheme it signs with, when one several share serves as it is (an `HmacScheme`, a
    /// `t=…,v1=…` header): `verify` and `sign` then need no code of the provider's own.
    fn scheme(&self) -> Option<&dyn Scheme> {
        None
    }

    /// `Ok` if `delivery` is signed by any of `secrets` (several allow rotation). Called only
    /// with at least one secret. By default, its `scheme`'s (a provider with neither refuses
    /// everything, which the registry's test catches).
    fn verify(&self, secrets: &[Secret], delivery: &Delivery<'_>) -> Result<(), Rejection> {
        match self.scheme() {
            Some(s) => s.verify(secrets, delivery),
            None => Err(Rejection::BadSignature),
        }
    }

    /// The signature headers the provider would send for `d`; by default its `scheme`'s.
    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        self.scheme().map(|s| s.sign(secret, d)).unwrap_or_default()
    }

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

    /// The header of a handshake that gives the source its secret (Asana's `X-Hook-Secret`),
    /// for a provider whose secret is learned, not configured: it is kept only while an
    /// enrolment window is open (`hookd enrol SOURCE`).
    fn enrols(&self) -> Option<&'static str> {
        None
    }

    /// Whether its signature covers the URL the sender called (Twilio, Square, Trello, HubSpot):
    /// behind a tunnel or proxy that URL is `--webhook-public-url`'s.
    fn signs_url(&self) -> bool {
        false
    }

    /// A handshake answered before any signature is checked: a URL verification the provider
    /// makes before it sends anything (Dropbox's `GET ?challenge=`, Meta's `hub.challenge`, X's
    /// CRC, Microsoft Graph's `validationToken`), which it signs differently or not at all.
    /// `None` when this request is not one (a GET is then answered 405, a POST is a delivery);
    /// `Err(why)` is answered `400`. Nothing is stored either way.
    fn handshake(
        &self,
        _method: &Method,
        _d: &Delivery<'_>,
        _secrets: &[Secret],
    ) -> Option<Result<Answer, String>> {
        None
    }

    /// A handshake inside a verified POST, answered instead of stored (Slack's
    /// `url_verification`, Zoom's `endpoint.url_validation`, Discord's PING). `secrets` are the
    /// source's (Zoom answers with an HMAC of its token).
    fn challenge(&self, _d: &Incoming<'_>, _secrets: &[Secret]) -> Option<Answer> {
        None
    }

    /// For a provider that signs with a private key (`secret` is then that key, which only
    /// `hookd send` and replays use, and `public_key` in the source's table verifies): the public
    /// key of `private` as `public_key` is written, or why `private` is not a key. `None` for a
    /// shared-secret provider.
    fn public_key(&self, _private: &Secret) -> Option<Result<String, String>> {
        None
    }

    /// For a provider that signs with a private key: `Ok` if `key` is a public key as
    /// `public_key` takes it, else why not. `None` for a shared-secret provider.
    fn parse_public_key(&self, _key: &str) -> Option<Result<(), String>> {
        None
    }

    /// For a provider that signs with a private key: a new one, in the form `secret` takes.
    fn new_private_key(&self) -> Option<Secret> {
        None
    }

    /// For a provider that carries its signature in the body (Mailgun's `signature` object): the
    /// body `d` is sent as, signed. `None` when the signature travels in headers.
    fn sign_body(&self, _secret: &Secret, _d: &ToSign<'_>) -> Option<Vec<u8>> {
        None
    }

    /// The URL a body is sent to, for a provider that puts something of it there (Twilio's
    /// `bodySHA256` for a JSON body); `None` when `url` is used as it is.
    fn send_url(&self, _url: &str, _body: &[u8]) -> Option<String> {
        None
    }

    /// Fills in what this provider's deliveries say, on top of the generic reading in `n`.
    fn read(&self, d: &Incoming<'_>, n: &mut Normalized);
}

/// What a handshake is answered with (a `200` unless `status` says otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// `text/plain; charset=utf-8`, `application/json`, or empty for no body.
    pub content_type: &'static str,
    pub body: String,
    /// Headers the provider expects back (Asana's `X-Hook-Secret`).
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub fn text(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
            headers: Vec::new(),
        }
    }

    pub fn json(value: serde_json::Value) -> Self {
        Self {
            status: 200,
            content_type: "application/json",
            body: value.to_string(),
            headers: Vec::new(),
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: "",
            body: String::new(),
            headers: Vec::new(),
        }
    }
}

/// Whether a handshake's `token` may be echoed: 1 to `max` printable ASCII characters, no space.
fn echoable(token: &str, max: usize) -> bool {
    !token.is_empty() && token.len() <= max && token.bytes().all(|b| b.is_ascii_graphic())
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
    /// Its `verify_token` (Meta's handshake).
    pub verify_token: Option<Secret>,
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
    ("gitea", |o| plain(o, gitea::GITEA_PROVIDER)),
    ("forgejo", |o| plain(o, gitea::FORGEJO_PROVIDER)),
    ("bitbucket", |o| plain(o, bitbucket::Bitbucket)),
    ("jira", |o| plain(o, jira::Jira)),
    ("sentry", |o| plain(o, sentry::Sentry)),
    ("circleci", |o| plain(o, circleci::CircleCi)),
    ("netlify", |o| plain(o, netlify::Netlify)),
    ("pagerduty", |o| plain(o, pagerduty::PagerDuty)),
    ("intercom", |o| plain(o, intercom::Intercom)),
    ("zendesk", |o| plain(o, zendesk::Zendesk)),
    ("airtable", |o| plain(o, airtable::Airtable)),
    ("typeform", |o| plain(o, typeform::Typeform)),
    ("calendly", |o| plain(o, calendly::Calendly)),
    ("cal", |o| plain(o, cal::Cal)),
    ("paddle", |o| plain(o, paddle::Paddle)),
    ("lemonsqueezy", |o| plain(o, lemonsqueezy::LemonSqueezy)),
    ("mux", |o| plain(o, mux::Mux)),
    ("resend", |o| plain(o, svix::RESEND)),
    ("clerk", |o| plain(o, svix::CLERK)),
    ("postmark", |o| plain(o, postmark::Postmark)),
    ("telegram", |o| plain(o, telegram::Telegram)),
    ("twilio", |o| plain(o, twilio::Twilio)),
    ("square", |o| plain(o, square::Square)),
    ("trello", |o| plain(o, trello::Trello)),
    ("hubspot", |o| plain(o, hubspot::HubSpot)),
    ("discord", |o| plain(o, discord::Discord)),
    ("sendgrid", |o| plain(o, sendgrid::SendGrid)),
    ("mailgun", |o| plain(o, mailgun::Mailgun)),
    ("zoom", |o| plain(o, zoom::Zoom)),
    ("twitch", |o| plain(o, twitch::Twitch)),
    ("microsoft-graph", |o| {
        plain(o, microsoft_graph::MicrosoftGraph)
    }),
    ("meta", meta::build),
    ("x", |o| plain(o, x::X)),
    ("asana", |o| plain(o, asana::Asana)),
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
    if options.verify_token.is_some() {
        return Err("verify_token is Meta's: it needs provider = \"meta\"".into());
    }
    match options.hmac {
        Some(_) => Err("an hmac table needs provider = \"hmac\"".into()),
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

/// The RFC 3339 time at `path`.
fn rfc3339(v: &Json<'_>, path: &str) -> Option<DateTime<Utc>> {
    let t = crate::payload::str_at(v, path)?;
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.to_utc())
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
                let options = Options {
                    source: "x",
                    hmac,
                    ..Default::default()
                };
                let p = build(options).unwrap();
                assert_eq!(p.name(), *name);
                p
            })
            .collect()
    }

    /// The request `p` sends `body` as, signed with `key` at `d`: its URL, body and headers.
    fn signed(p: &dyn Provider, key: &Secret, d: &ToSign<'_>) -> (String, Vec<u8>, HeaderMap) {
        let body = p.sign_body(key, d).unwrap_or_else(|| d.body.to_vec());
        let url = p.send_url(d.url, &body).unwrap_or_else(|| d.url.to_owned());
        let to_sign = ToSign {
            body: &body,
            url: &url,
            ..*d
        };
        let pairs = p.sign(key, &to_sign);
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        (url, body.clone(), headers(&refs))
    }

    /// Every provider verifies what it signs (the published vectors pin down each side alone),
    /// under rotation, and refuses another key, a stale or future time, no signature, and a
    /// changed body or URL. A provider that signs with a private key is checked with a new key
    /// pair, verified by its public key.
    #[test]
    fn every_provider_verifies_its_own_signature() {
        let whsec = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let other_whsec = Secret::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        let d = ToSign {
            body: br#"{"a":1}"#,
            now: 1_800_000_000,
            delivery_id: "msg_1",
            url: "https://hooks.example.com/webhook/x?k=v",
        };
        for p in every_provider().into_iter().filter(|p| p.signs()) {
            let name = p.name();
            let (key, verifier, other) = match p.new_private_key() {
                Some(key) => {
                    let public = |k: &Secret| Secret::new(p.public_key(k).unwrap().unwrap());
                    let other = public(&p.new_private_key().unwrap());
                    (key.clone(), public(&key), other)
                }
                None => (whsec.clone(), whsec.clone(), other_whsec.clone()),
            };
            let (url, body, h) = signed(p.as_ref(), &key, &d);
            let check = |now: i64, body: &[u8], url: &str, h: &HeaderMap, keys: &[Secret]| {
                let delivery = Delivery {
                    headers: h,
                    body,
                    now,
                    url,
                };
                p.verify(keys, &delivery)
            };
            let good = std::slice::from_ref(&verifier);
            assert_eq!(check(d.now, &body, &url, &h, good), Ok(()), "{name}");
            let rotated = [other.clone(), verifier.clone()];
            assert_eq!(check(d.now, &body, &url, &h, &rotated), Ok(()), "{name}");
            let wrong = check(d.now, &body, &url, &h, &[other]);
            assert_eq!(wrong, Err(Rejection::BadSignature), "{name}");
            // Timed schemes: too old and too new are both refused.
            for shift in [100_000, -100_000] {
                let got = check(d.now + shift, &body, &url, &h, good);
                let expected = p.timed().then_some("stale_timestamp");
                assert_eq!(got.err().map(|r| r.class()), expected, "{name}");
            }
            let unsigned = check(d.now, d.body, d.url, &headers(&[]), good);
            assert_eq!(
                unsigned.map_err(|r| r.class()),
                Err("missing_header"),
                "{name}"
            );
            if p.signs_body() {
                let changed = [&body[..], b" "].concat();
                assert!(check(d.now, &changed, &url, &h, good).is_err(), "{name}");
            }
            if p.signs_url() {
                let moved = url.replace("/x", "/y");
                assert!(check(d.now, &body, &moved, &h, good).is_err(), "{name}");
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
            ..Default::default()
        };
        let err = build("stripe", options).unwrap_err();
        assert!(err.contains("needs provider = \"hmac\""), "{err}");
        let options = Options {
            source: "x",
            ..Default::default()
        };
        let err = build("hmac", options).unwrap_err();
        assert!(err.contains("needs an [sources.x.hmac] table"), "{err}");
    }
}
