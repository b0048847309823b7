//! One attempt of a run: its events read from the store, handed to the program or the URL, and
//! the outcome recorded (succeeded; failed with the time of the next attempt; dead when none is
//! left), logged and counted.

use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use super::command::{self, Ended};
use super::post;
use super::spec::{Action, Trigger};
use crate::event::Event;
use crate::store::triggers::{RunEnd, RunStatus, TriggerRun};

/// What an attempt needs from hookd: the store, the MCP URL runs are told, an HTTP client.
pub struct Context {
    pub store: std::sync::Arc<dyn crate::store::Store>,
    /// `HOOKD_MCP_URL` for the runs.
    pub mcp_url: String,
    pub client: reqwest::Client,
}

impl Context {
    pub fn new(store: std::sync::Arc<dyn crate::store::Store>, mcp_url: String) -> Self {
        Self {
            store,
            mcp_url,
            client: post::client(),
        }
    }
}

/// What the worker learns when an attempt ends.
pub struct Done {
    pub run: i64,
    /// When the failed run's next attempt is due.
    pub retry_at: Option<Instant>,
    /// The URL answered 410: the trigger stops.
    pub gone: bool,
}

/// The events of a run, in id order (events removed by retention since are left out).
pub async fn events_of(
    store: &dyn crate::store::Store,
    ids: &[i64],
) -> Result<Vec<Event>, crate::store::StoreError> {
    let mut events = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(e) = store.get(*id).await? {
            events.push(e);
        }
    }
    Ok(events)
}

/// The run's stdin or request body: the event, or with `debounce` an array of them.
pub fn input(trigger: &Trigger, events: &[Event]) -> Vec<u8> {
    let json = match (trigger.debounce, events) {
        (None, [one]) => serde_json::to_vec(one),
        _ => serde_json::to_vec(events),
    };
    json.unwrap_or_default()
}

/// The environment a run gets (beside `PATH` and `HOME`).
pub fn environment(
    trigger: &Trigger,
    run: i64,
    attempt: i32,
    events: &[Event],
    mcp_url: &str,
) -> Vec<(String, String)> {
    let distinct = |f: fn(&Event) -> &str| {
        let mut seen: Vec<&str> = Vec::new();
        for e in events {
            if !seen.contains(&f(e)) {
                seen.push(f(e));
            }
        }
        seen.join(",")
    };
    let ids: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
    let mut env: Vec<(String, String)> = trigger
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_owned()))
        .collect();
    env.extend([
        ("HOOKD_TRIGGER".into(), trigger.name.clone()),
        ("HOOKD_RUN_ID".into(), run.to_string()),
        ("HOOKD_EVENT_IDS".into(), ids.join(",")),
        ("HOOKD_SOURCE".into(), distinct(|e| &e.source)),
        ("HOOKD_TYPE".into(), distinct(|e| &e.event_type)),
        ("HOOKD_ATTEMPT".into(), attempt.to_string()),
        ("HOOKD_MCP_URL".into(), mcp_url.to_owned()),
    ]);
    env
}

/// Hands the events to the trigger's program or URL once.
pub async fn execute(
    context: &Context,
    trigger: &Trigger,
    run: i64,
    attempt: i32,
    events: &[Event],
) -> (Ended, Option<i32>, bool) {
    let body = input(trigger, events);
    match &trigger.action {
        Action::Run(argv) => {
            let env = environment(trigger, run, attempt, events, &context.mcp_url);
            let ended = command::run(argv, &env, body, trigger.timeout).await;
            (ended, None, false)
        }
        Action::Post { url, secret } => {
            let p = post::post(
                &context.client,
                url,
                secret.as_ref(),
                run,
                body,
                trigger.timeout,
            )
            .await;
            (p.ended, p.http_status, p.gone)
        }
    }
}

pub async fn attempt(context: &Context, trigger: &Trigger, run: TriggerRun, attempt: i32) -> Done {
    let clock = Instant::now();
    let (ended, http_status, gone) = match events_of(context.store.as_ref(), &run.event_ids).await {
        Ok(events) if events.is_empty() => (
            Ended {
                success: false,
                exit_code: None,
                output: String::new(),
                error: Some("its events are no longer stored (retention removed them)".into()),
            },
            None,
            false,
        ),
        Ok(events) => execute(context, trigger, run.id, attempt, &events).await,
        Err(e) => (
            Ended {
                success: false,
                exit_code: None,
                output: String::new(),
                error: Some(format!("cannot read its events: {e}")),
            },
            None,
            false,
        ),
    };
    let took = clock.elapsed();
    let wait = (!ended.success && !gone)
        .then(|| trigger.retries.get(attempt.max(1) as usize - 1).copied())
        .flatten();
    let status = match (ended.success, wait) {
        (true, _) => RunStatus::Succeeded,
        (false, Some(_)) => RunStatus::Failed,
        (false, None) => RunStatus::Dead,
    };
    let end = RunEnd {
        status,
        next_attempt_at: wait.map(|w| Utc::now() + w),
        exit_code: ended.exit_code,
        http_status,
        duration_ms: took.as_millis() as i64,
        output: ended.output,
        error: ended.error,
    };
    log(trigger, &run, attempt, &end, wait);
    if let Err(e) = context.store.finish_trigger_run(run.id, end).await {
        tracing::warn!(trigger = %trigger.name, run = run.id, error = %e, "cannot record a trigger run's end; it runs again");
    }
    if gone {
        let why = match &trigger.action {
            Action::Post { url, .. } => format!("{url} answered 410 Gone"),
            Action::Run(_) => String::new(),
        };
        tracing::warn!(trigger = %trigger.name, why = %why, "trigger disabled: nothing more is sent to its url until it changes");
        let _ = (context.store)
            .disable_trigger(trigger.name.clone(), Some(why))
            .await;
    }
    Done {
        run: run.id,
        retry_at: wait.map(|w| Instant::now() + w),
        gone,
    }
}

/// The run's log line, and its count and duration in `/metrics`.
fn log(
    trigger: &Trigger,
    run: &TriggerRun,
    attempt: i32,
    end: &RunEnd,
    retry_in: Option<Duration>,
) {
    let name = trigger.name.clone();
    let status = end.status;
    metrics::counter!("hookd_trigger_runs_total", "trigger" => name.clone(), "status" => status.as_str())
        .increment(1);
    metrics::histogram!("hookd_trigger_run_seconds", "trigger" => name)
        .record(end.duration_ms as f64 / 1000.0);
    let events = crate::store::triggers::ids_text(&run.event_ids);
    let ms = end.duration_ms;
    let error = end.error.as_deref().unwrap_or("");
    let exit = end.exit_code.map_or(String::new(), |c| c.to_string());
    let http = end.http_status.map_or(String::new(), |s| s.to_string());
    let retry = retry_in.map_or(String::new(), |d| format!("{}s", d.as_secs()));
    let id = run.id;
    match status {
        RunStatus::Succeeded => {
            tracing::info!(trigger = %trigger.name, run = id, attempt, events = %events, ms, "trigger run succeeded")
        }
        RunStatus::Failed => {
            tracing::warn!(trigger = %trigger.name, run = id, attempt, events = %events, ms, exit = %exit, http = %http, error = %error, retry_in = %retry, "trigger run failed; it will be retried")
        }
        _ => {
            tracing::warn!(trigger = %trigger.name, run = id, attempt, events = %events, ms, exit = %exit, http = %http, error = %error, "trigger run dead: no attempt left (retry it with `hookd triggers retry` or the retry_trigger_run tool)")
        }
    }
}
