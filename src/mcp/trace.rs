//! Each MCP request hookd answers itself (a tool call, an Events method, a task) runs in a span
//! that carries the caller's W3C `traceparent` from `_meta` (SEP-414), so whatever hookd logs
//! while answering can be joined to the client's trace; a debug line closes each request.

use std::future::Future;
use std::time::Instant;

use rmcp::RoleServer;
use rmcp::service::RequestContext;
use tracing::Instrument;

/// A `traceparent` as W3C Trace Context writes it (`00-<32 hex>-<16 hex>-<2 hex>`); anything else
/// a client sends is left out of the logs.
fn traceparent(context: &RequestContext<RoleServer>) -> Option<&str> {
    let value = context.meta.get_traceparent()?;
    let parts: Vec<&str> = value.split('-').collect();
    let lengths = parts.iter().map(|p| p.len()).collect::<Vec<_>>();
    let hex = parts.iter().all(|p| {
        p.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    (lengths == [2, 32, 16, 2] && hex).then_some(value)
}

/// How much of a request's name is logged.
const NAME_LOGGED: usize = 128;

/// Runs `answer` inside the request's span and logs its end at debug level.
pub async fn traced<T, E>(
    context: &RequestContext<RoleServer>,
    method: &str,
    name: &str,
    answer: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    // A client chose both (an unknown method, a tool's name, a task id): logged escaped, and
    // only their start.
    let method: String = method.chars().take(NAME_LOGGED).collect();
    let name: String = name.chars().take(NAME_LOGGED).collect();
    let span = tracing::debug_span!(
        "mcp",
        method = method.as_str(),
        name = name.as_str(),
        traceparent = traceparent(context).unwrap_or("")
    );
    let started = Instant::now();
    let result = answer.instrument(span.clone()).await;
    let ms = started.elapsed().as_millis() as u64;
    span.in_scope(|| tracing::debug!(ok = result.is_ok(), ms, "mcp request answered"));
    result
}
