//! One POST to a callback endpoint and what came of it: Standard Webhooks signing (with every
//! secret the subscription currently signs with), the outcome as the design's categories, and
//! event bodies kept within the delivery profile's 256 KiB.

use chrono::Utc;
use serde_json::{Value, json};

use super::super::occurrence;
use crate::event::Event;
use crate::secret::Secret;
use crate::signature::{ToSign, standard};

/// The largest body hookd POSTs to a callback (the design's delivery profile: receivers may refuse
/// more with `413`). A larger event is sent without its payload and headers, saying so in `_meta`.
pub const MAX_BODY: usize = 256 << 10;

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A `2xx`: accepted.
    Accepted,
    /// `413 Payload Too Large`: the receiver does not want this one again. Not retried; the
    /// subscription is unaffected.
    Refused(&'static str),
    /// `410 Gone`: the receiver no longer has this subscription (the AI SDK's receiver answers it
    /// once the subscription lapsed on its side). Not retried, and the subscription ends.
    Gone,
    /// Anything else: worth another attempt later.
    Failed(&'static str),
}

impl Outcome {
    pub fn category(self) -> Option<&'static str> {
        match self {
            Outcome::Accepted => None,
            Outcome::Gone => Some("http_4xx"),
            Outcome::Refused(c) | Outcome::Failed(c) => Some(c),
        }
    }
}

/// The design's `lastError` categories, and `redirect_refused` (hookd follows no redirect from a
/// callback endpoint, and says so rather than calling a `3xx` a server error): every reason a
/// delivery or verification failed.
pub const CATEGORIES: [&str; 7] = [
    "connection_refused",
    "timeout",
    "tls_error",
    "http_4xx",
    "http_5xx",
    "challenge_failed",
    "redirect_refused",
];

/// Why a request failed, as one of [`CATEGORIES`].
pub fn category(e: &reqwest::Error) -> &'static str {
    let chain = format!("{e:?}").to_ascii_lowercase();
    if e.is_timeout() {
        "timeout"
    } else if chain.contains("tls") || chain.contains("certificate") {
        "tls_error"
    } else {
        "connection_refused"
    }
}

pub fn status_category(code: reqwest::StatusCode) -> &'static str {
    if code.is_redirection() {
        "redirect_refused"
    } else if code.is_client_error() {
        "http_4xx"
    } else {
        "http_5xx"
    }
}

fn outcome(answer: Result<reqwest::StatusCode, reqwest::Error>) -> Outcome {
    match answer {
        Ok(s) if s.is_success() => Outcome::Accepted,
        Ok(reqwest::StatusCode::GONE) => Outcome::Gone,
        Ok(s) if s == reqwest::StatusCode::PAYLOAD_TOO_LARGE => {
            Outcome::Refused(status_category(s))
        }
        Ok(s) => Outcome::Failed(status_category(s)),
        Err(e) => Outcome::Failed(category(&e)),
    }
}

/// One signed POST: Standard Webhooks headers (one signature per secret, space-separated, as
/// during a rotation) plus `X-MCP-Subscription-Id`.
pub async fn post(
    client: &reqwest::Client,
    url: &reqwest::Url,
    secrets: &[Secret],
    subscription: &str,
    msg_id: &str,
    body: Vec<u8>,
) -> Result<reqwest::Response, reqwest::Error> {
    let now = Utc::now().timestamp();
    let mut signatures = Vec::new();
    let mut headers = Vec::new();
    for secret in secrets {
        let signed = standard::sign(
            secret,
            &ToSign {
                body: &body,
                now,
                delivery_id: msg_id,
                url: url.as_str(),
            },
        );
        for (name, value) in signed {
            if name == "webhook-signature" {
                signatures.push(value);
            } else if !headers.iter().any(|(n, _)| *n == name) {
                headers.push((name, value));
            }
        }
    }
    let mut req = client
        .post(url.clone())
        .header("content-type", "application/json")
        .header("x-mcp-subscription-id", subscription)
        .header("webhook-signature", signatures.join(" "));
    for (name, value) in headers {
        req = req.header(name, value);
    }
    req.body(body).send().await
}

/// Posts and classifies: the response body is never read or kept (no oracle for attacker-chosen
/// URLs).
pub async fn attempt(
    client: &reqwest::Client,
    url: &reqwest::Url,
    secrets: &[Secret],
    subscription: &str,
    msg_id: &str,
    body: Vec<u8>,
) -> Outcome {
    let answer = post(client, url, secrets, subscription, msg_id, body).await;
    outcome(answer.map(|r| r.status()))
}

/// An event's delivery body with `cursor` as given (the subscription's watermark), within
/// [`MAX_BODY`]: a larger event goes without its payload and headers, and `_meta` says so and how
/// to read it whole.
pub fn event_body(event: &Event, name: &str, cursor: i64) -> Vec<u8> {
    let mut body = occurrence(event, name);
    body["cursor"] = Value::String(cursor.to_string());
    let whole = body.to_string();
    if whole.len() <= MAX_BODY {
        return whole.into_bytes();
    }
    body["data"]["payload"] = Value::Null;
    body["data"]["headers"] = json!({});
    body["_meta"] = json!({
        "io.github.hookd/payloadOmitted": {
            "reason": "the event is larger than the 256 KiB a delivery carries",
            "bytes": whole.len(),
            "readWith": {"tool": "get_event_by_id", "arguments": {"id": event.id}},
        }
    });
    body.to_string().into_bytes()
}

/// The id of a control envelope: `msg_<type>_<random>`.
pub fn control_id(kind: &str) -> String {
    let mut nonce = [0u8; 8];
    // The OS random source does not fail on the platforms hookd runs on.
    let _ = getrandom::fill(&mut nonce);
    format!("msg_{kind}_{}", hex::encode(nonce))
}
