//! A `url` trigger's attempt: the events POSTed as JSON, signed as Standard Webhooks when the
//! trigger has a `secret` (`webhook-id` is the run's id, the same at every attempt, so the
//! receiver can tell a retry). 2xx is success; 410 Gone stops the trigger; anything else fails.
//! The URL is the operator's own configuration, so private addresses are allowed; redirects are
//! not followed.

use std::time::Duration;

use super::command::{Ended, Tail};
use crate::secret::Secret;

/// How much of an answer's body is read (its last 64 KiB are kept).
const MAX_ANSWER_READ: usize = 1 << 20;

/// What a POST gave.
pub struct Posted {
    pub ended: Ended,
    pub http_status: Option<i32>,
    /// The URL answered 410 Gone: send nothing more to it.
    pub gone: bool,
}

pub fn client() -> reqwest::Client {
    crate::outbound::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

pub async fn post(
    client: &reqwest::Client,
    url: &reqwest::Url,
    secret: Option<&Secret>,
    run_id: i64,
    body: Vec<u8>,
    timeout: Duration,
) -> Posted {
    let id = format!("run_{run_id}");
    let mut request = client
        .post(url.clone())
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, "hookd-trigger");
    if let Some(secret) = secret {
        let to_sign = crate::signature::ToSign {
            body: &body,
            now: chrono::Utc::now().timestamp(),
            delivery_id: &id,
            url: url.as_str(),
        };
        for (k, v) in crate::signature::standard::sign(secret, &to_sign) {
            request = request.header(k, v);
        }
    } else {
        request = request.header("webhook-id", &id);
    }
    let failed = |error: String| Posted {
        ended: Ended {
            success: false,
            exit_code: None,
            output: String::new(),
            error: Some(error),
        },
        http_status: None,
        gone: false,
    };
    let mut response = match request.body(body).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return failed(format!("no answer within {timeout:?}")),
        Err(e) => return failed(e.without_url().to_string()),
    };
    let status = response.status();
    let mut tail = Tail::default();
    // The answer's body is read only as far as the run's timeout allows, and at most 1 MiB of it.
    let _ = tokio::time::timeout(timeout, async {
        let mut read = 0;
        while let Ok(Some(chunk)) = response.chunk().await {
            tail.push(&chunk);
            read += chunk.len();
            if read >= MAX_ANSWER_READ {
                break;
            }
        }
    })
    .await;
    let gone = status == reqwest::StatusCode::GONE;
    Posted {
        ended: Ended {
            success: status.is_success(),
            exit_code: None,
            output: tail.text(),
            error: (!status.is_success()).then(|| format!("{url} answered {status}")),
        },
        http_status: Some(i32::from(status.as_u16())),
        gone,
    }
}
