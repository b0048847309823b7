//! What a credential may do. `hookd:read` reads: the read-only tools, resources, the Events
//! methods (`events/poll`, `stream`, `subscribe`) and tasks. `hookd:write` also changes things:
//! every tool not annotated read-only (`publish_event`, `ack_events`, the Stripe actions, …) and
//! the dashboard's replay. The static `--mcp-token` holds both; a token from an identity provider
//! holds what its `scope` says.
//!
//! The HTTP guard (`auth`) puts the request's [`Grant`] in its extensions; tools/list shows a
//! grant only the tools it may call, and a call of any other is refused before it runs.

use std::collections::HashSet;
use std::future::Future;

use rmcp::RoleServer;
use rmcp::service::RequestContext;
use serde::Deserialize;

pub const READ: &str = "hookd:read";
pub const WRITE: &str = "hookd:write";
/// Every scope hookd knows, for its protected-resource metadata.
pub const SUPPORTED: [&str; 2] = [READ, WRITE];

/// Who presented the credential of a request, and whether it may change anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Whom per-credential limits and webhook subscriptions belong to.
    pub principal: String,
    pub write: bool,
}

impl Grant {
    /// Everything: the static token's holder.
    pub fn full(principal: &str) -> Self {
        Self {
            principal: principal.to_owned(),
            write: true,
        }
    }

    /// From a token's scopes; `None` when it holds no hookd scope (`hookd:write` includes
    /// reading).
    pub fn from_scopes(principal: String, scopes: &[String]) -> Option<Self> {
        let write = scopes.iter().any(|s| s == WRITE);
        let read = write || scopes.iter().any(|s| s == READ);
        read.then_some(Self { principal, write })
    }
}

/// The grant of the MCP request being served: `None` over stdio, and over HTTP when no
/// credential is required.
pub fn of(context: &RequestContext<RoleServer>) -> Option<&Grant> {
    context
        .extensions
        .get::<axum::http::request::Parts>()?
        .extensions
        .get::<Grant>()
}

/// Whether the request being served may call `tool`.
pub fn may_call(
    context: &RequestContext<RoleServer>,
    writes: &HashSet<String>,
    tool: &str,
) -> bool {
    of(context).is_none_or(|g| g.write || !writes.contains(tool))
}

tokio::task_local! {
    /// The principal of the request being served, for what is held per credential.
    static CALLER: Option<String>;
}

/// Runs `work` as the request of `context`'s credential ([`caller`] answers it meanwhile).
pub async fn as_caller<F: Future>(context: &RequestContext<RoleServer>, work: F) -> F::Output {
    as_caller_named(of(context).map(|g| g.principal.clone()), work).await
}

/// Runs `work` as `principal`'s (for work that takes the request's context itself).
pub async fn as_caller_named<F: Future>(principal: Option<String>, work: F) -> F::Output {
    CALLER.scope(principal, work).await
}

/// The principal of the request being served, when its grant names one.
pub fn caller() -> Option<String> {
    CALLER.try_with(Clone::clone).ok().flatten()
}

/// The write tool a JSON-RPC body (one message or a batch) calls, if any. A body that does not
/// parse here is left to the MCP library to refuse; the handler checks the grant again.
pub fn write_tool_called(body: &[u8], writes: &HashSet<String>) -> Option<String> {
    #[derive(Deserialize)]
    struct Message {
        method: Option<String>,
        params: Option<Params>,
    }
    #[derive(Deserialize)]
    struct Params {
        name: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Body {
        One(Message),
        Batch(Vec<Message>),
    }
    let messages = match serde_json::from_slice::<Body>(body).ok()? {
        Body::One(m) => vec![m],
        Body::Batch(ms) => ms,
    };
    messages.into_iter().find_map(|m| {
        let name = m.params?.name?;
        (m.method.as_deref() == Some("tools/call") && writes.contains(&name)).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_includes_read_and_no_hookd_scope_is_nothing() {
        let g = |s: &[&str]| {
            let scopes: Vec<String> = s.iter().map(|s| s.to_string()).collect();
            Grant::from_scopes("p".into(), &scopes).map(|g| g.write)
        };
        assert_eq!(g(&["hookd:read"]), Some(false));
        assert_eq!(g(&["hookd:write"]), Some(true));
        assert_eq!(g(&["openid", "hookd:read", "hookd:write"]), Some(true));
        assert_eq!(g(&["openid", "hookd:reader"]), None);
        assert_eq!(g(&[]), None);
    }

    #[test]
    fn a_write_tool_is_found_in_a_message_or_a_batch() {
        let writes: HashSet<String> = ["ack_events".to_owned()].into();
        let call = |name: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}"}}}}"#
            )
        };
        let found = |b: &str| write_tool_called(b.as_bytes(), &writes);
        assert_eq!(found(&call("ack_events")), Some("ack_events".into()));
        assert_eq!(found(&call("get_recent_events")), None);
        assert_eq!(
            found(&format!(
                "[{},{}]",
                call("get_recent_events"),
                call("ack_events")
            )),
            Some("ack_events".into())
        );
        assert_eq!(
            found(r#"{"method":"tools/list","params":{"name":"ack_events"}}"#),
            None
        );
        assert_eq!(found("not json"), None);
    }
}
