//! Triggers: `[[triggers]]` in `hookd.toml` run a program or call a URL for the events they
//! match, durably (see `engine` for how, `store::triggers` for what is recorded).

pub mod attempt;
pub mod command;
pub mod engine;
pub mod post;
pub mod spec;

pub use spec::Trigger;

/// Queues a failed or dead run again (the tool, `hookd triggers retry` and the dashboard's Retry);
/// when it cannot be, why, in words.
pub async fn retry(
    store: &dyn crate::store::Store,
    id: i64,
) -> Result<Result<(), String>, crate::store::StoreError> {
    if store.retry_trigger_run(id).await? {
        return Ok(Ok(()));
    }
    Ok(Err(match store.trigger_run(id).await? {
        None => format!("there is no trigger run {id}"),
        Some(r) => format!(
            "run {id} is {}: only a failed or dead run is retried",
            r.status.as_str()
        ),
    }))
}
