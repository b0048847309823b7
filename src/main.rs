//! The `hookd` binary: parse the command line, run it, map failure to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

// Each webhook allocates and frees many small values on several threads; mimalloc's per-thread
// pages cost less than glibc's arenas there (see docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process (not the machine): mimalloc asks for them
/// for its arenas, and each 2 MiB region that a few waiting requests touched was then backed
/// whole, about 160 KiB per waiter rather than about 95 (docs/PERFORMANCE.md). Ingest is not
/// slower without them. A kernel that refuses changes nothing else.
fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

fn main() -> ExitCode {
    without_huge_pages();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Err(e) = hookd::cli::load_env_file(&args) {
        eprintln!("hookd: {}", message(&e));
        return ExitCode::FAILURE;
    }
    let cli = hookd::cli::Cli::parse_from(args);
    // Logs go to stderr only: in `hookd stdio`, stdout carries the MCP protocol.
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter =
        EnvFilter::try_from_env("HOOKD_LOG").unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"));
    let logs = tracing_subscriber::registry()
        .with(filter)
        .with(hookd::quiet::Hangups);
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    if cli.log_format == "json" {
        logs.with(lines.json()).init();
    } else {
        logs.with(lines.with_ansi(std::io::stderr().is_terminal()))
            .init();
    }
    match hookd::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookd: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each once: most messages already include their cause's text, and
/// repeating it would print the same words two or three times.
fn message(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    text
}
