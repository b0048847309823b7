//! The command line: `hookd serve`, `hookd stdio`.

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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Receive webhooks and serve MCP over Streamable HTTP.
    Serve(Config),
    /// Serve MCP over stdin/stdout (for clients that launch their server); also receives
    /// webhooks unless another hookd already does.
    Stdio(Config),
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
        };
        let running = app::start(&config, mode).await?;
        let shutdown = running.shutdown_token();
        let signals = tokio::spawn(cancel_on_signal(shutdown.clone()));
        let result = running.join().await;
        signals.abort();
        tracing::info!("hookd stopped");
        Ok(result?)
    })
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
        _ = shutdown.cancelled() => return,
    }
    tracing::info!("shutting down: finishing in-flight requests");
    shutdown.cancel();
}
