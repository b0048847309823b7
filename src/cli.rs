//! The command line: `hookd serve`, `hookd stdio`, `hookd send`, and the commands that read a
//! store (`events`, `tail`, `forward`, `replay`, in `crate::commands`).

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::app::{self, Mode};
use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "hookd",
    version,
    about = "Webhooks in, MCP out: a durable bridge between webhook providers and AI assistants"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines (on stderr) look: `text`, or `json` (one object per line, for a log
    /// collector). What is logged is set with HOOKD_LOG (default `info,rmcp=warn`).
    #[arg(long, global = true, env = "HOOKD_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// A file of `KEY=VALUE` lines (a `.env` file) read into the environment before anything
    /// else, by every command: the providers' secrets (`GITHUB_WEBHOOK_SECRET`, …), what
    /// `hookd.toml`'s `env:` references name, and `HOOKD_*` settings. A variable already set in
    /// the environment wins over the file.
    #[arg(long, global = true, env = "HOOKD_ENV_FILE")]
    pub env_file: Option<std::path::PathBuf>,
}

/// Reads the `--env-file` (or `HOOKD_ENV_FILE`) named in `args` into the environment. Called
/// before the command line is parsed, so that the file's `HOOKD_*` settings count as the
/// environment's, and before any thread is started.
pub fn load_env_file(args: &[std::ffi::OsString]) -> anyhow::Result<()> {
    let mut named = None;
    for (i, arg) in args.iter().enumerate() {
        let arg = arg.to_string_lossy();
        if arg == "--env-file" {
            named = args.get(i + 1).map(std::path::PathBuf::from);
        } else if let Some(path) = arg.strip_prefix("--env-file=") {
            named = Some(path.into());
        }
    }
    let Some(path) = named.or_else(|| std::env::var_os("HOOKD_ENV_FILE").map(Into::into)) else {
        return Ok(());
    };
    dotenvy::from_path(&path).map_err(|e| anyhow::anyhow!("--env-file {}: {e}", path.display()))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Receive webhooks and serve MCP over Streamable HTTP.
    Serve(Config),
    /// Serve MCP over stdin/stdout (for clients that launch their server); also receives
    /// webhooks unless another hookd already does.
    // The MCP listener's flags mean nothing here: hidden from this command's help (still
    // accepted, so a shared HOOKD_* environment works for both commands).
    #[command(
        mut_arg("mcp_addr", hide),
        mut_arg("mcp_token", hide),
        mut_arg("mcp_allowed_hosts", hide),
        mut_arg("mcp_authorization_server", hide),
        mut_arg("mcp_introspection_client_id", hide),
        mut_arg("mcp_introspection_client_secret", hide),
        mut_arg("dashboard_client_id", hide),
        mut_arg("mcp_public_url", hide),
        mut_arg("max_sessions", hide)
    )]
    Stdio(Config),
    /// Sign a file as a source's provider would and POST it (tests a setup end to end).
    Send(crate::send::SendArgs),
    /// Read the store: recent events, or deliveries refused by signature verification.
    Events(crate::commands::events::EventsArgs),
    /// Follow new events as they are stored, one line each (or JSON lines).
    Tail(crate::commands::tail::TailArgs),
    /// Deliver each new event to a URL (your app), re-signed as its provider would sign it.
    Forward(crate::commands::forward::ForwardArgs),
    /// Send one stored event again, re-signed as its provider would sign it.
    Replay(crate::commands::replay::ReplayArgs),
    /// The clients let in through hookd's own OAuth authorization server; `--revoke ID` shuts
    /// one out.
    Grants(crate::commands::grants::GrantsArgs),
    /// The triggers hookd.toml declares and what they did: `runs`, `retry ID`, `test NAME
    /// --event ID`.
    Triggers(crate::commands::triggers::TriggersArgs),
    /// Let a source whose provider gives its secret in a handshake (Asana) enrol: its next
    /// handshake, within `--for` (10m), is answered and its secret kept.
    Enrol(crate::commands::enrol::EnrolArgs),
    /// Check the configuration: what `serve` would use, secrets redacted, and what each source
    /// expects.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Copy a SQLite store into an empty PostgreSQL database, ids preserved (stop hookd first).
    MigrateTo(MigrateArgs),
}

fn hide(arg: clap::Arg) -> clap::Arg {
    arg.hide(true)
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the flags, environment and hookd.toml `serve` would read; print the effective
    /// settings (secrets redacted) and each source's provider, secret and expected headers.
    Check(Config),
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The PostgreSQL to copy into, e.g. postgres://hookd:pw@db/hookd (or HOOKD_DATABASE_URL,
    /// which keeps a password out of the process list), as every other command takes it.
    #[arg(long, env = "HOOKD_DATABASE_URL", hide_env_values = true, value_parser = crate::config::parse_secret,
          required_unless_present = "url")]
    pub database_url: Option<crate::secret::Secret>,
    /// The same URL given without `--database-url` (how earlier versions took it).
    #[arg(hide = true, value_parser = crate::config::parse_secret)]
    pub url: Option<crate::secret::Secret>,
    /// The SQLite store to copy.
    #[arg(long, env = "HOOKD_DATA_DIR", default_value = "hookd-data")]
    pub data_dir: std::path::PathBuf,
}

/// Runs the parsed command to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (config, mode) = match cli.command {
            Command::Serve(c) => (c, Mode::Serve),
            Command::Stdio(c) => (c, Mode::Stdio),
            Command::Send(a) => return crate::send::run(a).await,
            Command::Events(a) => return crate::commands::events::run(a).await,
            Command::Config(ConfigCommand::Check(c)) => {
                return crate::commands::config_check::run(&c);
            }
            Command::Tail(a) => return crate::commands::tail::run(a).await,
            Command::Forward(a) => return crate::commands::forward::run(a).await,
            Command::Replay(a) => return crate::commands::replay::run(a).await,
            Command::Grants(a) => return crate::commands::grants::run(a).await,
            Command::Triggers(a) => return crate::commands::triggers::run(a).await,
            Command::Enrol(a) => return crate::commands::enrol::run(a).await,
            Command::MigrateTo(a) => return migrate_to(a).await,
        };
        // Signals are caught from here on, so one that arrives while hookd is still starting
        // (or the moment its listeners open) ends it cleanly instead of killing it.
        let stop = CancellationToken::new();
        let signals = tokio::spawn(cancel_on_signal(Signals::catch()?, stop.clone()));
        let running = app::start(&config, mode).await?;
        let shutdown = running.shutdown_token();
        let link = tokio::spawn(async move {
            stop.cancelled().await;
            shutdown.cancel();
        });
        let result = running.join().await;
        signals.abort();
        link.abort();
        tracing::info!("hookd stopped");
        Ok(result?)
    })
}

/// Copies the SQLite store into PostgreSQL and says what it copied.
async fn migrate_to(a: MigrateArgs) -> anyhow::Result<()> {
    let Some(url) = a.database_url.or(a.url) else {
        anyhow::bail!("give the PostgreSQL URL with --database-url (or HOOKD_DATABASE_URL)");
    };
    let copied = crate::store::migrate::sqlite_to_postgres(&a.data_dir, url.expose()).await?;
    for (table, rows) in copied {
        println!("{table}: {rows} rows copied");
    }
    println!(
        "done: start hookd with HOOKD_DATABASE_URL set (the SQLite files in {} are unchanged)",
        a.data_dir.display()
    );
    Ok(())
}

/// Ctrl-C and SIGTERM, caught from the moment this is made.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn catch() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn cancel_on_signal(mut signals: Signals, shutdown: CancellationToken) {
    signals.recv().await;
    tracing::info!("shutting down: finishing in-flight requests");
    shutdown.cancel();
}
