//! Sending a stored event again, re-signed as its provider would sign it: what `hookd replay` and
//! `hookd forward` do. The body is the payload as stored (a JSON body byte for byte), the headers
//! are the ones that arrived minus credentials and transport headers, and the signature is made
//! fresh with the source's first secret, so the receiver's own verification code passes.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::event::{Event, PayloadEncoding};
use crate::signature::ToSign;
use crate::sources::Source;

/// Headers never sent again: the transport's own, and what a new signature replaces.
const DROPPED: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
    "expect",
    "upgrade",
    "accept-encoding",
];

/// The value ingest stores in place of a credential (see `ingest::headers`).
const REDACTED: &str = "[redacted]";

/// One request, ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether it carries a signature (the source has a secret).
    pub signed: bool,
    /// Where it goes instead of the URL asked, when the provider puts part of its signature in
    /// the URL (Twilio's `bodySHA256`).
    pub url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    #[error("event {0}'s stored payload does not decode as its encoding says")]
    Payload(i64),
}

/// The request that sends `event` again. `raw` is its payload as stored; `source` its configured
/// source (`None`: sent unsigned); `delivery_id` the id to send it under (its own, or a new one);
/// `now` the Unix time to sign at; `url` where it goes (some providers sign it).
pub fn request(
    event: &Event,
    raw: &str,
    source: Option<&Source>,
    delivery_id: Option<&str>,
    now: i64,
    url: &str,
) -> Result<Outgoing, ResendError> {
    let body = body(event.payload_encoding, raw).ok_or(ResendError::Payload(event.id))?;
    let renamed = delivery_id.is_some() && delivery_id != event.delivery_id.as_deref();
    let mut headers: Vec<(String, String)> = event
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .filter(|(k, v)| v != REDACTED && !DROPPED.contains(&k.as_str()))
        .filter(|(k, _)| !(renamed && crate::providers::generic::names_delivery(k)))
        .collect();
    let id = delivery_id.or(event.delivery_id.as_deref()).unwrap_or("");
    let mut set = |pairs: Vec<(String, String)>| {
        for (k, v) in pairs {
            headers.retain(|(old, _)| !old.eq_ignore_ascii_case(&k));
            headers.push((k, v));
        }
    };
    let secret = source.and_then(|s| s.signing_key.as_ref());
    let mut body = body;
    let mut moved_to = None;
    if let Some(s) = source {
        if renamed {
            set(s.provider.identify(Some(&event.event_type), id));
            // Where the provider keeps the id in the body, it is changed there (and signed so).
            if let Some(renamed_body) = s.provider.with_delivery_id(&body, id) {
                body = renamed_body;
            }
        }
        if let Some(secret) = secret {
            // Where the provider signs in the body or the URL, they change as it would.
            let d = ToSign {
                body: &body,
                now,
                delivery_id: id,
                url,
            };
            body = s.provider.sign_body(secret, &d).unwrap_or(body);
            moved_to = s.provider.send_url(url, &body);
            let d = ToSign {
                body: &body,
                now,
                delivery_id: id,
                url: moved_to.as_deref().unwrap_or(url),
            };
            set(s.provider.sign(secret, &d));
        }
    } else if renamed {
        set(crate::providers::generic::identify(None, Some(id)));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        && let Some(ct) = &event.content_type
    {
        headers.push(("content-type".into(), ct.clone()));
    }
    Ok(Outgoing {
        headers,
        body,
        signed: secret.is_some(),
        url: moved_to,
    })
}

/// The bytes of a stored payload, as they arrived (forms re-encoded from their fields).
fn body(encoding: PayloadEncoding, raw: &str) -> Option<Vec<u8>> {
    match encoding {
        PayloadEncoding::Json => Some(raw.as_bytes().to_vec()),
        PayloadEncoding::Text => serde_json::from_str::<String>(raw)
            .ok()
            .map(String::into_bytes),
        PayloadEncoding::Base64 => {
            let text = serde_json::from_str::<String>(raw).ok()?;
            base64::engine::general_purpose::STANDARD.decode(text).ok()
        }
        PayloadEncoding::Form => {
            let fields: serde_json::Map<String, Value> = serde_json::from_str(raw).ok()?;
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &fields {
                let values = match v {
                    Value::Array(a) => a.iter().collect(),
                    one => vec![one],
                };
                for v in values {
                    form.append_pair(k, v.as_str().unwrap_or_default());
                }
            }
            Some(form.finish().into_bytes())
        }
    }
}

/// What the receiver answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub elapsed: Duration,
    /// The first part of the answer's body, as text.
    pub excerpt: String,
}

/// The most of a receiver's answer that is kept for printing.
const EXCERPT: usize = 512;

/// POSTs `out` to `url`.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    out: &Outgoing,
) -> Result<Answer, reqwest::Error> {
    let started = Instant::now();
    let url = out.url.as_deref().unwrap_or(url);
    let mut req = client.post(url).body(out.body.clone());
    for (k, v) in &out.headers {
        req = req.header(k, v);
    }
    let mut resp = req.send().await?;
    let status = resp.status().as_u16();
    // Only the start of the answer is kept: a receiver's endless body is not read on.
    let mut start = Vec::new();
    while start.len() < EXCERPT * 4
        && let Ok(Some(chunk)) = resp.chunk().await
    {
        start.extend_from_slice(&chunk);
    }
    let excerpt = String::from_utf8_lossy(&start)
        .chars()
        .take(EXCERPT)
        .collect();
    Ok(Answer {
        status,
        elapsed: started.elapsed(),
        excerpt,
    })
}

/// What a replay to a URL answered: the receiver's status, how long it took, whether it was
/// signed and the start of its answer (the dashboard's and `replay_event`'s result).
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Replayed {
    /// The receiver's HTTP status.
    pub status: u16,
    pub elapsed_ms: u64,
    /// Whether it was signed (the source has a secret); unsigned otherwise.
    pub signed: bool,
    /// The first 512 characters of the receiver's answer.
    pub answer: String,
}

/// Why a replay did not reach its receiver.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("the URL must be http(s), e.g. http://localhost:3000/webhooks")]
    Url,
    #[error("the URL is longer than {MAX_URL} bytes")]
    UrlTooLong,
    #[error("no event {0} (it never existed or retention removed it)")]
    NotFound(i64),
    #[error("storage error: {0}")]
    Storage(#[from] crate::store::StoreError),
    #[error(transparent)]
    Payload(#[from] ResendError),
    #[error("cannot reach {0}: {1}")]
    Unreachable(String, String),
    #[error("{REPLAYS_AT_ONCE} replays are already under way: try again when one has finished")]
    Busy,
}

/// The most replays (the dashboard's and `replay_event`'s) under way at once.
pub const REPLAYS_AT_ONCE: usize = 8;
static REPLAYS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(REPLAYS_AT_ONCE);

/// The longest URL a replay is sent to.
pub const MAX_URL: usize = 2048;

/// How long a replay waits for its receiver.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends stored event `id` to `url`, re-signed for its source, under its own delivery id.
pub async fn replay(
    store: &dyn crate::store::Store,
    sources: &crate::sources::Sources,
    id: i64,
    url: &str,
) -> Result<Replayed, ReplayError> {
    if url.len() > MAX_URL {
        return Err(ReplayError::UrlTooLong);
    }
    let url = match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => return Err(ReplayError::Url),
    };
    let _turn = REPLAYS.try_acquire().map_err(|_| ReplayError::Busy)?;
    let (event, raw) = match futures_util::try_join!(store.get(id), store.raw_payload(id))? {
        (Some(e), Some(raw)) => (e, raw),
        _ => return Err(ReplayError::NotFound(id)),
    };
    let now = chrono::Utc::now().timestamp();
    let out = request(
        &event,
        &raw,
        sources.get(&event.source),
        None,
        now,
        url.as_str(),
    )?;
    let unreachable =
        |e: &dyn std::fmt::Display| ReplayError::Unreachable(url.to_string(), e.to_string());
    let client = crate::outbound::client_builder()
        .timeout(REPLAY_TIMEOUT)
        .build()
        .map_err(|e| unreachable(&e))?;
    let a = post(&client, url.as_str(), &out)
        .await
        .map_err(|e| unreachable(&e))?;
    Ok(Replayed {
        status: a.status,
        elapsed_ms: a.elapsed.as_millis() as u64,
        signed: out.signed,
        answer: a.excerpt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn event(encoding: PayloadEncoding, headers: Value) -> Event {
        Event {
            id: 7,
            source: "gh".into(),
            event_type: "push".into(),
            delivery_id: Some("d-1".into()),
            received_at: chrono::Utc::now(),
            headers: headers.as_object().unwrap().clone(),
            content_type: Some("application/json".into()),
            payload_encoding: encoding,
            payload: Value::Null,
            verified: Some(true),
            subject: None,
            occurred_at: None,
            summary: None,
            duplicates: 0,
            note: None,
        }
    }

    fn github() -> Source {
        let provider = crate::providers::build("github", Default::default()).unwrap();
        Source {
            name: "gh".into(),
            provider,
            secrets: vec![Secret::new("s3")],
            signing_key: Some(Secret::new("s3")),
            from_file: true,
            rate_limit: None,
        }
    }

    #[test]
    fn a_github_push_is_resigned_with_its_headers_kept_and_credentials_dropped() {
        let stored = serde_json::json!({
            "x-github-event": "push", "x-github-delivery": "d-1", "host": "old:8080",
            "x-hub-signature-256": "[redacted]", "user-agent": "GitHub-Hookshot/1",
            "content-type": "application/json"
        });
        let e = event(PayloadEncoding::Json, stored);
        let raw = r#"{"ref":"refs/heads/main",  "n":1}"#;
        let out = request(&e, raw, Some(&github()), None, 0, "").unwrap();
        assert_eq!(out.body, raw.as_bytes(), "byte for byte");
        let h = |name: &str| {
            out.headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(h("x-github-delivery"), ["d-1"]);
        assert_eq!(h("user-agent"), ["GitHub-Hookshot/1"]);
        assert!(h("host").is_empty());
        let sig = h("x-hub-signature-256");
        assert_eq!(sig.len(), 1);
        let want = crate::providers::build("github", Default::default())
            .unwrap()
            .sign(
                &Secret::new("s3"),
                &ToSign {
                    body: raw.as_bytes(),
                    now: 0,
                    delivery_id: "",
                    url: "",
                },
            );
        assert_eq!(sig[0], want[0].1);

        let renamed = request(&e, raw, Some(&github()), Some("d-2"), 0, "").unwrap();
        let ids: Vec<_> = renamed
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("x-github-delivery"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(ids, ["d-2"]);
    }

    #[test]
    fn bodies_come_back_as_they_arrived() {
        assert_eq!(
            body(PayloadEncoding::Text, r#""hi there""#).unwrap(),
            b"hi there"
        );
        assert_eq!(
            body(PayloadEncoding::Base64, r#""/wAB""#).unwrap(),
            [0xff, 0, 1]
        );
        let form = body(PayloadEncoding::Form, r#"{"a":"x y","t":["1","2"]}"#).unwrap();
        assert_eq!(form, b"a=x+y&t=1&t=2");
        assert!(body(PayloadEncoding::Text, "{").is_none());
    }
}
