//! The MCP server: hookd's events as tools, over Streamable HTTP (`/mcp`) and stdio.
//!
//! rmcp answers both protocol eras: 2026-07-28 clients (`server/discover`, stateless requests)
//! and older clients (`initialize`, sessions). Every tool reads the store; waiting tools sleep on
//! the bus, so a slow or idle client costs nothing.

pub mod auth;
mod card;
mod claims;
mod consumer_tools;
mod deploy_tools;
mod era;
mod events;
mod github_tools;
pub mod idp;
mod inbox;
mod introspect;
mod notify;
mod redis_tools;
mod replay_tool;
mod resources;
mod schema;
pub mod scope;
mod sessions;
mod snippet;
mod stripe_tools;
mod tasks;
mod tools;
mod trace;
mod trigger_tools;
pub use trigger_tools::LISTED_OUTPUT;

use std::sync::Arc;

use axum::Router;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    Implementation, ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig,
    SubscribeRequestParams, SubscriptionFilter, UnsubscribeRequestParams,
};
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, tool_handler};
use tokio_util::sync::CancellationToken;

use crate::config::Toolset;
use crate::sources::Sources;
use crate::store::Store;

const INSTRUCTIONS: &str = "hookd stores webhooks (GitHub, Stripe, Slack, Vercel and any other \
sender) as events. Use get_event_sources to see what is arriving, get_recent_events or \
get_events_since to read, get_event_by_id for one event's full payload, wait_for_event with \
after_id set to the last id you saw to be told about the next one, and replay_event to send one \
again to a URL (your app's webhook route, re-signed).";

/// Every method hookd answers in the 2026-07-28 era, rmcp's and its own: each answer carries
/// `resultType` (the era test walks this list).
pub fn modern_methods() -> Vec<&'static str> {
    let standard = [
        "server/discover",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "subscriptions/listen",
    ];
    standard
        .into_iter()
        .chain(events::METHODS.iter().copied())
        .collect()
}

/// One MCP server instance: every session (and every stateless request) gets its own, made by
/// `for_session`, so per-session state such as resource subscriptions is never shared.
#[derive(Clone)]
pub struct Hookd {
    store: Arc<dyn Store>,
    sources: Arc<Sources>,
    shutdown: CancellationToken,
    tool_router: Arc<ToolRouter<Self>>,
    /// The routed tools not annotated read-only (what `hookd:write` is needed for).
    write_tools: Arc<std::collections::HashSet<String>>,
    subscriptions: Arc<notify::Subscriptions>,
    webhooks: Arc<events::webhooks::Webhooks>,
    /// Open `events/stream` requests (shared by all sessions).
    streams: tokio_util::task::TaskTracker,
    /// Who the client is, for `events/subscribe`: the bearer-token holder over HTTP, the local
    /// user over stdio; `None` over HTTP without a token (webhook delivery is then refused).
    principal: Option<String>,
    heartbeat: std::time::Duration,
    /// About how many bytes of events one list answer carries (`--max-answer-bytes`).
    max_answer: usize,
    claude_channel: bool,
    /// The bridged Redis, for `publish_event`; `None` without `HOOKD_REDIS_URL`.
    redis: Option<redis::Client>,
    redis_channels: Vec<String>,
    /// Follows the working tasks this instance knows of (shared by all sessions).
    tasks: Arc<tasks::Runner>,
    max_open_tasks: u32,
    events_error_codes: crate::config::EventsErrorCodes,
    /// The places to wait for events (shared with the dashboard).
    waiters: Arc<crate::waiters::Waiters>,
}

impl Hookd {
    pub fn new(
        store: Arc<dyn Store>,
        sources: Arc<Sources>,
        settings: &crate::config::Config,
        principal: Option<String>,
        waiters: Arc<crate::waiters::Waiters>,
        shutdown: CancellationToken,
    ) -> Self {
        let mut tool_router = ToolRouter::new();
        let toolsets = sources.toolsets(&settings.toolsets);
        let names: Vec<String> = toolsets
            .iter()
            .map(|t| format!("{t:?}").to_lowercase())
            .collect();
        if settings.toolsets.contains(&Toolset::Auto) && toolsets.len() < 4 {
            tracing::info!(toolsets = %names.join(","), "MCP tools offered; a provider's tools \
                are added once a source of it is configured (a secret or a hookd.toml section), \
                or name them with --toolsets");
        } else {
            tracing::info!(toolsets = %names.join(","), "MCP tools offered");
        }
        for set in &toolsets {
            tool_router += match set {
                Toolset::Events => {
                    Self::tool_router() + Self::consumer_router() + Self::replay_router()
                }
                Toolset::Github => Self::github_router(),
                Toolset::Stripe => Self::stripe_router(),
                Toolset::Deployments => Self::deploy_router(),
                // Resolved by `Sources::toolsets`.
                Toolset::Auto => ToolRouter::new(),
            };
        }
        let store_for_tasks = store.clone();
        let redis = settings
            .redis_url
            .as_ref()
            .and_then(|url| redis::Client::open(url.expose()).ok());
        if redis.is_some() && toolsets.contains(&Toolset::Events) {
            tool_router += Self::redis_router();
        }
        // What triggers did, where hookd.toml declares some (checked at start).
        if sources.declares_triggers && toolsets.contains(&Toolset::Events) {
            tool_router += Self::trigger_router();
        }
        inbox::link(&mut tool_router);
        for route in tool_router.map.values_mut() {
            let tool = &mut route.attr;
            schema::portable(Arc::make_mut(&mut tool.input_schema));
            if let Some(output) = tool.output_schema.as_mut() {
                let output = Arc::make_mut(output);
                schema::portable(output);
                schema::terse(output);
            }
        }
        Self {
            store,
            sources,
            // Shared by every session and request: a request's copy of `Hookd` must not copy
            // every tool's definition.
            write_tools: Arc::new(write_tools(&tool_router)),
            tool_router: Arc::new(tool_router),
            subscriptions: Default::default(),
            webhooks: Arc::new(events::webhooks::Webhooks::new(
                settings.allow_private_callbacks,
                settings.callback_retries.0.clone(),
                settings.events_error_codes,
                shutdown.clone(),
            )),
            streams: Default::default(),
            principal,
            heartbeat: settings.heartbeat(),
            max_answer: settings.limits.max_answer_bytes,
            claude_channel: settings.claude_channel,
            redis,
            redis_channels: settings.redis_channels.clone(),
            tasks: tasks::Runner::new(store_for_tasks, shutdown.clone()),
            max_open_tasks: settings.limits.max_open_tasks,
            events_error_codes: settings.events_error_codes,
            waiters,
            shutdown,
        }
    }

    /// A place to wait for events, for this client's credential.
    pub(in crate::mcp) fn wait_place(&self) -> Result<crate::waiters::Place, crate::waiters::Full> {
        self.waiters.enter(self.caller().as_deref())
    }

    /// Who the request being served comes from: its token's holder (a token of the identity
    /// provider names its own), the local user over stdio, or `None` over HTTP without a token.
    pub(in crate::mcp) fn caller(&self) -> Option<String> {
        scope::caller().or_else(|| self.principal.clone())
    }

    /// The tools a grant without `hookd:write` may not call: those not annotated read-only.
    fn write_tools(&self) -> Arc<std::collections::HashSet<String>> {
        self.write_tools.clone()
    }

    /// Delivers the store's no-expiry webhook subscriptions (taken over from before a restart,
    /// or from an instance that stopped) until hookd stops, then gives up their leases.
    fn deliver_kept_subscriptions(&self) -> impl Future<Output = ()> + Send + 'static {
        self.webhooks.clone().deliver_kept(self.clone())
    }

    /// Resumes the store's working tasks and follows them (and every task made here) until
    /// hookd stops.
    fn run_tasks(&self) -> impl Future<Output = ()> + Send + 'static {
        self.tasks.clone().run_all()
    }

    /// A copy for a new session: shared store and settings, its own subscriptions.
    fn for_session(&self) -> Self {
        Self {
            subscriptions: Default::default(),
            ..self.clone()
        }
    }
}

/// The tools of `router` not annotated read-only.
fn write_tools(router: &ToolRouter<Hookd>) -> std::collections::HashSet<String> {
    router
        .list_all()
        .into_iter()
        .filter(|t| {
            t.annotations
                .as_ref()
                .and_then(|a| a.read_only_hint)
                .is_none_or(|read_only| !read_only)
        })
        .map(|t| t.name.to_string())
        .collect()
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Hookd {
    fn get_info(&self) -> ServerConfig {
        // The Events capability's third place, the top level, is added by `events::advertise`.
        let mut experimental = rmcp::model::ExperimentalCapabilities::new();
        experimental.insert(events::CAPABILITY.into(), events::advertise::settings());
        if self.claude_channel {
            experimental.insert("claude/channel".into(), Default::default());
        }
        let mut extensions = rmcp::model::ExtensionCapabilities::new();
        extensions.insert(
            events::advertise::EXTENSION.into(),
            events::advertise::settings(),
        );
        extensions.insert(
            rmcp::model::TASKS_EXTENSION_ID.into(),
            rmcp::model::JsonObject::new(),
        );
        let capabilities = ServerCapabilities::builder()
            .enable_experimental_with(experimental)
            .enable_extensions_with(extensions)
            .enable_tools()
            .enable_resources()
            .enable_resources_subscribe()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new("hookd", env!("CARGO_PKG_VERSION"))
                    .with_title("hookd")
                    .with_description(env!("CARGO_PKG_DESCRIPTION")),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        resources::list(self.store.as_ref()).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        resources::read(self.store.as_ref(), &request.uri, self.max_answer)
            .await
            .map(Into::into)
    }

    /// Every resource URI may be followed; one hookd does not serve simply never fires.
    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let mut accepted = SubscriptionFilter::new();
        accepted.resource_subscriptions = requested.resource_subscriptions.clone();
        Some(accepted)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let uris = context
            .accepted()
            .resource_subscriptions
            .clone()
            .unwrap_or_default();
        let sink = context.sink().clone();
        let send = move |uri: String| {
            let sink = sink.clone();
            async move { sink.notify_resource_updated(uri).await.is_ok() }
        };
        let stop = self.shutdown.child_token();
        tokio::select! {
            _ = notify::watch(self.store.clone(), move || uris.clone(), send, stop.clone()) => {}
            _ = context.cancelled() => {}
        }
        stop.cancel();
        Ok(())
    }

    /// With `--claude-channel`, a session (stdio, or an HTTP session of a pre-2026 client) gets
    /// every new event pushed as a Claude Code channel notification.
    async fn on_initialized(&self, context: rmcp::service::NotificationContext<RoleServer>) {
        if self.claude_channel {
            let stop = self.shutdown.child_token();
            tokio::spawn(notify::claude_channel(
                self.store.clone(),
                context.peer,
                stop,
            ));
        }
    }

    /// A waiting tool called by a client that declares the Tasks extension becomes a task;
    /// every other call runs as it is.
    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        if !scope::may_call(&context, &self.write_tools(), &name) {
            return Err(ErrorData::invalid_request(
                format!(
                    "{name} changes things: it needs a token with {}",
                    scope::WRITE
                ),
                None,
            ));
        }
        let answer = async {
            if tasks::wanted(&context)
                && let Some(answer) = self.call_as_task(&request).await
            {
                return answer;
            }
            let output = (self.tool_router.get(&name)).and_then(|t| t.output_schema.clone());
            let call =
                rmcp::handler::server::tool::ToolCallContext::new(self, request, context.clone());
            let mut answer = self.tool_router.call(call).await?;
            if let (rmcp::model::CallToolResponse::Complete(result), Some(schema)) =
                (&mut answer, output)
            {
                schema::shaped(result, &schema);
            }
            Ok(answer)
        };
        let answer = trace::traced(&context, "tools/call", &name, answer);
        scope::as_caller(&context, answer).await
    }

    /// The tools this request's credential may call: without `hookd:write`, the read-only ones.
    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, ErrorData> {
        let mut tools = self.tool_router.list_all();
        let read_only = scope::of(&context).is_some_and(|g| !g.write);
        if read_only {
            let writes = self.write_tools();
            tools.retain(|t| !writes.contains(t.name.as_ref()));
        }
        let hints = context
            .protocol_version()
            .is_some_and(|v| v >= rmcp::model::ProtocolVersion::V_2026_07_28);
        let mut result = rmcp::model::ListToolsResult::with_all_items(tools);
        result.result_type = Some(rmcp::model::ResultType::COMPLETE);
        result.ttl_ms = hints.then_some(0);
        // What a token sees depends on its scopes: no cache may hand one token's list to another.
        result.cache_scope = hints.then_some(if scope::of(&context).is_some() {
            rmcp::model::CacheScope::Private
        } else {
            rmcp::model::CacheScope::Public
        });
        Ok(result)
    }

    async fn get_task(
        &self,
        request: rmcp::model::GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetTaskResult, ErrorData> {
        let answer = self.task_status(&request.task_id);
        let answer = trace::traced(&context, "tasks/get", &request.task_id, answer);
        scope::as_caller(&context, answer).await
    }

    async fn cancel_task(
        &self,
        request: rmcp::model::CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let answer = self.cancel_task_by_id(&request.task_id);
        let answer = trace::traced(&context, "tasks/cancel", &request.task_id, answer);
        scope::as_caller(&context, answer).await
    }

    async fn update_task(
        &self,
        request: rmcp::model::UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        scope::as_caller(&context, self.update_task_by_id(&request.task_id)).await
    }

    async fn on_custom_request(
        &self,
        request: rmcp::model::CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CustomResult, ErrorData> {
        let principal = scope::of(&context).map(|g| g.principal.clone());
        scope::as_caller_named(principal, events::handle(self, request, context)).await
    }

    #[allow(deprecated)]
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.subscriptions
            .subscribe(self.store.clone(), request.uri, context.peer);
        Ok(())
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.subscriptions.unsubscribe(&request.uri);
        Ok(())
    }
}

/// A storage failure as an MCP client reads it, the one text for both ways of failing: a tool
/// reports it in an error result (`?` turns it into the tool's `String` error), a protocol method
/// as an internal error (`?` turns it into `ErrorData`).
pub(crate) struct Storage(crate::store::StoreError);

pub(crate) fn storage(e: crate::store::StoreError) -> Storage {
    Storage(e)
}

impl std::fmt::Display for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "storage error: {}", self.0)
    }
}

impl From<Storage> for String {
    fn from(s: Storage) -> Self {
        s.to_string()
    }
}

impl From<Storage> for ErrorData {
    fn from(s: Storage) -> Self {
        ErrorData::internal_error(s.to_string(), None)
    }
}

/// Leaves payloads and headers out unless `include` (default true) says otherwise.
fn brief_unless(include: Option<bool>, events: &mut [crate::event::Event]) {
    if include == Some(false) {
        for e in events {
            // All that describes the payload goes with it (left out of the answer).
            e.payload = serde_json::Value::Null;
            e.headers = Default::default();
            e.content_type = None;
            e.payload_encoding = Default::default();
        }
    }
}

/// The longest name a waiting call may filter by (a source, a type, a project, a deployment id):
/// a task keeps its request in the store, so what a client sends there is bounded.
const MAX_NAME_CHARS: usize = 256;

/// `value` of the argument `name`, refused when longer than [`MAX_NAME_CHARS`].
fn short(name: &str, value: Option<String>) -> Result<Option<String>, String> {
    match value {
        Some(v) if v.chars().count() > MAX_NAME_CHARS => {
            Err(format!("{name} is longer than {MAX_NAME_CHARS} characters"))
        }
        v => Ok(v),
    }
}

/// A `limit` argument: 1 to 1000, `default` when absent.
fn limit(requested: Option<u32>, default: u32) -> Result<usize, String> {
    match requested.unwrap_or(default) {
        n @ 1..=1000 => Ok(n as usize),
        n => Err(format!("limit must be between 1 and 1000, got {n}")),
    }
}

/// An `hours` window argument: any positive number, 24 when absent.
fn hours(requested: Option<u32>) -> Result<u32, String> {
    match requested.unwrap_or(24) {
        0 => Err("hours must be a positive number of hours, got 0".into()),
        h => Ok(h),
    }
}

/// The start of a window of `hours` ending now (windows beyond a century start at the epoch).
fn window_start(hours: u32) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
        .checked_sub_signed(chrono::Duration::hours(i64::from(hours)))
        .filter(|t| t.timestamp() > 0)
        .unwrap_or(chrono::DateTime::UNIX_EPOCH)
}

/// A wait argument in seconds (`name` for the error): 0 to `wait::MAX_WAIT`, `default` when
/// absent; anything else is an error, like every other range.
fn wait_seconds(
    requested: Option<f64>,
    default: f64,
    name: &str,
) -> Result<std::time::Duration, String> {
    wait_seconds_within(requested, default, crate::wait::MAX_WAIT, name)
}

/// A wait argument in seconds: 0 to `max`, `default` when absent.
fn wait_seconds_within(
    requested: Option<f64>,
    default: f64,
    max: std::time::Duration,
    name: &str,
) -> Result<std::time::Duration, String> {
    let secs = requested.unwrap_or(default);
    let max = max.as_secs_f64();
    if !secs.is_finite() || !(0.0..=max).contains(&secs) {
        return Err(format!("{name} must be between 0 and {max}, got {secs}"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

impl Hookd {
    /// The newest id committed as far as this instance can tell, checked against `id`: the bus's
    /// newest, or, when `id` is beyond it, the store's newest event. On PostgreSQL a read can
    /// return an event another instance committed before this instance's bus hears of it, and an
    /// id a reader here handed out must be taken back here.
    async fn newest_reaching(&self, id: i64) -> Result<i64, crate::store::StoreError> {
        let newest = self.store.bus().newest();
        if id <= newest {
            return Ok(newest);
        }
        let page = crate::event::Page::Newest(1);
        let stored = self.store.query(Default::default(), page).await?;
        Ok(stored.first().map_or(newest, |e| e.id.max(newest)))
    }

    /// The first event matching `filter`, waiting up to `timeout`; `None` when the time is up,
    /// the client cancels the call, or hookd shuts down.
    async fn wait_for(
        &self,
        filter: crate::event::EventFilter,
        timeout: std::time::Duration,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Option<crate::event::Event>, String> {
        let _place = self.wait_place().map_err(|full| full.to_string())?;
        let stop = ctx.ct.child_token();
        tokio::select! {
            r = crate::wait::next_event(self.store.clone(), filter, timeout, &stop) => r.map_err(|e| storage(e).into()),
            _ = self.shutdown.cancelled() => Ok(None),
        }
    }
}

/// The delivery of kept webhook subscriptions and the task runner, to run beside the listener
/// until shutdown.
pub type Kept = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// The MCP listener's routes (`/mcp`, Streamable HTTP, and the OAuth metadata), and what delivers
/// kept subscriptions meanwhile.
pub fn router(
    store: Arc<dyn Store>,
    sources: Arc<Sources>,
    settings: &crate::config::Config,
    waiters: Arc<crate::waiters::Waiters>,
    credentials: auth::Credentials,
    shutdown: CancellationToken,
) -> (Router, Kept) {
    let hosts = settings.mcp_hosts();
    // Browsers send Origin; only pages served from this machine may call the endpoint. Clients
    // that are not browsers send none and are not affected.
    let origins = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];
    // The transport closes at shutdown once open event streams have said `terminated`.
    let transport_stop = CancellationToken::new();
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(transport_stop.clone())
        .with_allowed_hosts(hosts.clone())
        .with_allowed_origins(origins)
        .with_sse_keep_alive(Some(settings.heartbeat()))
        // A sessionless (2026-07-28) answer is sent as plain JSON rather than a one-event stream,
        // so a client reads it without an event-stream parser (rmcp still streams when anything
        // is sent before the answer).
        .with_json_response(true);
    let principal = auth::principal(settings);
    let server = Hookd::new(
        store,
        sources,
        settings,
        principal,
        waiters,
        shutdown.clone(),
    );
    let (subscriptions, tasks) = (server.deliver_kept_subscriptions(), server.run_tasks());
    let kept = Box::pin(async move {
        futures_util::future::join(subscriptions, tasks).await;
    });
    let streams = server.streams.clone();
    let open = streams.clone();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        events::stream::all_closed(&open).await;
        transport_stop.cancel();
    });
    let sessions = Arc::new(sessions::Sessions::new(
        settings.limits.max_sessions as usize,
    ));
    let discover = Arc::new(events::advertise::Discover {
        hookd: server.clone(),
        hosts: hosts.clone(),
    });
    let cards = card::routes(
        server.clone(),
        card::Endpoint {
            public: settings
                .mcp_public_url
                .as_deref()
                .and_then(|u| reqwest::Url::parse(u).ok()),
            hosts: hosts.clone(),
            needs_token: settings.mcp_token.is_some(),
        },
    );
    let write_tools = server.write_tools();
    let service =
        StreamableHttpService::new(move || Ok(server.for_session()), sessions.clone(), config);
    let mcp = Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(
            discover,
            events::advertise::discover,
        ))
        .layer(axum::middleware::from_fn_with_state(
            streams.clone(),
            events::stream::held_until_sent,
        ))
        .layer(axum::middleware::from_fn_with_state(sessions, gone_is_404));
    let resource = settings.mcp_resource();
    let metadata = match (
        credentials.authorization_server(),
        reqwest::Url::parse(&resource),
    ) {
        (Some(server), Ok(url)) => Some((
            auth::metadata_url(&url),
            auth::resource_metadata(&resource, &server),
        )),
        _ => None,
    };
    if let Some(issuer) = &credentials.issuer {
        tracing::info!(
            issuer = issuer.name(),
            resource = %resource,
            "MCP clients may sign in with the identity provider: its access tokens need this \
             resource in aud and hookd:read or hookd:write in scope"
        );
    }
    if let Some(authority) = &credentials.authority {
        tracing::info!(
            issuer = %authority.issuer,
            resource = %resource,
            "hookd is its own OAuth authorization server: a client that signs in opens its \
             consent page in your browser, where HOOKD_MCP_TOKEN approves it; `hookd grants` lists \
             who is in"
        );
    }
    let authority = credentials.authority.clone();
    let mcp = if credentials.required() {
        mcp.layer(axum::middleware::from_fn_with_state(
            Arc::new(auth::Guard {
                credentials,
                resource_metadata: metadata.as_ref().map(|(url, _)| url.clone()),
                writes: auth::Writes::Tools(write_tools),
            }),
            auth::require_bearer,
        ))
    } else {
        mcp
    };
    let routes = match metadata {
        Some((url, document)) => {
            let path = reqwest::Url::parse(&url)
                .map(|u| u.path().to_owned())
                .unwrap_or_default();
            let serve = move || {
                let document = document.clone();
                async move { axum::Json(document) }
            };
            mcp.route(&path, axum::routing::get(serve.clone())).route(
                "/.well-known/oauth-protected-resource",
                axum::routing::get(serve),
            )
        }
        None => mcp,
    };
    let routes = match authority {
        Some(authority) => routes.merge(authority.routes()),
        None => routes,
    };
    (routes.merge(cards), kept)
}

/// rmcp answers 500 when a session vanishes between its existence check and the call (deleted or
/// evicted while the request was on its way): that is a 404 (the session is gone, start another).
async fn gone_is_404(
    axum::extract::State(sessions): axum::extract::State<Arc<sessions::Sessions>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let session = request
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let delete = request.method() == axum::http::Method::DELETE;
    let response = next.run(request).await;
    // A session ended by DELETE is done, not "accepted for later": clients (the official Python
    // SDK) print a warning on 202.
    if delete && response.status() == axum::http::StatusCode::ACCEPTED {
        return axum::http::StatusCode::NO_CONTENT.into_response();
    }
    match session {
        Some(id)
            if response.status() == axum::http::StatusCode::INTERNAL_SERVER_ERROR
                && sessions.is_gone(&id).await =>
        {
            (
                axum::http::StatusCode::NOT_FOUND,
                "Not Found: Session not found",
            )
                .into_response()
        }
        _ => response,
    }
}

/// Serves MCP on stdin/stdout until the client closes stdin or `shutdown` is cancelled.
/// `ingests`: this process receives the webhooks (else another hookd on the same store does,
/// and delivers the kept subscriptions too).
pub async fn serve_stdio(
    store: Arc<dyn Store>,
    sources: Arc<Sources>,
    settings: crate::config::Config,
    ingests: bool,
    shutdown: CancellationToken,
) -> Result<(), std::io::Error> {
    let principal = Some("stdio".to_owned());
    let waiters = settings.limits.waiters();
    let hookd = Hookd::new(
        store,
        sources,
        &settings,
        principal,
        waiters,
        shutdown.clone(),
    );
    let kept = ingests.then(|| tokio::spawn(hookd.deliver_kept_subscriptions()));
    let tasks = tokio::spawn(hookd.run_tasks());
    let streams = hookd.streams.clone();
    let running = hookd
        .serve(events::advertise::Advertised(
            rmcp::transport::async_rw::AsyncRwTransport::new_server(
                tokio::io::stdin(),
                tokio::io::stdout(),
            ),
        ))
        .await
        .map_err(std::io::Error::other)?;
    let stop = running.cancellation_token();
    let served = tokio::select! {
        r = running.waiting() => r.map(|_| ()).map_err(std::io::Error::other),
        _ = shutdown.cancelled() => {
            // Open event streams say `terminated` first.
            events::stream::all_closed(&streams).await;
            stop.cancel();
            Ok(())
        }
    };
    // Both end once hookd stops (giving up the kept subscriptions' leases).
    shutdown.cancel();
    if let Some(kept) = kept {
        let _ = kept.await;
    }
    let _ = tasks.await;
    served
}
