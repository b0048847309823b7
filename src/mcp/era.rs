//! Which protocol era a request speaks: 2026-07-28 and later (stateless, every result says its
//! `resultType`) or an earlier one (sessions opened by `initialize`).

use rmcp::RoleServer;
use rmcp::model::ProtocolVersion;
use rmcp::service::RequestContext;

/// The request speaks 2026-07-28 or later (ISO dates compare as strings).
pub fn is_modern(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}
