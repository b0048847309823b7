//! The Events capability where every client looks: at the top level (`capabilities.events`, where
//! the design sketch and ChatGPT read it), under `extensions["io.modelcontextprotocol/events"]`
//! (the SEP draft) and under `experimental.events` (older clients), in `initialize` and
//! `server/discover` results alike.
//!
//! rmcp's `ServerCapabilities` has typed slots for the last two but none for an unknown top-level
//! key. So the two results that carry capabilities leave rmcp's typed form on their way out of a
//! session's transport ([`Advertised`]): serialized once, given `capabilities.events`, and sent on
//! as a `CustomResult` (which rmcp writes out as it is). That covers `initialize` on stdio and on
//! HTTP sessions, and `server/discover` inside them. Not covered: a sessionless (2026-07-28)
//! `server/discover` over HTTP, which rmcp answers inside its HTTP service from the typed result
//! of `ServerHandler::discover`, with no transport of hookd's in between; such clients find the
//! capability under `extensions` and `experimental`.

use std::future::Future;

use rmcp::RoleServer;
use rmcp::model::{CustomResult, JsonObject, ServerJsonRpcMessage, ServerResult};
use rmcp::service::RxJsonRpcMessage;
use rmcp::transport::Transport;
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
