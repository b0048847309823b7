//! Running triggers. The engine holds a lease on each trigger it runs (renewed every 5 s, lapsing
//! after 15 s: with several instances on PostgreSQL, each trigger, and so each run, belongs to
//! one). For a trigger it holds, a worker follows the store from the trigger's cursor, queues a
//! run for the events that match (one each, or a batch per debounce window), and starts due runs
//! in id order, at most `concurrency` at once. Every step is recorded before it is taken, so a
//! run interrupted by a crash is queued again, with the same id, when its trigger is next taken.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::attempt;
use super::spec::{Action, Trigger};
use crate::event::Page;
use crate::store::Store;
use crate::store::triggers::TriggerState;
use crate::wait::Follow;

/// How long a lease lasts without renewal; renewed every third of it.
const LEASE: Duration = Duration::from_secs(15);

/// The least time between two reads of new events by one trigger: under a stream of webhooks a
/// trigger reads them in batches, a few times a second, not once per commit (runs start at most
/// this much later; docs/PERFORMANCE.md has what it saves).
const READ_GAP: Duration = Duration::from_millis(100);

/// How often a worker moves its stored cursor over events that matched nothing.
const CURSOR_EVERY: Duration = Duration::from_secs(5);

/// What the workers share.
pub struct Engine {
    /// What each attempt needs (the store among it).
    pub context: Arc<attempt::Context>,
    pub owner: String,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, mcp_url: String) -> Arc<Self> {
        Arc::new(Self {
            context: Arc::new(attempt::Context::new(store, mcp_url)),
            owner: format!("hookd-{}", crate::oauth::random(12)),
        })
    }

    fn store(&self) -> &Arc<dyn Store> {
        &self.context.store
    }

    /// Runs `triggers` until `shutdown`; then starts nothing more, lets running runs finish
    /// within `grace`, kills what is left (its runs are retried after a restart), and gives up
    /// the leases. A trigger new to the store starts after `newest` (see [`newest`]).
    pub async fn run(
        self: Arc<Self>,
        triggers: Vec<Arc<Trigger>>,
        newest: i64,
        shutdown: CancellationToken,
        grace: Duration,
    ) {
        let wanted: Vec<(String, i64)> = triggers
            .iter()
            .map(|t| (t.name.clone(), if t.from_beginning { 0 } else { newest }))
            .collect();
        let stop = CancellationToken::new();
        let mut workers: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
        let mut tick = tokio::time::interval(LEASE / 3);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => break,
            }
            let until = Utc::now() + LEASE;
            let held = match self
                .store()
                .claim_triggers(wanted.clone(), self.owner.clone(), until)
                .await
            {
                Ok(held) => held,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the triggers' leases; will retry");
                    continue;
                }
            };
            let names: HashSet<&str> = held.iter().map(|s| s.name.as_str()).collect();
            workers.retain(|name, w| {
                let keep = names.contains(name.as_str()) && !w.is_finished();
                if !keep {
                    w.abort();
                }
                keep
            });
            for state in held {
                let Some(trigger) = triggers.iter().find(|t| t.name == state.name) else {
                    continue;
                };
                if workers.contains_key(&state.name) {
                    continue;
                }
                let worker = Worker {
                    engine: self.clone(),
                    trigger: trigger.clone(),
                    stop: stop.child_token(),
                };
                workers.insert(state.name.clone(), tokio::spawn(worker.work(state)));
            }
        }
        stop.cancel();
        let all = futures_util::future::join_all(workers.values_mut());
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!(
                "trigger runs still going at shutdown were killed; they run again after the restart"
            );
            for w in workers.values() {
                w.abort();
            }
        }
        if let Err(e) = self.store().release_triggers(self.owner.clone()).await {
            tracing::warn!(error = %e, "cannot give up the triggers' leases");
        }
    }
}

/// The newest stored event's id: read before hookd takes webhooks, so a trigger configured now
/// starts with the first event this hookd stores.
pub async fn newest(store: &dyn Store) -> Result<i64, crate::store::StoreError> {
    let events = store.query(Default::default(), Page::Newest(1)).await?;
    Ok(events.last().map_or(0, |e| e.id))
}

/// One trigger's loop, on the instance holding it.
struct Worker {
    engine: Arc<Engine>,
    trigger: Arc<Trigger>,
    stop: CancellationToken,
}

/// A matched event not yet in a run.
struct Pending {
    id: i64,
    /// When its debounce window closes.
    due: Instant,
    /// Its JSON's length, as the run's input will hold it.
    size: usize,
}

/// The most input one batched run gets (a single event may be larger: it goes alone), so a
/// sender of large events cannot make one run hold `batch_max` of them in memory.
pub const MAX_RUN_INPUT: usize = 16 << 20;

/// How many of the first `pending` go to the next run: up to `batch_max`, and up to
/// [`MAX_RUN_INPUT`] bytes (at least one).
fn batch_len(pending: &VecDeque<Pending>, batch_max: usize) -> usize {
    let mut bytes = 0;
    let mut n = 0;
    for p in pending.iter().take(batch_max) {
        if n > 0 && bytes + p.size > MAX_RUN_INPUT {
            break;
        }
        bytes += p.size;
        n += 1;
    }
    n
}

impl Worker {
    async fn work(self, state: TriggerState) {
        let t = &self.trigger;
        if !self.enabled(&state).await {
            // Holds the lease, doing nothing, until hookd stops.
            self.stop.cancelled().await;
            return;
        }
        let store = self.engine.store();
        let mut follow = Follow::new(store.clone(), t.filter(), state.cursor).batches_of(100);
        let mut pending: VecDeque<Pending> = VecDeque::new();
        let mut saved = state.cursor;
        let mut saved_at = Instant::now();
        let mut runs: JoinSet<attempt::Done> = JoinSet::new();
        let mut active: HashSet<i64> = HashSet::new();
        let mut started: VecDeque<Instant> = VecDeque::new();
        // The next attempt of a run that failed here.
        let mut retry_at: Option<Instant> = None;
        // When max_per_hour lets the next run start, while it holds one back.
        let mut held_back: Option<Instant> = None;
        // Due runs are looked for when something may have changed (a run queued or ended, a
        // timer), and every 5 s for what other instances and commands did; not at every read.
        let mut look = true;
        let mut look_at = Instant::now();
        loop {
            if self.stop.is_cancelled() {
                break;
            }
            if retry_at.is_some_and(|at| at <= Instant::now()) {
                (retry_at, look) = (None, true);
            }
            let read_at = Instant::now();
            if let Err(e) = self.read(&mut follow, &mut pending).await {
                tracing::warn!(trigger = %t.name, error = %e, "a trigger cannot read events; will retry");
            }
            match self.enqueue(&follow, &mut pending).await {
                Ok(Some(cursor)) => (saved, saved_at, look) = (cursor, Instant::now(), true),
                Ok(None) => {}
                Err(Lost) => break,
            }
            if pending.is_empty() && follow.cursor() > saved && saved_at.elapsed() >= CURSOR_EVERY {
                let (name, owner) = (t.name.clone(), self.engine.owner.clone());
                match store.trigger_cursor(name, owner, follow.cursor()).await {
                    Ok(true) => (saved, saved_at) = (follow.cursor(), Instant::now()),
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(trigger = %t.name, error = %e, "cannot save a trigger's cursor")
                    }
                }
            }
            if look || Instant::now() >= look_at {
                let capped = self.start_due(&mut runs, &mut active, &mut started).await;
                if capped.is_some() && capped != held_back {
                    let wait = capped.map_or(0, |at| (at - Instant::now()).as_secs());
                    tracing::info!(trigger = %t.name, next_in_s = wait, "trigger reached its max_per_hour: its next run waits");
                }
                held_back = capped;
                look = false;
                look_at = Instant::now() + LEASE / 3;
                if let Some(at) = capped {
                    look_at = look_at.min(at);
                }
            }
            let next = [pending.front().map(|p| p.due), Some(look_at), retry_at]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or_else(Instant::now);
            tokio::select! {
                _ = follow.changed(), if pending.len() < t.batch_max => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(read_at + READ_GAP) => {}
                        _ = self.stop.cancelled() => {}
                    }
                }
                Some(done) = runs.join_next(), if !runs.is_empty() => {
                    look = true;
                    let Ok(done) = done else { continue };
                    active.remove(&done.run);
                    if let Some(at) = done.retry_at {
                        retry_at = Some(retry_at.map_or(at, |r| r.min(at)));
                    }
                    if done.gone {
                        self.stop.cancel();
                    }
                }
                _ = tokio::time::sleep_until(next) => look = true,
                _ = self.stop.cancelled() => {}
            }
        }
        // Stopping: what runs finishes (the engine bounds how long it may take).
        while runs.join_next().await.is_some() {}
    }

    /// A trigger stopped by a 410 stays stopped while its URL is the same; a new URL starts it
    /// again.
    async fn enabled(&self, state: &TriggerState) -> bool {
        let Some(why) = &state.disabled else {
            return true;
        };
        let same = match &self.trigger.action {
            Action::Post { url, .. } => why.contains(url.as_str()),
            Action::Run(_) => false,
        };
        if same {
            tracing::warn!(trigger = %state.name, why = %why, "trigger stays disabled: change its url to start it again");
            return false;
        }
        let cleared = (self.engine.store())
            .disable_trigger(state.name.clone(), None)
            .await;
        cleared.is_ok()
    }

    /// Reads what committed after the cursor, keeping the events this trigger takes.
    async fn read(
        &self,
        follow: &mut Follow,
        pending: &mut VecDeque<Pending>,
    ) -> Result<(), crate::store::StoreError> {
        let t = &self.trigger;
        for _ in 0..10 {
            if pending.len() >= t.batch_max {
                break;
            }
            let batch = follow.next_batch().await?;
            let Some(last) = batch.last().map(|e| e.id) else {
                break;
            };
            let now = Instant::now();
            for e in batch.iter().filter(|e| t.takes(e)) {
                // A backlog (events older than the window, as after a restart) is due at once.
                let age = (Utc::now() - e.received_at).to_std().unwrap_or_default();
                let window = t.debounce.unwrap_or_default();
                let size = serde_json::to_vec(e).map_or(0, |json| json.len());
                pending.push_back(Pending {
                    id: e.id,
                    due: now + window.saturating_sub(age),
                    size,
                });
            }
            follow.handled(last);
        }
        Ok(())
    }

    /// Queues runs for the pending events that are due; the cursor stored with the last one.
    async fn enqueue(
        &self,
        follow: &Follow,
        pending: &mut VecDeque<Pending>,
    ) -> Result<Option<i64>, Lost> {
        let t = &self.trigger;
        let mut cursor = None;
        while let Some(first) = pending.front() {
            let n = batch_len(pending, t.batch_max);
            if n == pending.len() && n < t.batch_max && first.due > Instant::now() {
                break;
            }
            let ids: Vec<i64> = pending.iter().take(n).map(|p| p.id).collect();
            let after = pending.get(n).map_or(follow.cursor(), |p| p.id - 1);
            let queued = (self.engine.store())
                .enqueue_trigger_run(
                    t.name.clone(),
                    self.engine.owner.clone(),
                    ids.clone(),
                    after,
                )
                .await;
            match queued {
                Ok(Some(run)) => {
                    tracing::debug!(trigger = %t.name, run, events = ?ids, "trigger run queued");
                    metrics::counter!("hookd_trigger_runs_queued_total", "trigger" => t.name.clone())
                        .increment(1);
                    pending.drain(..n);
                    cursor = Some(after);
                }
                Ok(None) => return Err(Lost),
                Err(e) => {
                    tracing::warn!(trigger = %t.name, error = %e, "cannot queue a trigger run; will retry");
                    break;
                }
            }
        }
        Ok(cursor)
    }

    /// Starts due runs up to `concurrency` (and `max_per_hour`); when the hourly cap holds one
    /// back, the instant it allows the next.
    async fn start_due(
        &self,
        runs: &mut JoinSet<attempt::Done>,
        active: &mut HashSet<i64>,
        started: &mut VecDeque<Instant>,
    ) -> Option<Instant> {
        let t = &self.trigger;
        if self.stop.is_cancelled() || active.len() >= t.concurrency {
            return None;
        }
        let store = self.engine.store();
        let due = match store
            .due_trigger_runs(t.name.clone(), Utc::now(), t.concurrency * 2)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(trigger = %t.name, error = %e, "cannot read a trigger's runs");
                return None;
            }
        };
        let hour = Duration::from_secs(3600);
        for run in due {
            if active.contains(&run.id) {
                continue;
            }
            if active.len() >= t.concurrency {
                break;
            }
            while started.front().is_some_and(|s| s.elapsed() >= hour) {
                started.pop_front();
            }
            if let Some(cap) = t.max_per_hour
                && started.len() >= cap as usize
            {
                return started.front().map(|s| *s + hour);
            }
            let attempt = match store
                .start_trigger_run(run.id, self.engine.owner.clone())
                .await
            {
                Ok(Some(n)) => n,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(trigger = %t.name, error = %e, "cannot start a trigger run");
                    return None;
                }
            };
            started.push_back(Instant::now());
            active.insert(run.id);
            let (context, trigger) = (self.engine.context.clone(), t.clone());
            runs.spawn(async move { attempt::attempt(&context, &trigger, run, attempt).await });
        }
        None
    }
}

/// This instance no longer holds the trigger.
struct Lost;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_stops_at_its_count_or_its_bytes_and_takes_at_least_one() {
        let of = |sizes: &[usize]| -> VecDeque<Pending> {
            let now = Instant::now();
            (sizes.iter().enumerate())
                .map(|(i, &size)| Pending {
                    id: i as i64,
                    due: now,
                    size,
                })
                .collect()
        };
        assert_eq!(batch_len(&of(&[10, 10, 10]), 2), 2);
        assert_eq!(batch_len(&of(&[10, 10, 10]), 100), 3);
        let big = MAX_RUN_INPUT / 2 + 1;
        assert_eq!(batch_len(&of(&[big, big, big]), 100), 1);
        assert_eq!(batch_len(&of(&[MAX_RUN_INPUT * 2, 1]), 100), 1, "alone");
        assert_eq!(batch_len(&of(&[]), 100), 0);
    }
}
