//! The Events capability where every client looks: at the top level (`capabilities.events`, where
//! the design sketch and ChatGPT read it), under `extensions["io.modelcontextprotocol/events"]`
//! (the SEP draft) and under `experimental.events` (older clients), in `initialize` and
//! `server/discover` results alike.
//!
//! rmcp's `ServerCapabilities` has typed slots for the last two but none for an unknown top-level
//! key. So the two results that carry capabilities leave rmcp's typed form here: built as rmcp
//! builds them, serialized once, given `capabilities.events` ([`top_level`]), and sent as a
//! `CustomResult` (which rmcp writes out as it is). Two places do it, because rmcp produces them
//! in two: `initialize` (stdio and HTTP sessions, and `server/discover` inside a session) leaves
//! through the session's transport ([`Advertised`] wraps it); a sessionless (2026-07-28)
//! `server/discover` over HTTP is answered inside rmcp's HTTP service, so [`discover`] answers
//! that one in front of it, from the same typed result rmcp would have built.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::GetMeta;
use rmcp::model::{
    ClientJsonRpcMessage, ClientRequest, CustomResult, DiscoverResult, JsonObject, ProtocolVersion,
    ServerJsonRpcMessage, ServerResult,
};
use rmcp::service::RxJsonRpcMessage;
use rmcp::transport::Transport;
use rmcp::{RoleServer, ServerHandler};
use serde_json::Value;

/// The extension's identifier in `capabilities.extensions`.
pub const EXTENSION: &str = "io.modelcontextprotocol/events";

/// The capability's settings, the same in all three places. hookd sends no
/// `notifications/events/list_changed`, so `listChanged` is false.
pub fn settings() -> JsonObject {
    let mut c = JsonObject::new();
    c.insert("listChanged".into(), Value::Bool(false));
    c
}

/// `result` with `capabilities.events` added, if it is an `initialize` or `server/discover`
/// result; any other result unchanged.
pub fn top_level(result: ServerResult) -> ServerResult {
    let serialized = match &result {
        ServerResult::InitializeResult(r) => serde_json::to_value(r),
        ServerResult::DiscoverResult(r) => serde_json::to_value(r),
        _ => return result,
    };
    let Ok(mut value) = serialized else {
        return result;
    };
    match value.get_mut("capabilities").and_then(Value::as_object_mut) {
        Some(capabilities) => {
            capabilities.insert("events".into(), Value::Object(settings()));
            ServerResult::CustomResult(CustomResult(value))
        }
        None => result,
    }
}

/// A transport whose `initialize` (and in-session `server/discover`) answers carry the top-level
/// capability.
pub struct Advertised<T>(pub T);

impl<T: Transport<RoleServer>> Transport<RoleServer> for Advertised<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let item = match item {
            ServerJsonRpcMessage::Response(mut r) => {
                r.result = top_level(r.result);
                ServerJsonRpcMessage::Response(r)
            }
            other => other,
        };
        self.0.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        self.0.receive()
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.0.close()
    }
}

/// What [`discover`] needs: the server (its info and versions) and the host names rmcp accepts.
pub struct Discover {
    pub hookd: crate::mcp::Hookd,
    pub hosts: Vec<String>,
}

/// Answers a sessionless `server/discover` (a POST naming it in `Mcp-Method`, without a session,
/// from a host rmcp accepts and not from a browser) with rmcp's own `DiscoverResult` plus the
/// top-level capability; everything else, including a discover rmcp would refuse, goes on to
/// rmcp unchanged.
pub async fn discover(State(d): State<Arc<Discover>>, request: Request, next: Next) -> Response {
    let h = request.headers();
    let candidate = request.method() == Method::POST
        && h.get("mcp-method").is_some_and(|m| m == "server/discover")
        && !h.contains_key("mcp-session-id")
        && !h.contains_key(header::ORIGIN)
        && crate::mcp::auth::known_host(&d.hosts, h);
    if !candidate {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // Already bounded by the MCP body limit in front of this layer.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return next
            .run(Request::from_parts(parts, axum::body::Body::empty()))
            .await;
    };
    let versions = d.hookd.supported_protocol_versions();
    let id = match serde_json::from_slice::<ClientJsonRpcMessage>(&bytes) {
        Ok(ClientJsonRpcMessage::Request(r))
            if matches!(r.request, ClientRequest::DiscoverRequest(_))
                && r.request
                    .get_meta()
                    .protocol_version()
                    .is_some_and(|v| versions.contains(&v))
                // A discover missing what the era requires in `_meta` is refused by rmcp.
                && r.request
                    .get_meta()
                    .missing_required_keys(&ProtocolVersion::V_2026_07_28)
                    .is_empty() =>
        {
            r.id
        }
        _ => return next.run(Request::from_parts(parts, bytes.into())).await,
    };
    let result = DiscoverResult::from_server_info(versions.into_owned(), d.hookd.get_info());
    let answer =
        ServerJsonRpcMessage::response(top_level(ServerResult::DiscoverResult(result)), id);
    axum::Json(answer).into_response()
}
