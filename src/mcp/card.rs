//! Discovery before connecting (the Server Card extension, SEP-2127): a Server Card at
//! `<mcp-url>/server-card` and an AI Catalog naming it at `/.well-known/ai-catalog.json`. Both are
//! public, like the OAuth metadata: they say nothing `server/discover` would not (name, version,
//! description, protocol versions, where to connect and whether a bearer token is needed), and are
//! built from the same `get_info` and protocol versions that `server/discover` answers from.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use rmcp::ServerHandler;
use serde_json::{Value, json};

use super::Hookd;

const CARD_SCHEMA: &str =
    "https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json";
const CARD_TYPE: &str = "application/mcp-server-card+json";
const CATALOG_TYPE: &str = "application/ai-catalog+json";
/// The card's reverse-DNS name: hookd's own namespace and the server's `serverInfo.name`.
const NAMESPACE: &str = "dev.hookd";

/// The Server Card of the MCP endpoint at `url`.
pub fn card(hookd: &Hookd, url: &str, needs_token: bool) -> Value {
    let info = hookd.get_info().server_info;
    let versions: Vec<String> = hookd
        .supported_protocol_versions()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let mut remote = json!({
        "type": "streamable-http",
        "url": url,
        "supportedProtocolVersions": versions,
    });
    if needs_token {
        remote["headers"] = json!([{
            "name": "Authorization",
            "description": "The bearer token hookd was started with (HOOKD_MCP_TOKEN).",
            "isRequired": true,
            "isSecret": true,
            "value": "Bearer {token}",
            "variables": {"token": {"isRequired": true, "isSecret": true}},
        }]);
    }
    let mut card = json!({
        "$schema": CARD_SCHEMA,
        "name": format!("{NAMESPACE}/{}", info.name),
        "version": info.version,
        "description": info.description.unwrap_or_default(),
        "remotes": [remote],
    });
    if let Some(title) = info.title {
        card["title"] = json!(title);
    }
    card
}

/// The AI Catalog listing the card at `card_url` (on the host of `mcp_url`).
pub fn catalog(mcp_url: &reqwest::Url, card_url: &str) -> Value {
    let host = mcp_url.host_str().unwrap_or("localhost");
    json!({
        "specVersion": "1.0",
        "entries": [{
            "identifier": format!("urn:air:{host}:mcp:hookd"),
            "type": CARD_TYPE,
            "url": card_url,
        }],
    })
}

/// Where the documents say the MCP endpoint is.
#[derive(Clone)]
pub struct Endpoint {
    /// `--mcp-public-url`, when set: the URL clients use.
    pub public: Option<reqwest::Url>,
    /// Otherwise the URL is the request's own `Host` (one the listener accepts) and `/mcp`.
    pub hosts: Vec<String>,
    pub needs_token: bool,
}

impl Endpoint {
    fn url(&self, headers: &axum::http::HeaderMap) -> Option<reqwest::Url> {
        if let Some(url) = &self.public {
            return Some(url.clone());
        }
        if !super::auth::known_host(&self.hosts, headers) {
            return None;
        }
        let host = headers.get(header::HOST)?.to_str().ok()?;
        reqwest::Url::parse(&format!("http://{host}/mcp")).ok()
    }

    /// The path the card is served at.
    fn card_path(&self) -> String {
        let path = self.public.as_ref().map_or("/mcp", |u| u.path());
        format!("{}/server-card", path.trim_end_matches('/'))
    }
}

/// The two documents' routes (outside the bearer-token guard): `<path of the MCP URL>/server-card`
/// and `/.well-known/ai-catalog.json`.
pub fn routes(hookd: Hookd, endpoint: Endpoint) -> Router {
    let path = endpoint.card_path();
    let (for_card, for_catalog) = (endpoint.clone(), endpoint);
    let serve_card = move |headers: axum::http::HeaderMap| {
        let (hookd, endpoint) = (hookd.clone(), for_card.clone());
        async move {
            let Some(url) = endpoint.url(&headers) else {
                return axum::http::StatusCode::MISDIRECTED_REQUEST.into_response();
            };
            let card = card(&hookd, url.as_str(), endpoint.needs_token);
            ([(header::CONTENT_TYPE, CARD_TYPE)], card.to_string()).into_response()
        }
    };
    let serve_catalog = move |headers: axum::http::HeaderMap| {
        let endpoint = for_catalog.clone();
        async move {
            let Some(url) = endpoint.url(&headers) else {
                return axum::http::StatusCode::MISDIRECTED_REQUEST.into_response();
            };
            let card_url = format!("{}/server-card", url.as_str().trim_end_matches('/'));
            let catalog = catalog(&url, &card_url);
            ([(header::CONTENT_TYPE, CATALOG_TYPE)], catalog.to_string()).into_response()
        }
    };
    Router::new()
        .route(&path, axum::routing::get(serve_card))
        .route(
            "/.well-known/ai-catalog.json",
            axum::routing::get(serve_catalog),
        )
}
