//! `hookd triggers`: the triggers `hookd.toml` declares and where each stands; `runs` lists what
//! they did, `retry ID` runs a failed or dead run again, `test NAME --event ID` runs a trigger
//! once against a stored event (its output shown, nothing recorded).

use std::io::Write;

use super::{SourcesArgs, StoreArgs};
use crate::printable::printable;
use crate::store::triggers::{RunQuery, RunStatus, TriggerRun};
use crate::triggers::spec::Trigger;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TriggersArgs {
    #[command(subcommand)]
    pub action: Option<TriggerCommand>,
    /// One JSON object per line instead of a readable line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub sources: SourcesArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum TriggerCommand {
    /// What the triggers did, newest first.
    Runs(RunsArgs),
    /// Run a failed or dead run again (the running hookd starts it within 5 s).
    Retry {
        /// The run's id, as `hookd triggers runs` lists it.
        id: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Run a trigger once against a stored event, showing its output; nothing is recorded.
    Test {
        /// The trigger's name in hookd.toml.
        name: String,
        /// The stored event to hand it.
        #[arg(long, value_name = "ID")]
        event: i64,
        /// HOOKD_MCP_URL for the run.
        #[arg(
            long,
            env = "HOOKD_MCP_PUBLIC_URL",
            default_value = "http://127.0.0.1:8765/mcp"
        )]
        mcp_url: String,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        sources: SourcesArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// Only this trigger's runs.
    #[arg(long)]
    pub trigger: Option<String>,
    /// Only runs in this status: queued, running, succeeded, failed or dead.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<RunStatus>,
    /// At most this many runs.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// One JSON object per line, with the run's kept output.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn parse_status(s: &str) -> Result<RunStatus, String> {
    RunStatus::parse(s).ok_or_else(|| "queued, running, succeeded, failed or dead".into())
}

fn triggers(sources: &SourcesArgs) -> anyhow::Result<Vec<Trigger>> {
    let path = crate::config::sources_file(sources.config.as_deref());
    crate::triggers::spec::load(path.as_deref(), |v| std::env::var(v).ok())
        .map_err(anyhow::Error::msg)
}

pub async fn run(a: TriggersArgs) -> anyhow::Result<()> {
    match a.action {
        None => list(a.json, &a.store, &a.sources).await,
        Some(TriggerCommand::Runs(r)) => runs(r).await,
        Some(TriggerCommand::Retry { id, store }) => {
            let store = store.open().await?;
            crate::triggers::retry(store.as_ref(), id)
                .await?
                .map_err(anyhow::Error::msg)?;
            eprintln!("hookd triggers: run {id} is queued again");
            Ok(())
        }
        Some(TriggerCommand::Test {
            name,
            event,
            mcp_url,
            store,
            sources,
        }) => test(&name, event, mcp_url, &store, &sources).await,
    }
}

async fn list(json: bool, store: &StoreArgs, sources: &SourcesArgs) -> anyhow::Result<()> {
    let declared = triggers(sources)?;
    let states = store.open().await?.trigger_states().await?;
    let mut out = anstream::stdout();
    if declared.is_empty() && !json {
        eprintln!("hookd triggers: hookd.toml declares no [[triggers]]");
    }
    for t in &declared {
        let state = states.iter().find(|(s, _)| s.name == t.name);
        let counts: serde_json::Map<String, serde_json::Value> = state
            .map(|(_, c)| {
                c.iter()
                    .map(|(s, n)| (s.as_str().into(), (*n).into()))
                    .collect()
            })
            .unwrap_or_default();
        let does = t.describe();
        let disabled = state.and_then(|(s, _)| s.disabled.clone());
        let line = if json {
            serde_json::json!({
                "name": t.name, "does": does, "cursor": state.map(|(s, _)| s.cursor),
                "disabled": disabled, "runs": counts,
            })
            .to_string()
        } else {
            let runs: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
            let standing = match (&disabled, state) {
                (Some(why), _) => format!("disabled: {why}"),
                (None, None) => "not started yet".into(),
                (None, Some(_)) if runs.is_empty() => "no runs yet".into(),
                (None, Some(_)) => runs.join(", "),
            };
            format!("{}  {does}  ({standing})", t.name)
        };
        if writeln!(out, "{line}").is_err() {
            return Ok(());
        }
    }
    Ok(())
}

async fn runs(a: RunsArgs) -> anyhow::Result<()> {
    let store = a.store.open().await?;
    let query = RunQuery {
        trigger: a.trigger,
        status: a.status,
        since: None,
        before_id: None,
        limit: a.limit as usize,
    };
    let runs = store.trigger_runs(query).await?;
    if runs.is_empty() && !a.json {
        eprintln!("hookd triggers: no runs");
    }
    let mut out = anstream::stdout();
    for r in &runs {
        let line = if a.json {
            serde_json::to_string(r)?
        } else {
            readable(r)
        };
        if writeln!(out, "{line}").is_err() {
            return Ok(());
        }
    }
    Ok(())
}

fn readable(r: &TriggerRun) -> String {
    let ended = match (r.exit_code, r.http_status) {
        (Some(c), _) => format!(" exit {c}"),
        (None, Some(s)) => format!(" HTTP {s}"),
        _ => String::new(),
    };
    let took = r.duration_ms.map_or(String::new(), |ms| format!(" {ms}ms"));
    let error = r
        .error
        .as_deref()
        .map_or(String::new(), |e| format!(" ({})", printable(e)));
    format!(
        "{}  {}  {}  {}  events {}  attempt {}{ended}{took}{error}",
        r.id,
        r.created_at.format("%Y-%m-%d %H:%M:%S"),
        printable(&r.trigger),
        r.status.as_str(),
        crate::store::triggers::ids_text(&r.event_ids),
        r.attempts,
    )
}

async fn test(
    name: &str,
    event: i64,
    mcp_url: String,
    store: &StoreArgs,
    sources: &SourcesArgs,
) -> anyhow::Result<()> {
    let declared = triggers(sources)?;
    let Some(trigger) = declared.into_iter().find(|t| t.name == name) else {
        anyhow::bail!(
            "hookd.toml declares no trigger \"{}\" (see `hookd triggers`)",
            printable(name)
        );
    };
    let store = store.open().await?;
    let Some(found) = store.get(event).await? else {
        anyhow::bail!("there is no stored event {event}");
    };
    let other_source = trigger.source.as_ref().is_some_and(|s| *s != found.source);
    if other_source || !trigger.takes(&found) {
        eprintln!(
            "hookd triggers: note: {} would not take event {event} (its source, type or verification does not match); running it anyway",
            trigger.name
        );
    }
    let context = crate::triggers::attempt::Context::new(store, mcp_url);
    let (ended, http_status, _) =
        crate::triggers::attempt::execute(&context, &trigger, 0, 1, &[found]).await;
    print!("{}", ended.output);
    let how = match (ended.exit_code, http_status, &ended.error) {
        (_, _, Some(e)) => e.clone(),
        (Some(c), _, _) => format!("exit {c}"),
        (None, Some(s), _) => format!("HTTP {s}"),
        _ => "ended".into(),
    };
    if ended.success {
        eprintln!("hookd triggers: {name} succeeded ({how})");
        Ok(())
    } else {
        anyhow::bail!("{name} failed ({how})")
    }
}
