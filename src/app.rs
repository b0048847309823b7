//! The composition root: opens the store, binds the listeners, starts every task under one
//! cancellation token, and joins them all on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::ingest::read::{self, BodyLimits, Budget};
use crate::sources::Sources;
use crate::store::{Postgres, Retention, Sqlite, Store, StoreError, WakeUps};
use crate::{ingest, mcp};

/// The largest MCP request body: JSON-RPC messages are small; this only stops abuse.
pub const MAX_MCP_BODY: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot open the store in {dir}: {source}")]
    Store { dir: String, source: StoreError },
    #[error("cannot listen on {addr} ({flag}): {source}{}", in_use(.source, .flag))]
    Bind {
        addr: SocketAddr,
        flag: &'static str,
        source: std::io::Error,
    },
    #[error("serving HTTP failed: {0}")]
    Serve(std::io::Error),
    /// `hookd stdio` found its webhook port held by something that is not a hookd on its store.
    #[error(
        "the webhook address {addr} is held by {what}, not by a hookd ingesting into this store; \
         stop it, or give this hookd another address with --webhook-addr"
    )]
    PortTaken { addr: SocketAddr, what: String },
    #[error("{0}")]
    Sources(#[from] crate::sources::SourcesError),
    #[error("{0}")]
    Policy(String),
    #[error("MCP over stdio failed: {0}")]
    Stdio(std::io::Error),
}

/// What to add when an address is taken.
fn in_use(e: &std::io::Error, flag: &str) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "; another program (or another hookd) listens there: stop it or choose another \
             address with {flag}"
        ),
        _ => String::new(),
    }
}

/// How hookd serves MCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Webhook and MCP HTTP listeners, both required.
    Serve,
    /// MCP on stdin/stdout. Also receives webhooks unless another process already listens on
    /// the webhook address; then that process ingests and this one reads the same store.
    Stdio,
}

/// A started hookd.
pub struct Running {
    pub store: Arc<dyn Store>,
    /// `None` when stdio mode found the webhook address taken.
    pub webhook_addr: Option<SocketAddr>,
    /// `None` in stdio mode.
    pub mcp_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    tasks: JoinSet<Result<(), AppError>>,
}

/// Opens the store, binds the listeners and starts serving.
pub async fn start(config: &Config, mode: Mode) -> Result<Running, AppError> {
    let (store, postgres) = open_store(config).await?;
    check_policy(config, mode)?;
    let redis = redis_client(config)?;
    let sources = Arc::new(load_sources(config)?);
    let triggers: Vec<Arc<crate::triggers::Trigger>> =
        load_triggers(config)?.into_iter().map(Arc::new).collect();
    let newest = match triggers.is_empty() {
        true => 0,
        false => crate::triggers::engine::newest(store.as_ref())
            .await
            .map_err(|source| AppError::Store {
                dir: store_name(config),
                source,
            })?,
    };
    let (webhook_listener, mcp_listener) = bind_listeners(config, mode).await?;
    let webhook_addr = webhook_listener.as_ref().and_then(|l| l.local_addr().ok());
    let mcp_addr = mcp_listener.as_ref().and_then(|l| l.local_addr().ok());
    // Where the MCP listener is, its port chosen when `--mcp-addr` asked for any (`:0`): the
    // OAuth resource URL names it.
    let config = &Config {
        mcp_addr: mcp_addr.unwrap_or(config.mcp_addr),
        webhook_addr: webhook_addr.unwrap_or(config.webhook_addr),
        ..config.clone()
    };

    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let http = Http::new(config, &store);
    if let Some(listener) = webhook_listener {
        let routes = http.webhook_routes(config, &store, &sources);
        let per_ip = config.limits.per_ip();
        tasks.spawn(serve_http(
            listener,
            routes,
            http.limits,
            per_ip,
            shutdown.clone(),
        ));
    }
    if let Some(listener) = mcp_listener {
        let (routes, kept) = http.mcp_routes(config, &store, &sources, &triggers, &shutdown);
        let per_ip = config.limits.per_ip();
        tasks.spawn(serve_http(
            listener,
            routes,
            http.limits,
            per_ip,
            shutdown.clone(),
        ));
        tasks.spawn(async move {
            kept.await;
            Ok(())
        });
    }
    if mode == Mode::Stdio {
        tasks.spawn(serve_stdio(
            store.clone(),
            sources,
            config.clone(),
            webhook_addr.is_some(),
            shutdown.clone(),
        ));
    }
    tasks.spawn(retention(store.clone(), config.clone(), shutdown.clone()));
    let upkeep = crate::telemetry::upkeep(shutdown.clone());
    tasks.spawn(async move {
        upkeep.await;
        Ok(())
    });
    spawn_redis(&mut tasks, redis, postgres, &store, config, &shutdown);
    if !triggers.is_empty() {
        let engine = crate::triggers::engine::Engine::new(store.clone(), config.mcp_resource());
        let grace = config.limits.listener().shutdown;
        let run = engine.run(triggers, newest, shutdown.clone(), grace);
        tasks.spawn(async move {
            run.await;
            Ok(())
        });
    }

    tracing::info!(
        webhook_addr = %webhook_addr.map_or("-".into(), |a| a.to_string()),
        mcp_addr = %mcp_addr.map_or("-".into(), |a| a.to_string()),
        store = %store_name(config),
        "hookd listening"
    );
    Ok(Running {
        store,
        webhook_addr,
        mcp_addr,
        shutdown,
        tasks,
    })
}

/// What `hookd config check` runs: every check `start` makes before it opens anything, and the
/// sources `serve` would use.
pub fn check(config: &Config) -> Result<Sources, AppError> {
    check_policy(config, Mode::Serve)?;
    read_triggers(config)?;
    load_sources(config)
}

/// The `[[triggers]]` of `hookd.toml`, checked.
fn read_triggers(config: &Config) -> Result<Vec<crate::triggers::Trigger>, AppError> {
    crate::triggers::spec::load(config.config_path().as_deref(), |v| std::env::var(v).ok())
        .map_err(AppError::Policy)
}

/// The triggers, with a warning for each whose program is not installed here.
fn load_triggers(config: &Config) -> Result<Vec<crate::triggers::Trigger>, AppError> {
    let triggers = read_triggers(config)?;
    for t in &triggers {
        if let Some(why) = t.missing_program() {
            tracing::warn!(trigger = %t.name, "{why}: its runs will fail until it is installed");
        }
    }
    Ok(triggers)
}

/// Refuses settings that would expose events: MCP beyond loopback without a token, and URLs
/// that are not http(s).
fn check_policy(config: &Config, mode: Mode) -> Result<(), AppError> {
    if config.own_authorization_server() && config.mcp_token.is_none() {
        return Err(AppError::Policy(
            "--mcp-authorization-server self asks for the operator's secret on its consent page: \
             set HOOKD_MCP_TOKEN (or --mcp-token)"
                .into(),
        ));
    }
    if mode == Mode::Serve
        && !config.mcp_addr.ip().is_loopback()
        && config.mcp_token.is_none()
        && config.mcp_authorization_server.is_none()
    {
        return Err(AppError::Policy(format!(
            "the MCP address {} is not loopback: set HOOKD_MCP_TOKEN (or --mcp-token), or an \
             identity provider (--mcp-authorization-server), so only your clients can read your \
             events",
            config.mcp_addr
        )));
    }
    let introspection = (
        config.mcp_introspection_client_id.is_some(),
        config.mcp_introspection_client_secret.is_some(),
    );
    if introspection.0 != introspection.1
        || (introspection.0 && config.mcp_authorization_server.is_none())
    {
        return Err(AppError::Policy(
            "--mcp-introspection-client-id and --mcp-introspection-client-secret go together, \
             with --mcp-authorization-server"
                .into(),
        ));
    }
    if config.dashboard_client_id.is_some()
        && (config.mcp_authorization_server.is_none() || config.own_authorization_server())
    {
        return Err(AppError::Policy(
            "--dashboard-client-id names the dashboard's client at an identity provider: set \
             --mcp-authorization-server to that provider's issuer URL"
                .into(),
        ));
    }
    for (flag, value) in [
        (
            "--mcp-authorization-server",
            &config.mcp_authorization_server,
        ),
        ("--mcp-public-url", &config.mcp_public_url),
    ] {
        if let Some(v) = value
            && !(flag == "--mcp-authorization-server" && v == "self")
            && !v.starts_with("http") | reqwest::Url::parse(v).is_err()
        {
            return Err(AppError::Policy(format!(
                "{flag} {v:?} is not an http(s) URL"
            )));
        }
    }
    Ok(())
}

fn redis_client(config: &Config) -> Result<Option<redis::Client>, AppError> {
    let Some(url) = &config.redis_url else {
        return Ok(None);
    };
    // The URL may hold a password: the error names the problem, not the URL.
    let client = redis::Client::open(url.expose()).map_err(|e| {
        AppError::Policy(format!(
            "HOOKD_REDIS_URL is not a Redis URL ({:?})",
            e.kind()
        ))
    })?;
    Ok(Some(client))
}

/// Binds the webhook listener and, in serve mode, the MCP listener. In stdio mode a webhook
/// address already taken means another hookd ingests: this one only serves MCP.
async fn bind_listeners(
    config: &Config,
    mode: Mode,
) -> Result<(Option<TcpListener>, Option<TcpListener>), AppError> {
    let webhook = match (mode, bind(config.webhook_addr, "--webhook-addr").await) {
        (_, Ok(l)) => Some(l),
        (Mode::Stdio, Err(AppError::Bind { addr, source, .. }))
            if source.kind() == std::io::ErrorKind::AddrInUse =>
        {
            same_store_there(addr, config).await?;
            tracing::info!(%addr, "webhook address in use by a hookd on this store: it ingests; serving the store");
            None
        }
        (_, Err(e)) => return Err(e),
    };
    let mcp = match mode {
        Mode::Serve => Some(bind(config.mcp_addr, "--mcp-addr").await?),
        Mode::Stdio => None,
    };
    Ok((webhook, mcp))
}

/// What both HTTP listeners share: connection limits, the body budget, the health routes.
struct Http {
    limits: crate::listener::Limits,
    /// One budget for every body being read or waiting for the store, on both listeners.
    budget: Budget,
    writes: Arc<crate::health::WriteHealth>,
    health: axum::Router,
}

impl Http {
    fn new(config: &Config, store: &Arc<dyn Store>) -> Self {
        let writes = Arc::new(crate::health::WriteHealth::default());
        Self {
            limits: connection_limits(config),
            budget: Budget::new(config.limits.max_pending_bytes),
            health: crate::health::routes(
                store.clone(),
                writes.clone(),
                crate::health::store_tag(config),
            ),
            writes,
        }
    }

    fn bodies(&self, config: &Config, max: usize) -> BodyLimits {
        BodyLimits {
            max,
            timeout: config.limits.body_timeout(),
            budget: self.budget.clone(),
        }
    }

    fn webhook_routes(
        &self,
        config: &Config,
        store: &Arc<dyn Store>,
        sources: &Arc<Sources>,
    ) -> axum::Router {
        let ingest = ingest::Ingest {
            store: store.clone(),
            sources: sources.clone(),
            require_signatures: config.require_signatures(),
            bodies: self.bodies(config, config.max_body),
            rates: crate::rate::RateLimits::new(
                sources.iter().map(|s| (s.name.as_str(), s.rate_limit)),
                config.limits.rate_limit.0,
            ),
            writes: self.writes.clone(),
            open: ingest::OpenSources::new(
                store.clone(),
                sources.clone(),
                config.limits.max_open_sources as usize,
            ),
            public_url: config.webhook_public_url.clone(),
            learned: Default::default(),
        };
        ingest::router(Arc::new(ingest)).merge(self.health.clone())
    }

    fn mcp_routes(
        &self,
        config: &Config,
        store: &Arc<dyn Store>,
        sources: &Arc<Sources>,
        triggers: &[Arc<crate::triggers::Trigger>],
        shutdown: &CancellationToken,
    ) -> (axum::Router, mcp::Kept) {
        let bodies = self.bodies(config, MAX_MCP_BODY);
        let scrape = crate::scrape::Scrape {
            store: store.clone(),
            data_dir: config
                .database_url
                .is_none()
                .then(|| config.data_dir.clone()),
        };
        // Like the dashboard's API: behind the token, and only for a Host this listener serves.
        // One set of credentials (one cache of the identity provider's keys) for every route.
        let credentials = mcp::auth::Credentials::from_config(config, store);
        let metrics = mcp::auth::guard(crate::scrape::routes(scrape), &credentials);
        let metrics = mcp::auth::known_hosts_only(metrics, config);
        let waiters = config.limits.waiters();
        let dashboard = crate::dashboard::Dashboard {
            waiters: waiters.clone(),
            credential: mcp::auth::principal(config),
            store: store.clone(),
            sources: sources.clone(),
            shutdown: shutdown.clone(),
            heartbeat: config.heartbeat(),
            max_answer: config.limits.max_answer_bytes,
            webhook_base: config.webhook_base(),
            triggers: triggers
                .iter()
                .map(|t| (t.name.clone(), t.describe()))
                .collect(),
        };
        let signin = crate::dashboard::signin::SignIn::new(
            credentials.authority.clone(),
            credentials.issuer.clone(),
            config.dashboard_client_id.clone(),
            config.mcp_resource(),
        );
        let dashboard = crate::dashboard::routes(dashboard, signin, config, |r| {
            mcp::auth::guard(r, &credentials)
        });
        let (mcp, kept) = mcp::router(
            store.clone(),
            sources.clone(),
            config,
            waiters,
            credentials.clone(),
            shutdown.clone(),
        );
        let routes = mcp
            .layer(axum::middleware::from_fn_with_state(bodies, read::bounded))
            .merge(metrics)
            .merge(dashboard)
            .merge(self.health.clone());
        (routes, kept)
    }
}

async fn serve_stdio(
    store: Arc<dyn Store>,
    sources: Arc<Sources>,
    config: Config,
    ingests: bool,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let result = mcp::serve_stdio(store, sources, config, ingests, shutdown.clone()).await;
    // The client closed stdin: this hookd has no one left to serve.
    shutdown.cancel();
    result.map_err(AppError::Stdio)
}

/// With Redis: wake-ups between instances (PostgreSQL only) and the pub/sub bridge.
fn spawn_redis(
    tasks: &mut JoinSet<Result<(), AppError>>,
    redis: Option<redis::Client>,
    postgres: Option<Arc<Postgres>>,
    store: &Arc<dyn Store>,
    config: &Config,
    shutdown: &CancellationToken,
) {
    let Some(client) = redis else {
        return;
    };
    if let Some(postgres) = postgres {
        let wake_ups = crate::bus::redis::run(client.clone(), postgres, shutdown.clone());
        tasks.spawn(async move {
            wake_ups.await;
            Ok(())
        });
    }
    let bridge = crate::ingest::redis_bridge::run(
        store.clone(),
        client,
        config.redis_channels.clone(),
        shutdown.clone(),
    );
    tasks.spawn(async move {
        bridge.await;
        Ok(())
    });
}

impl Running {
    /// The token whose cancellation stops everything.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until every task has ended (after shutdown, or after stdio's client went away),
    /// returning the first error. In-flight webhooks finish and are answered first.
    pub async fn join(mut self) -> Result<(), AppError> {
        let mut first_error = None;
        while let Some(done) = self.tasks.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    self.shutdown.cancel();
                    first_error.get_or_insert(e);
                }
                Err(join) => tracing::error!(error = %join, "task panicked"),
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Cancels and joins.
    pub async fn stop(self) -> Result<(), AppError> {
        self.shutdown.cancel();
        self.join().await
    }
}

/// Opens the configured store; the PostgreSQL one is also returned as such, for the Redis bus.
async fn open_store(config: &Config) -> Result<(Arc<dyn Store>, Option<Arc<Postgres>>), AppError> {
    let failed = |source| AppError::Store {
        dir: store_name(config),
        source,
    };
    let Some(url) = &config.database_url else {
        let sqlite = Sqlite::open(&config.data_dir).map_err(failed)?;
        return Ok((Arc::new(sqlite), None));
    };
    // With Redis, wake-ups between instances go through it; without, through NOTIFY/LISTEN.
    let wake_ups = match config.redis_url {
        Some(_) => WakeUps::External,
        None => WakeUps::ListenNotify,
    };
    let postgres = Arc::new(
        Postgres::open(url.expose(), wake_ups)
            .await
            .map_err(failed)?,
    );
    Ok((postgres.clone(), Some(postgres)))
}

/// Where events are stored, for messages (never the database URL: it may hold a password).
fn store_name(config: &Config) -> String {
    match config.database_url {
        Some(_) => "PostgreSQL (HOOKD_DATABASE_URL)".into(),
        None => config.data_dir.display().to_string(),
    }
}

/// Reads the sources and applies the signature policy, saying what is unverified.
fn load_sources(config: &Config) -> Result<Sources, AppError> {
    let mut sources = Sources::load(config.config_path().as_deref(), |v| std::env::var(v).ok())?;
    if config.require_signatures() {
        let dropped = sources.require_signatures().map_err(AppError::Policy)?;
        if !dropped.is_empty() {
            tracing::info!(sources = ?dropped, "signatures required: sources without a secret are disabled");
        }
    } else {
        let unsigned: Vec<&str> = sources
            .iter()
            .filter(|s| s.is_unsigned())
            .map(|s| s.name.as_str())
            .collect();
        if !unsigned.is_empty() {
            tracing::warn!(sources = ?unsigned, "no secret configured: deliveries to these sources are stored with verified=false");
        }
    }
    Ok(sources)
}

async fn bind(addr: SocketAddr, flag: &'static str) -> Result<TcpListener, AppError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Bind { addr, flag, source })
}

/// `Ok` if what listens on `addr` is a hookd serving the store `config` names (its `/healthz`
/// says so); else what it is, as an error.
async fn same_store_there(addr: SocketAddr, config: &Config) -> Result<(), AppError> {
    let taken = |what: String| AppError::PortTaken { addr, what };
    let client = crate::outbound::client_builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .map_err(|e| taken(format!("something hookd cannot ask ({e})")))?;
    let answer = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .map_err(|_| taken("something that does not answer HTTP".into()))?;
    let text = answer.text().await.unwrap_or_default();
    let health: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| taken("a server that is not hookd".into()))?;
    if health["service"] != "hookd" {
        return Err(taken("a server that is not hookd".into()));
    }
    if health["store"] != crate::health::store_tag(config).as_str() {
        return Err(taken("a hookd serving another store".into()));
    }
    Ok(())
}

async fn serve_http(
    listener: TcpListener,
    routes: axum::Router,
    limits: crate::listener::Limits,
    per_ip: Arc<crate::per_ip::PerIp>,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    crate::listener::serve(listener, routes, limits, per_ip, shutdown)
        .await
        .map_err(AppError::Serve)
}

/// The listeners' limits, with the connection cap fitted to the file descriptors this process
/// may open: hookd first raises its own limit to the hard limit, since every connection, store
/// file and outbound request needs a descriptor and running out fails them all.
fn connection_limits(config: &Config) -> crate::listener::Limits {
    let mut limits = config.limits.listener();
    let files = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            return limits;
        }
    };
    // Two listeners, plus room for the store, outbound requests and the log.
    const RESERVED: u64 = 256;
    let fits = (files.saturating_sub(RESERVED) / 2).max(16) as usize;
    if limits.max_connections > fits {
        tracing::warn!(
            max_connections = limits.max_connections,
            open_file_limit = files,
            using = fits,
            "--max-connections does not fit the open-file limit; using less"
        );
        limits.max_connections = fits;
    }
    limits
}

/// Enforces the retention policy every `retention_interval`, in small steps (see `Store::prune`).
async fn retention(
    store: Arc<dyn Store>,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let mut tick = tokio::time::interval(config.retention_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return Ok(()),
        }
        let policy = Retention {
            max_events_per_source: config.max_events_per_source,
            received_before: chrono::Utc::now()
                - Duration::from_secs(u64::from(config.retention_days) * 86_400),
            dedupe_after: chrono::Utc::now()
                - Duration::from_secs(u64::from(config.dedupe_window_hours) * 3600),
        };
        let runs_before = policy.received_before;
        match store.prune(policy).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "retention removed old events"),
            Err(e) => tracing::warn!(error = %e, "retention failed; will retry"),
        }
        // Expired OAuth codes and tokens, and registrations that never got a grant.
        if let Err(e) = store.forget_expired_oauth().await {
            tracing::warn!(error = %e, "cannot forget expired OAuth codes and tokens; will retry");
        }
        // Finished trigger runs are kept as long as events are.
        if let Err(e) = store.forget_trigger_runs(runs_before).await {
            tracing::warn!(error = %e, "cannot forget old trigger runs; will retry");
        }
    }
}
