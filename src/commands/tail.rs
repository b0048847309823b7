//! `hookd tail`: follow new events as they are stored, one line each (or one JSON object per line
//! with `--json`). Colour only on a terminal, and never with `NO_COLOR`.

use std::io::Write;
use std::time::Duration;

use anstyle::{AnsiColor, Style};

use super::{Selection, StoreArgs};
use crate::event::Event;
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
    #[command(flatten)]
    pub store: StoreArgs,
}

/// How often a follower looks at the store even without a wake-up (PostgreSQL instances that
/// wake each other through Redis send no `NOTIFY` a tail could hear).
pub const RECHECK: Duration = Duration::from_secs(2);

pub async fn run(a: TailArgs) -> anyhow::Result<()> {
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
                line(&e)
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
        }
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

/// `time  source  type  subject  summary`, styled (`anstream` strips the styles where colour is
/// not wanted).
pub fn line(e: &Event) -> String {
    let dim = Style::new().dimmed();
    let source = Style::new().bold();
    let kind = Style::new().fg_color(Some(AnsiColor::Cyan.into()));
    let time = e.received_at.format("%Y-%m-%d %H:%M:%S");
    let unverified = if e.verified == Some(false) {
        " (unverified)"
    } else {
        ""
    };
    format!(
        "{dim}{time}{dim:#} {dim}#{}{dim:#} {source}{}{source:#} {kind}{}{kind:#} {} {}{unverified}",
        e.id,
        e.source,
        e.event_type,
        e.subject.as_deref().unwrap_or("-"),
        e.summary.as_deref().unwrap_or(""),
    )
}
