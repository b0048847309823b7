//! `hookd send`: sign a file as a source's provider would and POST it, to test a setup end to
//! end without the provider.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Args;

use crate::signature::ToSign;

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The source to send as (its provider and first secret sign the file).
    pub source: String,
    /// The body to send, byte for byte.
    pub file: PathBuf,
    /// The event type (GitHub: `X-GitHub-Event`, inferred from the payload when not given;
    /// others: `X-Event-Type`, only when given, as their type is in the body).
    #[arg(long = "type")]
    pub event_type: Option<String>,
    /// Where to POST. Default: `http://WEBHOOK_ADDR/webhook/SOURCE`.
    #[arg(long)]
    pub url: Option<String>,
    /// The delivery id to send (default: a new one).
    #[arg(long)]
    pub delivery_id: Option<String>,
    /// Default: application/json if the file is JSON, form-encoded if it looks like a form.
    #[arg(long)]
    pub content_type: Option<String>,
    /// The webhook address the default URL points at.
    #[arg(long, env = "HOOKD_WEBHOOK_ADDR", default_value = "127.0.0.1:8080")]
    pub webhook_addr: std::net::SocketAddr,
    #[command(flatten)]
    pub sources: crate::commands::SourcesArgs,
}

pub async fn run(a: SendArgs) -> anyhow::Result<()> {
    let body =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let sources = a.sources.load()?;
    let source = sources.get(&a.source);
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let delivery_id = a
        .delivery_id
        .clone()
        .unwrap_or_else(|| format!("hookd-send-{}", now.as_nanos()));
    let url = a
        .url
        .clone()
        .unwrap_or_else(|| format!("http://{}/webhook/{}", a.webhook_addr, a.source));
    let mut body = body;
    let mut url = url;
    let mut headers: Vec<(String, String)> = Vec::new();
    match source.and_then(|s| s.signing_key.as_ref().map(|key| (s, key))) {
        Some((s, key)) => {
            let at = now.as_secs() as i64;
            let d = ToSign {
                body: &body,
                now: at,
                delivery_id: &delivery_id,
                url: &url,
            };
            // Where the provider signs in the body or the URL, they are sent as it would.
            body = s.provider.sign_body(key, &d).unwrap_or(body);
            url = s.provider.send_url(&url, &body).unwrap_or(url);
            let d = ToSign {
                body: &body,
                now: at,
                delivery_id: &delivery_id,
                url: &url,
            };
            headers.extend(s.provider.sign(key, &d));
        }
        None => eprintln!(
            "hookd send: source {:?} has no secret here; sending unsigned ({})",
            a.source,
            crate::sources::secret_hint(&a.source)
        ),
    }
    let inferred = match (source, &a.event_type) {
        (Some(s), None) if s.provider.type_in_headers() => {
            let text = std::str::from_utf8(&body).unwrap_or_default();
            let tree = crate::payload::parse(text).ok();
            let guess = tree.as_ref().and_then(|t| s.provider.infer_type(t));
            let Some(t) = guess else {
                bail!(
                    "cannot tell which {} event {} is; name it with --type (e.g. --type push)",
                    s.provider.name(),
                    a.file.display()
                );
            };
            eprintln!("hookd send: sending as --type {t} (from the payload's shape)");
            Some(t)
        }
        _ => None,
    };
    let event_type = a.event_type.as_deref().or(inferred);
    headers.extend(match source {
        Some(s) => s.provider.identify(event_type, &delivery_id),
        None => crate::providers::generic::identify(event_type, Some(&delivery_id)),
    });
    let content_type = a
        .content_type
        .clone()
        .unwrap_or_else(|| guess_content_type(&body).into());
    let client = crate::outbound::client_builder()
        .build()
        .context("cannot build an HTTP client")?;
    let mut req = client
        .post(&url)
        .header("content-type", content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req
        .send()
        .await
        .with_context(|| format!("cannot POST to {url}"))?;
    let status = resp.status();
    let answer = resp.text().await.unwrap_or_default();
    println!("{} {answer}", status.as_u16());
    if !status.is_success() {
        bail!("the webhook was not accepted ({status})");
    }
    let receipt: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    if receipt["verified"] == false {
        eprintln!(
            "hookd send: stored unverified: the receiving hookd has no secret for source {:?} \
             ({})",
            a.source,
            crate::sources::secret_hint(&a.source)
        );
    }
    Ok(())
}

fn guess_content_type(body: &[u8]) -> &'static str {
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        "application/json"
    } else if !body.is_empty() && body.iter().all(|b| b.is_ascii_graphic()) && body.contains(&b'=')
    {
        "application/x-www-form-urlencoded"
    } else {
        "text/plain"
    }
}
