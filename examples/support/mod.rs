//! What the bench examples share: starting `hookd serve` as a child process.
#![allow(dead_code)] // each example uses part of it

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `hookd serve` on free loopback ports, with `extra` arguments and environment.
pub struct Serve {
    pub child: Child,
    pub webhook: String,
    pub mcp: String,
}

/// Starts `binary serve` and waits (up to 30 s) for the addresses it logs; its stderr is drained
/// afterwards so it never blocks on a full pipe.
pub fn serve(binary: &str, extra: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Serve> {
    let mut child = Command::new(binary)
        .args([
            "serve",
            "--webhook-addr",
            "127.0.0.1:0",
            "--mcp-addr",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env("HOOKD_LOG", "warn,hookd::app=info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let field = |k: &str| {
                line.split(k)
                    .nth(1)?
                    .split_whitespace()
                    .next()
                    .map(str::to_owned)
            };
            if let (Some(w), Some(m)) = (field("webhook_addr="), field("mcp_addr="))
                && let Some(tx) = tx.take()
            {
                let _ = tx.send((w, m));
            }
        }
    });
    let (webhook, mcp) = rx.recv_timeout(Duration::from_secs(30))?;
    Ok(Serve {
        child,
        webhook,
        mcp,
    })
}
