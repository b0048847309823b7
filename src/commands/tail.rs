//! `hookd tail`: follow new events as they are stored, one line each (or one JSON object per line
//! with `--json`), from the store, or with `--url` from a running hookd over HTTP (the dashboard's
//! live stream). Colour only on a terminal, and never with `NO_COLOR`.

use std::io::Write;
use std::time::Duration;

use anstyle::{AnsiColor, Style};

use super::{Selection, StoreArgs};
use crate::dashboard::api::Row;
use crate::printable::printable;
use crate::secret::Secret;
use crate::wait::Follow;

#[derive(Debug, clap::Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// One JSON object per event instead of a readable line.
    #[arg(long)]
    pub json: bool,
    /// Print this many of the newest stored events first (default: only new ones).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub last: u32,
    /// Follow a running hookd over HTTP instead of reading its store: its MCP listener, e.g.
    /// http://127.0.0.1:8765 (with `--json`, lines then carry no payload).
    #[arg(long)]
    pub url: Option<String>,
    /// The MCP token, when that hookd has one.
    #[arg(long, env = "HOOKD_MCP_TOKEN", hide_env_values = true, value_parser = crate::config::parse_secret)]
    pub token: Option<Secret>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// How often a follower looks at the store even without a wake-up (PostgreSQL instances that
/// wake each other through Redis send no `NOTIFY` a tail could hear).
pub const RECHECK: Duration = Duration::from_secs(2);

pub async fn run(a: TailArgs) -> anyhow::Result<()> {
    if let Some(url) = &a.url {
        return over_http(&a, url.trim_end_matches('/')).await;
    }
    let store = a.store.open().await?;
    let newest = store.bus().newest();
    let start = match a.last {
        0 => newest,
        n => {
            let page = crate::event::Page::Newest(n as usize);
            let recent = store.query(a.selection.filter(), page).await?;
            recent.first().map_or(newest, |e| e.id - 1)
        }
    };
    eprintln!("hookd tail: following events after #{start} (Ctrl-C stops)");
    let mut follow = Follow::new(store, a.selection.filter(), start);
    let mut out = anstream::stdout();
    loop {
        for e in follow.next_batch().await? {
            let line = if a.json {
                serde_json::to_string(&e)?
            } else {
                line(&Row::from(&e))
            };
            if closed(writeln!(out, "{line}"))? {
                return Ok(());
            }
            follow.handled(e.id);
        }
        if closed(out.flush())? {
            return Ok(());
        }
        tokio::select! {
            _ = follow.changed() => {}
            _ = tokio::time::sleep(RECHECK) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = stdout_closed() => return Ok(()),
        }
    }
}

/// Resolves once the reader of standard output has gone (`hookd tail | head -2` after `head`
/// exited), so a tail waiting for the next event ends at once instead of at its next write.
/// Never resolves where that cannot be told (a file, a terminal that stays open).
async fn stdout_closed() {
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;
    // A pipe whose reader closed reports an error condition on the write end. (Deprecated in
    // favour of an `unsafe` form because an arbitrary fd could be closed under the reactor; fd 1
    // stays open for the whole process, so the safe form is sound here.)
    #[allow(deprecated)]
    let registered = AsyncFd::with_interest(std::io::stdout(), Interest::ERROR);
    match registered {
        Ok(fd) => {
            let _ = fd.ready(Interest::ERROR).await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

/// Whether a write failed because the reader went away (`hookd tail | head`): the end, not an
/// error. Any other failure is one.
pub fn closed(written: std::io::Result<()>) -> std::io::Result<bool> {
    match written {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(true),
        Err(e) => Err(e),
    }
}

/// Follows `/api/stream` of the hookd at `base` (server-sent events, one row each).
async fn over_http(a: &TailArgs, base: &str) -> anyhow::Result<()> {
    use anyhow::{Context, bail};
    let client = crate::outbound::client_builder()
        .build()
        .context("cannot build an HTTP client")?;
    let get = |path: &str, extra: &[(&str, &str)]| {
        let mut url = reqwest::Url::parse(&format!("{base}{path}"))
            .with_context(|| format!("{base} is not a URL"))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = &a.selection.source {
                q.append_pair("source", s);
            }
            if let Some(t) = &a.selection.event_type {
                q.append_pair("type", t);
            }
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        let req = client.get(url);
        anyhow::Ok(match &a.token {
            Some(t) => req.bearer_auth(t.expose()),
            None => req,
        })
    };
    let mut out = anstream::stdout();
    let print = |out: &mut anstream::AutoStream<std::io::Stdout>, row: &Row| {
        let text = if a.json {
            serde_json::to_string(row).unwrap_or_default()
        } else {
            line(row)
        };
        closed(writeln!(out, "{text}").and_then(|()| out.flush()))
    };
    let mut resp = get("/api/stream", &[])?
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    match resp.status().as_u16() {
        200 => {}
        401 => bail!("{base} needs its MCP token: --token or HOOKD_MCP_TOKEN"),
        s => bail!("{base}/api/stream answered {s}: is it a hookd's MCP address?"),
    }
    if a.last > 0 {
        let limit = a.last.to_string();
        let recent = get("/api/events", &[("limit", &limit)])?.send().await?;
        let text = recent.text().await?;
        let rows: Vec<Row> = serde_json::from_str(&text).context("a list of events")?;
        for row in rows.iter().rev() {
            if print(&mut out, row)? {
                return Ok(());
            }
        }
    }
    eprintln!("hookd tail: following {base} (Ctrl-C stops)");
    let mut buffer = String::new();
    loop {
        let chunk = tokio::select! {
            chunk = resp.chunk() => chunk?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = stdout_closed() => return Ok(()),
        };
        let Some(chunk) = chunk else {
            bail!("{base} ended the stream (it stopped?)");
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            let data: Vec<&str> = message
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            if let Ok(row) = serde_json::from_str::<Row>(&data.join("\n"))
                && print(&mut out, &row)?
            {
                return Ok(());
            }
        }
    }
}

/// `time  source  type  subject  summary`, styled (`anstream` strips the styles where colour is
/// not wanted).
pub fn line(e: &Row) -> String {
    let dim = Style::new().dimmed();
    let source = Style::new().bold();
    let kind = Style::new().fg_color(Some(AnsiColor::Cyan.into()));
    let time = e.received_at.format("%Y-%m-%d %H:%M:%S");
    let unverified = if e.verified == Some(false) {
        " (unverified)"
    } else {
        ""
    };
    // Type, subject and summary come from the sender: no control character reaches the terminal.
    format!(
        "{dim}{time}{dim:#} {dim}#{}{dim:#} {source}{}{source:#} {kind}{}{kind:#} {} {}{unverified}",
        e.id,
        printable(&e.source),
        printable(&e.event_type),
        printable(e.subject.as_deref().unwrap_or("-")),
        printable(e.summary.as_deref().unwrap_or("")),
    )
}
