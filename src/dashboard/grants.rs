//! The Access tab's API: the clients let in through hookd's own authorization server, and
//! revoking one (`hookd grants` from a terminal does the same).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Dashboard;
use super::api::{failed, same_origin};

/// `GET /api/grants`: every standing grant, newest first.
pub async fn list(State(d): State<Arc<Dashboard>>) -> Response {
    match d.store.grants().await {
        Ok(grants) => Json(
            grants
                .iter()
                .map(|(g, client)| {
                    json!({
                        "id": g.family,
                        "client_id": g.client_id,
                        "client_name": client.as_ref().map(|c| c.name.as_str()),
                        "scope": g.scope,
                        "granted_at": crate::time::format_time(g.created_at),
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => failed(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("storage error: {e}"),
        ),
    }
}

/// `POST /api/grants/{id}/revoke`: every token of the grant stops working.
pub async fn revoke(
    State(d): State<Arc<Dashboard>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(why) = same_origin(&headers) {
        return failed(StatusCode::FORBIDDEN, why);
    }
    match d.store.revoke_grant(id.clone()).await {
        Ok(true) => Json(json!({"revoked": id})).into_response(),
        Ok(false) => failed(StatusCode::NOT_FOUND, "no such standing grant"),
        Err(e) => failed(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("storage error: {e}"),
        ),
    }
}
