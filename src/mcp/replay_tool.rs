//! `replay_event`: sends a stored event again to a URL, re-signed for its provider, as the
//! dashboard's Replay does. It changes things outside hookd, so a token without `hookd:write`
//! neither sees nor calls it (the inbox app replays through it, so the same rule holds there).

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::Hookd;
use crate::resend::Replayed;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReplayArgs {
    /// The stored event's id.
    pub event_id: i64,
    /// Where to POST it: an http(s) URL, e.g. your app's local webhook route
    /// `http://localhost:3000/api/webhooks`.
    pub url: String,
}

#[tool_router(router = replay_router, vis = "pub(super)")]
impl Hookd {
    #[tool(
        description = "Send a stored event again to a URL (e.g. your app's local webhook route), with its original body and headers, freshly signed with the source's secret so the receiver's verification passes. Returns the receiver's status and the start of its answer.",
        annotations(read_only_hint = false, open_world_hint = true)
    )]
    async fn replay_event(
        &self,
        Parameters(a): Parameters<ReplayArgs>,
    ) -> Result<Json<Replayed>, String> {
        crate::resend::replay(self.store.as_ref(), &self.sources, a.event_id, &a.url)
            .await
            .map(Json)
            .map_err(|e| e.to_string())
    }
}
