//! hookd's settings: one typed `Config`, from defaults < environment (`HOOKD_*`) < flags,
//! validated once at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// Which numbers the MCP Events extension's errors carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventsErrorCodes {
    /// -32011 to -32015, what the clients deployed today (ChatGPT, the AI SDK) understand.
    #[default]
    Deployed,
    /// -32023 to -32027, the SEP's provisional numbers, in the same order.
    Sep,
}

/// A group of MCP tools a client can choose to see (like the GitHub MCP server's toolsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Toolset {
    /// Reading, waiting for and debugging events.
    Events,
    /// Repository activity, commits, pull requests.
    Github,
    /// Stripe events and the actions they call for.
    Stripe,
    /// Pushes, deployments and their correlation.
    Deployments,
    /// `events`, and the toolset of each provider with a configured source: `github` and
    /// `deployments` for GitHub, `deployments` for Vercel, `stripe` for Stripe.
    Auto,
}

/// The sources file: `explicit` if given, else `hookd.toml` in the working directory if there is
/// one (what `serve`, `send`, `replay` and `forward` all read).
pub fn sources_file(explicit: Option<&std::path::Path>) -> Option<PathBuf> {
    match explicit {
        Some(p) => Some(p.to_owned()),
        None => Some(PathBuf::from("hookd.toml")).filter(|p| p.exists()),
    }
}

/// Settings shared by `serve` and `stdio`. Serialized under the flags' names (for `hookd config
/// check`; secrets as `[redacted]`).
#[derive(Debug, Clone, Args, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Config {
    /// Where the SQLite store lives (unused with --database-url).
    #[arg(long, env = "HOOKD_DATA_DIR", default_value = "hookd-data")]
    pub data_dir: PathBuf,

    /// Store events in this PostgreSQL instead of SQLite, so several hookd instances share them,
    /// e.g. postgres://hookd:pw@db.internal/hookd. The schema is created and migrated at start-up.
    #[arg(long, env = "HOOKD_DATABASE_URL", hide_env_values = true, value_parser = crate::config::parse_secret)]
    pub database_url: Option<crate::secret::Secret>,

    /// Address of the webhook listener (POST /webhook/{source}). Port 0 picks a free port.
    #[arg(long, env = "HOOKD_WEBHOOK_ADDR", default_value = "127.0.0.1:8080")]
    pub webhook_addr: SocketAddr,

    /// The webhook listener's URL as providers call it, when hookd sits behind a tunnel or proxy
    /// (e.g. https://hooks.example.com): providers that sign the URL (Twilio, Square, Trello,
    /// HubSpot) are checked against it plus /webhook/{source}. Default: http://{Host}.
    #[arg(long, env = "HOOKD_WEBHOOK_PUBLIC_URL", value_parser = crate::config::parse_public_url)]
    pub webhook_public_url: Option<String>,

    /// Address of the MCP listener (Streamable HTTP at /mcp). Port 0 picks a free port.
    #[arg(long, env = "HOOKD_MCP_ADDR", default_value = "127.0.0.1:8765")]
    pub mcp_addr: SocketAddr,

    /// Largest accepted webhook body, in bytes or with a KiB/MiB suffix (e.g. 512KiB, 2MiB).
    #[arg(long, env = "HOOKD_MAX_BODY", default_value = "1MiB", value_parser = parse_size)]
    pub max_body: usize,

    /// Keep at most this many events per source; older ones are deleted in the background.
    #[arg(long, env = "HOOKD_MAX_EVENTS_PER_SOURCE", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_events_per_source: u64,

    /// Delete events received more than this many days ago.
    #[arg(long, env = "HOOKD_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub retention_days: u32,

    /// Hours for which a deleted event's delivery id is remembered (from when it was received), so
    /// that a provider's retry of an event the per-source cap removed is still a duplicate.
    #[serde(rename = "dedupe-window")]
    #[arg(long = "dedupe-window", env = "HOOKD_DEDUPE_WINDOW", default_value_t = 72,
          value_parser = clap::value_parser!(u32).range(1..=87_600))]
    pub dedupe_window_hours: u32,

    /// The sources file. Default: `hookd.toml` in the working directory, if there is one.
    #[arg(long, env = "HOOKD_CONFIG")]
    pub config: Option<PathBuf>,

    /// Refuse to start with a signed source that has no secret, and refuse deliveries to sources
    /// that are not configured. Default: on when the webhook address is not loopback.
    #[arg(long, env = "HOOKD_REQUIRE_SIGNATURES", num_args = 0..=1, default_missing_value = "true")]
    pub require_signatures: Option<bool>,

    /// Which MCP tools to offer: any of events, github, stripe, deployments (comma-separated), or
    /// auto: events, plus the tools of each provider that has a configured source (a secret, or
    /// a section in hookd.toml).
    #[arg(
        long,
        env = "HOOKD_TOOLSETS",
        value_delimiter = ',',
        default_value = "auto"
    )]
    pub toolsets: Vec<Toolset>,

    /// A bearer token MCP clients must send (`Authorization: Bearer …`). Required when the MCP
    /// address is not loopback.
    #[arg(long, env = "HOOKD_MCP_TOKEN", hide_env_values = true, value_parser = crate::config::parse_secret)]
    pub mcp_token: Option<crate::secret::Secret>,

    /// Host names the MCP endpoint answers to (DNS-rebinding protection), comma-separated.
    /// Default: localhost, 127.0.0.1, ::1 and the MCP address's own IP.
    #[arg(long, env = "HOOKD_MCP_ALLOWED_HOSTS", value_delimiter = ',')]
    pub mcp_allowed_hosts: Vec<String>,

    /// Seconds between keep-alives on idle MCP streams: SSE comments on HTTP streams and
    /// `notifications/events/heartbeat` on `events/stream` (1 to 30).
    #[serde(rename = "heartbeat")]
    #[arg(long = "heartbeat", env = "HOOKD_HEARTBEAT", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=30))]
    pub heartbeat_secs: u64,

    /// Let `events/subscribe` deliver to loopback, private and link-local addresses (for a
    /// receiver on the same machine or network). Off by default: an SSRF guard.
    #[arg(long, env = "HOOKD_ALLOW_PRIVATE_CALLBACKS")]
    pub allow_private_callbacks: bool,

    /// The waits between attempts to deliver one event to an `events/subscribe` callback
    /// (comma-separated, each with ms, s or m): one attempt more than there are waits. A failing
    /// event is retried on its own while later ones are delivered, then abandoned.
    #[arg(long, env = "HOOKD_CALLBACK_RETRIES", default_value = DEFAULT_CALLBACK_RETRIES,
          value_parser = parse_delays)]
    pub callback_retries: Delays,

    /// Push each new event to Claude Code as a channel notification
    /// (`notifications/claude/channel`, experimental capability `claude/channel`).
    #[arg(long, env = "HOOKD_CLAUDE_CHANNEL")]
    pub claude_channel: bool,

    /// The MCP Events errors' codes: `deployed` (-32011..-32015, what ChatGPT and the AI SDK
    /// understand) or `sep` (the Events SEP's provisional -32023..-32027).
    #[arg(
        long,
        env = "HOOKD_EVENTS_ERROR_CODES",
        value_enum,
        default_value = "deployed"
    )]
    pub events_error_codes: EventsErrorCodes,

    /// OAuth for the MCP endpoint: `self` (hookd is the authorization server; the operator
    /// consents with --mcp-token), or the issuer URL of an identity provider whose JWT access
    /// tokens (scopes hookd:read, hookd:write; audience --mcp-public-url) are accepted. Named in
    /// the protected-resource metadata (RFC 9728) at /.well-known/oauth-protected-resource.
    #[arg(long, env = "HOOKD_MCP_AUTHORIZATION_SERVER")]
    pub mcp_authorization_server: Option<String>,

    /// The client id hookd authenticates as at the identity provider's introspection endpoint
    /// (RFC 7662), to accept its opaque (non-JWT) access tokens too.
    #[arg(long, env = "HOOKD_MCP_INTROSPECTION_CLIENT_ID")]
    pub mcp_introspection_client_id: Option<String>,

    /// That client's secret.
    #[arg(long, env = "HOOKD_MCP_INTROSPECTION_CLIENT_SECRET", hide_env_values = true, value_parser = crate::config::parse_secret)]
    pub mcp_introspection_client_secret: Option<crate::secret::Secret>,

    /// The dashboard's client id at the identity provider (a public client using PKCE, whose
    /// redirect URI is the dashboard's own address, e.g. https://hookd.example.com/): the
    /// dashboard then offers "Sign in" there instead of asking for a pasted token.
    #[arg(long, env = "HOOKD_DASHBOARD_CLIENT_ID")]
    pub dashboard_client_id: Option<String>,

    /// The public URL of the MCP endpoint, as clients reach it (for RFC 9728 metadata).
    /// Default: http://{mcp address}/mcp.
    #[arg(long, env = "HOOKD_MCP_PUBLIC_URL")]
    pub mcp_public_url: Option<String>,

    /// A Redis to bridge: messages on `--redis-channels` become events (source = channel), and
    /// the `publish_event` / `get_channel_stats` tools are offered. With --database-url it also
    /// carries wake-ups between instances. E.g. redis://127.0.0.1:6379.
    #[arg(long, env = "HOOKD_REDIS_URL", hide_env_values = true, value_parser = crate::config::parse_secret)]
    pub redis_url: Option<crate::secret::Secret>,

    /// The Redis channels or patterns to bridge (comma-separated).
    #[arg(
        long,
        env = "HOOKD_REDIS_CHANNELS",
        value_delimiter = ',',
        default_value = "events:*"
    )]
    pub redis_channels: Vec<String>,

    /// How often retention runs, in seconds.
    #[serde(rename = "retention-interval")]
    #[arg(long = "retention-interval", env = "HOOKD_RETENTION_INTERVAL", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub retention_interval_secs: u64,

    #[command(flatten)]
    #[serde(flatten)]
    pub limits: Limits,
}

/// What any one client may hold: time, connections, memory. Defaults are safe on a public address.
#[derive(Debug, Clone, Args, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Limits {
    /// Seconds a client has to send a request's headers: from connecting, or on a kept-alive
    /// connection from the request's first byte.
    #[serde(rename = "header-timeout")]
    #[arg(long = "header-timeout", env = "HOOKD_HEADER_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: u64,

    /// Seconds a client has to send a whole request body once its headers arrived.
    #[serde(rename = "body-timeout")]
    #[arg(long = "body-timeout", env = "HOOKD_BODY_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_secs: u64,

    /// Seconds after which an idle keep-alive connection is closed.
    #[serde(rename = "idle-timeout")]
    #[arg(long = "idle-timeout", env = "HOOKD_IDLE_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout_secs: u64,

    /// Open connections per listener at most; more wait in the kernel's queue until one closes.
    #[arg(long, env = "HOOKD_MAX_CONNECTIONS", default_value_t = 4096,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Memory all request bodies being read or waiting to be stored may hold together; beyond it
    /// requests are answered 503 with Retry-After (bytes, or with a KiB/MiB/GiB suffix).
    #[arg(long, env = "HOOKD_MAX_PENDING_BYTES", default_value = "256MiB", value_parser = parse_size)]
    pub max_pending_bytes: usize,

    /// Deliveries per second per source, for sources without their own `rate_limit` in
    /// hookd.toml: PER_SECOND/BURST, PER_SECOND, or off. Beyond it: 429 with Retry-After.
    #[arg(long, env = "HOOKD_RATE_LIMIT", default_value = "200/2000", value_parser = parse_rate)]
    pub rate_limit: DefaultRate,

    /// About how many bytes of events one MCP list answer (a tool's list, a resource, an
    /// events/poll page) carries; a list cut short says `truncated` and how to read on. One
    /// event is always served whole.
    #[arg(long, env = "HOOKD_MAX_ANSWER_BYTES", default_value = "1MiB", value_parser = parse_size)]
    pub max_answer_bytes: usize,

    /// MCP sessions of the 2025 protocol era kept at most; a new one closes the least recently
    /// used first (idle ones before busy ones). 2026-07-28 clients need no session.
    #[arg(long, env = "HOOKD_MAX_SESSIONS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_sessions: u64,

    /// Distinct sources hookd accepts without their being configured (while signatures are not
    /// required); a delivery to one more is refused with 403 until it is configured.
    #[arg(long, env = "HOOKD_MAX_OPEN_SOURCES", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_open_sources: u32,

    /// Working tasks (MCP Tasks extension: `wait_for_event`, `watch_deployment`) one credential
    /// may hold at once; one more is refused until one ends or is cancelled.
    #[arg(long, env = "HOOKD_MAX_OPEN_TASKS", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_open_tasks: u32,

    /// Requests waiting for events at once, in all: long polls, `events/stream`,
    /// `wait_for_event`, `next_events` with `wait_seconds`, `watch_deployment` and the
    /// dashboard's live list; one more is refused at once until one ends.
    #[arg(long, env = "HOOKD_MAX_WAITS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_waits: u32,

    /// Of those waiting requests, how many one credential may hold (clients without a credential
    /// share one), so that one client cannot take every place.
    #[arg(long, env = "HOOKD_MAX_WAITS_PER_CREDENTIAL", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_waits_per_credential: u32,

    /// Open connections one client address may hold on each listener (an IPv6 client counts by
    /// its /64); more are closed as soon as they are accepted. 0: no cap. Addresses in
    /// `--trusted-proxies` are not counted.
    #[arg(long, env = "HOOKD_MAX_CONNECTIONS_PER_IP", default_value_t = 128,
          value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub max_connections_per_ip: u32,

    /// Addresses or networks (`10.0.0.0/8`) not capped per address: a proxy or tunnel in front,
    /// which carries every client's connections from its own address. Default: loopback (a
    /// tunnel on this machine). Comma-separated; `none` for none.
    #[arg(long, env = "HOOKD_TRUSTED_PROXIES", default_value = "127.0.0.0/8,::1",
          value_parser = parse_nets)]
    pub trusted_proxies: Nets,

    /// Seconds that shutdown waits for in-flight requests before closing what is left.
    #[serde(rename = "shutdown-timeout")]
    #[arg(long = "shutdown-timeout", env = "HOOKD_SHUTDOWN_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub shutdown_timeout_secs: u64,
}

/// The limits' defaults are their flags' (see [`Config::defaults`]).
impl Default for Limits {
    fn default() -> Self {
        Config::defaults().limits
    }
}

/// Addresses and networks, as `--trusted-proxies` takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nets(pub Vec<ipnet::IpNet>);

impl serde::Serialize for Nets {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let all: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        s.serialize_str(&if all.is_empty() {
            "none".into()
        } else {
            all.join(",")
        })
    }
}

/// Comma-separated addresses (`192.0.2.7`, `::1`) and networks (`10.0.0.0/8`), or `none`.
fn parse_nets(s: &str) -> Result<Nets, String> {
    if s.trim().is_empty() || s.trim() == "none" {
        return Ok(Nets::default());
    }
    let net = |s: &str| {
        let s = s.trim();
        s.parse::<ipnet::IpNet>()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| format!("{s:?} is not an address or a network (10.0.0.0/8)"))
    };
    s.split(',').map(net).collect::<Result<_, _>>().map(Nets)
}

impl Limits {
    /// Each listener's cap on connections per client address.
    pub fn per_ip(&self) -> std::sync::Arc<crate::per_ip::PerIp> {
        crate::per_ip::PerIp::new(
            self.max_connections_per_ip as usize,
            self.trusted_proxies.0.clone(),
        )
    }

    /// The places to wait for events these limits allow.
    pub fn waiters(&self) -> std::sync::Arc<crate::waiters::Waiters> {
        crate::waiters::Waiters::new(
            self.max_waits as usize,
            self.max_waits_per_credential as usize,
        )
    }

    pub fn listener(&self) -> crate::listener::Limits {
        crate::listener::Limits {
            header: Duration::from_secs(self.header_timeout_secs),
            idle: Duration::from_secs(self.idle_timeout_secs),
            max_connections: self.max_connections as usize,
            shutdown: Duration::from_secs(self.shutdown_timeout_secs),
        }
    }

    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }
}

impl Config {
    /// The sources file to read, if any.
    pub fn config_path(&self) -> Option<PathBuf> {
        sources_file(self.config.as_deref())
    }

    /// The host names the MCP listener answers to (DNS-rebinding protection): loopback names, the
    /// MCP address's own IP and `--mcp-allowed-hosts`. The dashboard's API uses the same list.
    pub fn mcp_hosts(&self) -> Vec<String> {
        let mut hosts = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        hosts.push(self.mcp_addr.ip().to_string());
        hosts.extend(self.mcp_allowed_hosts.iter().cloned());
        hosts
    }

    /// Whether hookd is its own authorization server (`--mcp-authorization-server self`).
    pub fn own_authorization_server(&self) -> bool {
        self.mcp_authorization_server.as_deref() == Some("self")
    }

    /// The webhook listener's URL as providers reach it: `--webhook-public-url`, else the
    /// listener's own address; `true` when it is the public one.
    pub fn webhook_base(&self) -> (String, bool) {
        match &self.webhook_public_url {
            Some(url) => (url.clone(), true),
            None => (format!("http://{}", self.webhook_addr), false),
        }
    }

    /// hookd's MCP URL as clients reach it (the OAuth resource): `--mcp-public-url`, else the
    /// listener's own.
    pub fn mcp_resource(&self) -> String {
        self.mcp_public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}/mcp", self.mcp_addr))
    }

    /// The identity provider whose access tokens the MCP listener accepts
    /// (`--mcp-authorization-server`), for the resource [`Config::mcp_resource`].
    pub fn identity_provider(&self) -> Option<std::sync::Arc<crate::mcp::idp::Issuer>> {
        let issuer = self.mcp_authorization_server.clone()?;
        if self.own_authorization_server() {
            return None;
        }
        let introspection = match (
            &self.mcp_introspection_client_id,
            &self.mcp_introspection_client_secret,
        ) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
            _ => None,
        };
        Some(std::sync::Arc::new(crate::mcp::idp::Issuer::new(
            issuer,
            self.mcp_resource(),
            introspection,
        )))
    }

    pub fn require_signatures(&self) -> bool {
        self.require_signatures
            .unwrap_or(!self.webhook_addr.ip().is_loopback())
    }

    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs)
    }

    pub fn retention_interval(&self) -> Duration {
        Duration::from_secs(self.retention_interval_secs)
    }

    /// A config for tests and embedding: the shipped defaults ([`Config::defaults`]), with a data
    /// dir, both listeners on free loopback ports and every toolset offered.
    pub fn ephemeral(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            webhook_addr: ([127, 0, 0, 1], 0).into(),
            mcp_addr: ([127, 0, 0, 1], 0).into(),
            toolsets: vec![
                Toolset::Events,
                Toolset::Github,
                Toolset::Stripe,
                Toolset::Deployments,
            ],
            ..Self::defaults()
        }
    }

    /// Every setting at its flag's default, as `hookd serve` runs with no flags and no `HOOKD_*`
    /// variables: the flags' attributes are the one place a default is written.
    pub fn defaults() -> Self {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            config: Config,
        }
        let command = <Flags as clap::CommandFactory>::command().mut_args(|a| a.env(None::<&str>));
        let matches = command
            .try_get_matches_from(["hookd"])
            .expect("the flags' defaults parse");
        <Flags as clap::FromArgMatches>::from_arg_matches(&matches)
            .expect("the flags' defaults are settings")
            .config
    }
}

/// `--rate-limit`: the limit for sources without their own (`None`: off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DefaultRate(pub Option<crate::rate::RateLimit>);

/// As the flag is written: `PER_SECOND/BURST` or `off`.
impl serde::Serialize for DefaultRate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(r) => s.collect_str(&format_args!("{}/{}", r.per_second, r.burst)),
            None => s.serialize_str("off"),
        }
    }
}

fn parse_rate(s: &str) -> Result<DefaultRate, String> {
    crate::rate::RateLimit::parse_flag(s).map(DefaultRate)
}

/// Five attempts over about 14 minutes (the design suggests 3 to 5 within 10 to 15).
const DEFAULT_CALLBACK_RETRIES: &str = "10s,40s,160s,640s";

/// `--callback-retries`: waits between delivery attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct Delays(pub Vec<Duration>);

/// As the flag is written, e.g. `10s,40s,160s,640s`.
impl serde::Serialize for Delays {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|d| match d.as_millis() {
                ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
                ms => format!("{ms}ms"),
            })
            .collect();
        s.collect_str(&parts.join(","))
    }
}

/// Parses `10s,40s,2m,500ms` (at most 10 waits, each at most an hour).
fn parse_delays(s: &str) -> Result<Delays, String> {
    let one = |part: &str| -> Result<Duration, String> {
        let d = crate::time::parse_duration(part)?;
        if d > Duration::from_secs(3600) {
            return Err(format!("{:?} is longer than an hour", part.trim()));
        }
        Ok(d)
    };
    let delays = s.split(',').map(one).collect::<Result<Vec<_>, _>>()?;
    if delays.len() > 10 {
        return Err("at most 10 waits (11 attempts)".into());
    }
    Ok(Delays(delays))
}

/// A secret from the command line or environment (kept out of `Debug`; pair with
/// `hide_env_values` so `--help` does not print it either).
pub fn parse_secret(s: &str) -> Result<crate::secret::Secret, String> {
    Ok(crate::secret::Secret::new(s))
}

/// An http(s) URL with no query or fragment, without its trailing `/`.
pub fn parse_public_url(s: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(format!(
            "{s:?} must be an http(s) URL with no query, such as https://hooks.example.com"
        ));
    }
    Ok(s.trim_end_matches('/').to_owned())
}

/// Parses `1048576`, `512KiB`, `512K`, `2MiB`, `2M` (binary units).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 1048576, 512KiB or 1MiB"))?;
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?}; use KiB, MiB or GiB")),
    };
    match n.checked_mul(multiplier) {
        Some(0) | None => Err(format!("{s:?} is not a usable size")),
        Some(bytes) => Ok(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err());
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("1TiB").is_err());
        assert!(parse_size("lots").is_err());
    }
}
