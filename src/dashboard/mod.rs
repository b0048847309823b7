//! The dashboard: a page on the MCP listener at `/` where a person watches events arrive, filters
//! them, reads one (payload, headers), sees refused deliveries, sources and consumers, and replays
//! an event to a URL. The page and its script are embedded in the binary (plain HTML, JS and CSS:
//! no build step); its data comes from `/api/*`, behind the MCP token when one is set (the page
//! asks for it once and keeps it for the browser session).
//!
//! The API answers only to the host names the MCP endpoint answers to (DNS rebinding), and its one
//! write, replay, only to a JSON request from the page's own origin (a form on another site cannot
//! send one).

pub mod api;
mod grants;
pub mod signin;
mod stream;
mod triggers;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::sources::Sources;
use crate::store::Store;

/// What the API reads.
pub struct Dashboard {
    pub store: Arc<dyn Store>,
    pub sources: Arc<Sources>,
    /// Ends open live streams when hookd shuts down.
    pub shutdown: CancellationToken,
    /// Keep-alive comments on idle live streams.
    pub heartbeat: std::time::Duration,
    /// The most stored text one list answer reads.
    pub max_answer: usize,
    /// The places to wait for events (shared with MCP): each live list holds one.
    pub waiters: Arc<crate::waiters::Waiters>,
    /// Who the API's clients are (the MCP token's holder, or `None` without a token).
    pub credential: Option<String>,
    /// The triggers `hookd.toml` declares: name, and what it does in words.
    pub triggers: Vec<(String, String)>,
    /// Where providers send webhooks ([`crate::config::Config::webhook_base`]).
    pub webhook_base: (String, bool),
}

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");
/// How events read, shared with the inbox MCP App (`crate::mcp::inbox`).
const RENDER_SCRIPT: &str = include_str!("assets/render.js");
const RENDER_STYLE: &str = include_str!("assets/render.css");

/// `/`, its assets, and `/api/*` (guarded by `guard`, the MCP token check, except where to sign
/// in).
pub fn routes(
    dashboard: Dashboard,
    signin: signin::SignIn,
    config: &Config,
    guard: impl Fn(Router) -> Router,
) -> Router {
    let api = Router::new()
        .route("/api/events", get(api::events))
        .route("/api/events/{id}", get(api::event))
        .route("/api/events/{id}/replay", post(api::replay))
        .route("/api/stream", get(stream::live))
        .route("/api/sources", get(api::sources))
        .route("/api/sources/hourly", get(api::hourly))
        .route("/api/rejections", get(api::rejections))
        .route("/api/consumers", get(api::consumers))
        .route("/api/actions", get(api::actions))
        .route("/api/deployments", get(api::deployments))
        .route("/api/grants", get(grants::list))
        .route("/api/grants/{id}/revoke", post(grants::revoke))
        .route("/api/triggers", get(triggers::list))
        .route("/api/triggers/runs", get(triggers::runs))
        .route("/api/triggers/runs/{id}/retry", post(triggers::retry))
        .with_state(Arc::new(dashboard));
    let signin = Arc::new(signin);
    let place = Router::new()
        .route("/api/signin", get(signin::describe))
        .with_state(signin.clone());
    let api = crate::mcp::auth::known_hosts_only(guard(api).merge(place), config);
    Router::new()
        .route("/", get(index).with_state(signin))
        .route("/render.js", static_asset(JS, RENDER_SCRIPT))
        .route("/render.css", static_asset(CSS, RENDER_STYLE))
        .route("/app.js", static_asset(JS, SCRIPT))
        .route("/app.css", static_asset(CSS, STYLE))
        .merge(api)
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// A script or style of the page.
fn static_asset(content_type: &'static str, body: &'static str) -> axum::routing::MethodRouter {
    get(move || async move { asset(content_type, body, content_security_policy("")) })
}

/// What the page may load and do: only its own script, style and API (and the identity
/// provider's token endpoint, `{connect}`), nothing inline, no frame around it, no form posting
/// elsewhere.
fn content_security_policy(connect: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'{connect}; \
         img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// The page, allowed to reach where the dashboard signs in.
async fn index(
    axum::extract::State(signin): axum::extract::State<Arc<signin::SignIn>>,
) -> Response {
    let connect = signin
        .token_origin()
        .await
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    asset(
        "text/html; charset=utf-8",
        INDEX,
        content_security_policy(&connect),
    )
}

fn asset(content_type: &'static str, body: &'static str, policy: String) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::X_FRAME_OPTIONS, "DENY".to_owned()),
        (header::CONTENT_SECURITY_POLICY, policy),
    ];
    (headers, body).into_response()
}
