//! Reading a request body: bounded in size, in time, and in the memory that every unfinished or
//! queued body shares.
//!
//! Without the shared bound, 2,000 clients that each send 1 MiB bodies and stall would hold
//! 2 GB; with it, what hookd holds for bodies never exceeds `--max-pending-bytes`, and the
//! client that would go beyond it is told to come back (`503` with `Retry-After`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReadError {
    #[error("request body is larger than the limit of {0} bytes")]
    TooLarge(usize),
    #[error("the request body did not arrive within {0} s")]
    TimedOut(u64),
    #[error(
        "hookd is holding as many request bodies as it may (--max-pending-bytes); retry shortly"
    )]
    Busy,
    #[error("could not read the request body: {0}")]
    Broken(String),
}

impl ReadError {
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Broken(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// The memory all bodies share, in bytes.
#[derive(Debug, Clone)]
pub struct Budget(Arc<Semaphore>);

impl Budget {
    pub fn new(bytes: usize) -> Self {
        Self(Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))))
    }

    /// Bytes free now.
    pub fn available(&self) -> usize {
        self.0.available_permits()
    }

    fn take(&self, bytes: usize) -> Result<OwnedSemaphorePermit, ReadError> {
        let n = u32::try_from(bytes).map_err(|_| ReadError::Busy)?;
        self.0
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| ReadError::Busy)
    }
}

/// How a body may be read.
#[derive(Debug, Clone)]
pub struct BodyLimits {
    pub max: usize,
    pub timeout: Duration,
    pub budget: Budget,
}

/// A body read whole, with its share of the budget: the share is returned when this is dropped,
/// i.e. once the request has been answered.
#[derive(Debug)]
pub struct Held {
    pub bytes: Bytes,
    _share: Option<OwnedSemaphorePermit>,
}

/// Reads `body` within `limits`. A declared `Content-Length` is checked and reserved before a
/// byte is read; a chunked body reserves its budget as it arrives.
pub async fn read(body: Body, headers: &HeaderMap, limits: &BodyLimits) -> Result<Held, ReadError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut share: Option<OwnedSemaphorePermit> = None;
    if let Some(len) = declared {
        if len > limits.max as u64 {
            return Err(ReadError::TooLarge(limits.max));
        }
        share = Some(limits.budget.take(len as usize)?);
    }
    let mut accounted = share.as_ref().map_or(0, |s| s.num_permits());
    let collect = async {
        let mut body = body;
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ReadError::Broken(e.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            total += data.len();
            if total > limits.max {
                return Err(ReadError::TooLarge(limits.max));
            }
            if total > accounted {
                let more = limits.budget.take(total - accounted)?;
                accounted = total;
                match &mut share {
                    Some(s) => s.merge(more),
                    None => share = Some(more),
                }
            }
            chunks.push(data);
        }
        Ok(join(chunks, total))
    };
    let bytes = tokio::time::timeout(limits.timeout, collect)
        .await
        .map_err(|_| ReadError::TimedOut(limits.timeout.as_secs()))??;
    Ok(Held {
        bytes,
        _share: share,
    })
}

/// Middleware for routes whose handlers read bodies themselves (MCP): the body is read within
/// `limits` first, and the handler gets it whole.
pub async fn bounded(
    axum::extract::State(limits): axum::extract::State<BodyLimits>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = request.into_parts();
    let held = match read(body, &parts.headers, &limits).await {
        Ok(held) => held,
        Err(e) => {
            let status = e.status();
            let body = serde_json::json!({"status": "error", "error": e.to_string()});
            let mut response = (status, axum::Json(body)).into_response();
            if e == ReadError::Busy {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, 1u64.into());
            }
            return response;
        }
    };
    let bytes = held.bytes.clone();
    let response = next
        .run(axum::extract::Request::from_parts(parts, Body::from(bytes)))
        .await;
    drop(held);
    response
}

/// One chunk is returned as it is (no copy); several are joined.
fn join(mut chunks: Vec<Bytes>, total: usize) -> Bytes {
    if chunks.len() == 1 {
        return chunks.pop().expect("one chunk");
    }
    let mut all = Vec::with_capacity(total);
    chunks.iter().for_each(|c| all.extend_from_slice(c));
    Bytes::from(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, budget: usize) -> BodyLimits {
        BodyLimits {
            max,
            timeout: Duration::from_secs(5),
            budget: Budget::new(budget),
        }
    }

    fn length(n: usize) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, n.to_string().parse().unwrap());
        h
    }

    #[tokio::test]
    async fn bodies_share_the_budget_until_dropped() {
        let l = limits(100, 150);
        let a = read(Body::from(vec![1u8; 100]), &length(100), &l)
            .await
            .unwrap();
        assert_eq!(a.bytes.len(), 100);
        assert_eq!(l.budget.available(), 50);
        let refused = read(Body::from(vec![1u8; 60]), &length(60), &l).await;
        assert_eq!(refused.unwrap_err(), ReadError::Busy);
        let chunked = read(Body::from(vec![1u8; 60]), &HeaderMap::new(), &l).await;
        assert_eq!(
            chunked.unwrap_err(),
            ReadError::Busy,
            "without a length too"
        );
        drop(a);
        assert_eq!(l.budget.available(), 150);
        let b = read(Body::from(vec![1u8; 60]), &HeaderMap::new(), &l)
            .await
            .unwrap();
        assert_eq!((b.bytes.len(), l.budget.available()), (60, 90));
    }

    #[tokio::test]
    async fn too_large_is_refused_declared_or_not() {
        let l = limits(10, 1000);
        let declared = read(Body::from(vec![1u8; 11]), &length(11), &l).await;
        assert_eq!(declared.unwrap_err(), ReadError::TooLarge(10));
        let chunked = read(Body::from(vec![1u8; 11]), &HeaderMap::new(), &l).await;
        assert_eq!(chunked.unwrap_err(), ReadError::TooLarge(10));
        assert_eq!(l.budget.available(), 1000, "nothing kept");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_times_out() {
        let (tx, body) = {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
            let stream = tokio_stream(rx);
            (tx, Body::from_stream(stream))
        };
        tx.send(Ok(Bytes::from_static(b"{"))).await.unwrap();
        let err = read(body, &HeaderMap::new(), &limits(100, 100))
            .await
            .unwrap_err();
        assert_eq!(err, ReadError::TimedOut(5));
        drop(tx);
    }

    fn tokio_stream(
        mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
