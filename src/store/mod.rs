//! The store: the single source of truth for events.
//!
//! The contract every backend keeps (and `tests/it/store_contract.rs` checks):
//! - `append` returns only after the event is durably committed. The same `(source, delivery_id)`
//!   appended again, concurrently or after a restart, returns the first event's id with
//!   `duplicate: true` and stores nothing new. Events without a delivery id are never deduped.
//! - Ids only grow and are never reused, even after `prune` deletes the newest rows.
//! - A reader asking for `after_id = N` never misses an event committed later with a larger id.
//! - After a commit the store notifies its `Bus` with the new newest id.

mod callbacks;
pub mod enrolments;
pub mod migrate;
pub mod oauth;
mod postgres;
mod row;
pub mod search_text;
mod sqlite;
mod tasks;
pub mod triggers;

pub use callbacks::{Callbacks, Progress, SavedSubscription};
pub use enrolments::Enrolments;
pub use oauth::OauthStore;
pub use postgres::{Postgres, WakeUps};
pub use sqlite::Sqlite;
pub use tasks::{TaskEnd, TaskRecord, TaskState, Tasks};
pub use triggers::Triggers;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::bus::Bus;
use crate::derive::deploy::{Deployment, Push};
use crate::derive::github::Activity;
use crate::event::{
    Action, ActionTarget, Appended, Completion, Event, EventFilter, NewEvent, Page, Rejected,
};

/// The words of a search, split at white space and at NUL (no index holds one, and neither
/// SQLite's FTS5 query parser nor a PostgreSQL parameter takes one).
pub fn search_words(text: &str) -> impl Iterator<Item = &str> {
    let words = text.split(|c: char| c.is_whitespace() || c == '\0');
    words.filter(|word| !word.is_empty())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed: full disk, I/O error, corruption, locked too long.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("database error: {}", postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The database cannot be reached (or no connection freed up in time).
    #[error("database unavailable: {0}")]
    Unavailable(#[from] deadpool_postgres::PoolError),
    /// `HOOKD_DATABASE_URL` is not a PostgreSQL URL (the message never repeats the URL).
    #[error("not a PostgreSQL URL: {0}")]
    BadUrl(#[source] tokio_postgres::Error),
    /// The connection pool could not be set up.
    #[error("cannot set up the connection pool: {0}")]
    Pool(#[from] deadpool_postgres::BuildError),
    /// The store is shutting down or its writer died.
    #[error("the store is not accepting writes")]
    Closed,
    /// A group commit failed; every event in it was rolled back. Each request of the group gets
    /// the one error.
    #[error("commit failed: {0}")]
    CommitFailed(std::sync::Arc<StoreError>),
    /// Stored data that does not decode: which, and why.
    #[error("stored data is invalid: {what}: {source}")]
    Corrupt {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// The operating system refused something the store needs (a folder, a thread).
    #[error("cannot {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A reader was pointed at a folder that holds no store (readers never create one).
    #[error(
        "no hookd store in {}: nothing was ever stored there (`hookd serve --data-dir` creates one; \
         --data-dir or HOOKD_DATA_DIR say where to read)",
        .0.display()
    )]
    NoStore(std::path::PathBuf),
    /// The database's schema is newer than this hookd.
    #[error(
        "the database is at schema version {found}, newer than this hookd knows ({known}): \
         upgrade hookd"
    )]
    NewerSchema { found: i64, known: usize },
    /// A migration's target already holds events.
    #[error("the PostgreSQL database already holds {0} events: migrate into an empty one")]
    NotEmpty(i64),
}

/// What PostgreSQL said (tokio-postgres's own message for a server error is only "db error").
fn postgres_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

/// How many refused deliveries are kept.
pub const MAX_REJECTED: i64 = 1000;

/// Per-source totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SourceStats {
    pub source: String,
    pub count: i64,
    #[serde(with = "crate::time::text")]
    #[schemars(with = "String")]
    pub last_received_at: DateTime<Utc>,
}

/// How far a consumer's backlog is counted event by event (counting a million takes a while).
pub const BACKLOG_COUNT: i64 = 1_000;

impl Consumer {
    /// `counted` events after the cursor, counted up to one past `BACKLOG_COUNT`; `newest` is
    /// the newest id assigned.
    pub fn backlog(&mut self, counted: i64, newest: i64) {
        self.backlog_estimated = counted > BACKLOG_COUNT;
        self.backlog = if self.backlog_estimated {
            newest - self.cursor
        } else {
            counted
        };
    }
}

/// A durable consumer: its committed cursor and what lies beyond it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Consumer {
    pub name: String,
    /// The last event id it acknowledged; it has processed every event up to this one.
    pub cursor: i64,
    /// How many stored events have ids above the cursor (of any source or type), counted up
    /// to `BACKLOG_COUNT`; beyond that, how many ids were assigned after the cursor (an upper
    /// bound when retention deleted some), and `backlog_estimated` is true.
    pub backlog: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub backlog_estimated: bool,
    /// When the cursor last moved (RFC 3339, UTC).
    #[serde(with = "crate::time::text")]
    #[schemars(with = "String")]
    pub updated_at: DateTime<Utc>,
}

/// A full-text search: words (all must match; `word*` matches a prefix) and the usual filter.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub text: String,
    pub filter: EventFilter,
    pub limit: usize,
}

/// What a search found, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub hits: Vec<SearchHit>,
    /// The search examined `SEARCH_SCAN` matches of the words without finding `limit` that pass
    /// the filter, and stopped at this id: older matches were not examined.
    pub scan_stopped_at: Option<i64>,
}

/// How many matches of the words one filtered search examines at most, newest first.
pub const SEARCH_SCAN: usize = 5_000;

/// One event a search found, with the matching text highlighted (`**word**`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SearchHit {
    pub id: i64,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(with = "crate::time::text")]
    #[schemars(with = "String")]
    pub received_at: DateTime<Utc>,
    pub summary: Option<String>,
    /// What the event is about (a repository, a customer), as its list row shows it.
    pub subject: Option<String>,
    /// A short extract around the matches, which are wrapped in `**`.
    pub snippet: String,
}

/// Events read within a size bound.
#[derive(Debug, Clone, Default)]
pub struct Bounded {
    pub events: Vec<Event>,
    /// The bound stopped the read: more events matched than `events` holds.
    pub truncated: bool,
    /// A `where` read examined `WHERE_SCAN` events without filling the page and stopped at
    /// this id: events past it (older for `Page::Newest`, newer for `Page::Oldest`) were not
    /// examined.
    pub scan_stopped_at: Option<i64>,
    /// Stored bytes taken so far, and the most that may be.
    used: usize,
    max_bytes: usize,
}

impl Bounded {
    pub fn within(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            ..Self::default()
        }
    }

    /// Adds `event` of `size` stored bytes unless that would pass the bound (the first event is
    /// always taken). Returns false once the bound is reached.
    pub fn take(&mut self, event: Event, size: usize) -> bool {
        let used = self.used.saturating_add(size);
        if !self.events.is_empty() && used > self.max_bytes {
            self.truncated = true;
            return false;
        }
        self.used = used;
        self.events.push(event);
        true
    }

    /// How many rows a read of `limit` events examines: `limit`, or `WHERE_SCAN` when `where`
    /// conditions are tested on each row (only the rows that pass become events).
    pub fn rows_to_examine(limit: usize, testing_where: bool) -> usize {
        if testing_where { WHERE_SCAN } else { limit }
    }

    /// After the read examined `examined` rows, the last one `last`: a `where` read that used its
    /// whole bound without filling `limit` (or the size bound) records where it stopped.
    pub fn examined(
        &mut self,
        examined: usize,
        last: Option<i64>,
        limit: usize,
        testing_where: bool,
    ) {
        if testing_where && examined == WHERE_SCAN && self.events.len() < limit && !self.truncated {
            self.scan_stopped_at = last;
        }
    }
}

/// How many events one read with `where` conditions examines at most (after its source, type
/// and id bounds, which indexes answer). The conditions are tested on each payload, so without a
/// bound a condition that matches nothing would read the whole store.
pub const WHERE_SCAN: usize = 1_000;

/// What retention removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many events per source (the newest ones).
    pub max_events_per_source: u64,
    /// Delete events received before this instant.
    pub received_before: DateTime<Utc>,
    /// The delivery ids of deleted events received after this instant are kept, so a retry of
    /// one is still a duplicate (the dedupe window); older ones are forgotten.
    pub dedupe_after: DateTime<Utc>,
}

/// Everything a backend is: the event store and each feature's rows. `Arc<dyn Store>` is what
/// the rest of hookd holds; a backend implements each part in its own file.
pub trait Store:
    Events
    + Rejections
    + Actions
    + Deploys
    + RepoActivity
    + EventRows
    + Consumers
    + Search
    + Callbacks
    + Tasks
    + OauthStore
    + Triggers
    + Enrolments
{
}

impl<T> Store for T where
    T: Events
        + Rejections
        + Actions
        + Deploys
        + RepoActivity
        + EventRows
        + Consumers
        + Search
        + Callbacks
        + Tasks
        + OauthStore
        + Triggers
        + Enrolments
{
}

/// The store's traits, to call their methods on a `dyn Store`.
pub mod prelude {
    pub use super::{
        Actions, Callbacks, Consumers, Deploys, Enrolments, EventRows, Events, OauthStore,
        Rejections, RepoActivity, Search, Store, Tasks, Triggers,
    };
}

/// The event store itself: append, read, prune, and say whether it is healthy.
#[async_trait]
pub trait Events: Send + Sync + 'static {
    /// Stores the event durably (or finds its earlier copy) and reports its id.
    async fn append(&self, event: NewEvent) -> Result<Appended, StoreError>;

    async fn get(&self, id: i64) -> Result<Option<Event>, StoreError>;

    /// An event's payload as stored (a JSON body is the exact text received), for sending it
    /// again byte for byte.
    async fn raw_payload(&self, id: i64) -> Result<Option<String>, StoreError>;

    /// The stored payloads of the events `ids` (those that exist), in one read.
    async fn raw_payloads(&self, ids: Vec<i64>) -> Result<Vec<(i64, String)>, StoreError>;

    /// Events matching `filter`, oldest first, as many as `page` says.
    async fn query(&self, filter: EventFilter, page: Page) -> Result<Vec<Event>, StoreError> {
        Ok(self.query_within(filter, page, usize::MAX).await?.events)
    }

    /// Like `query`, but reading stops once the events read hold `max_bytes` of stored text
    /// (payloads and headers), so neither the store nor the answer holds more than about that:
    /// at least one event is always returned whole. For `Page::Newest` the newest are kept.
    async fn query_within(
        &self,
        filter: EventFilter,
        page: Page,
        max_bytes: usize,
    ) -> Result<Bounded, StoreError>;

    /// Like `query_within`, for a list that shows no payloads: each event comes without its
    /// payload (`null`) and headers (none), and the bound counts what is shown (type, subject,
    /// summary and the like), so large payloads cannot push the other rows out of a list.
    async fn list_within(
        &self,
        filter: EventFilter,
        page: Page,
        max_bytes: usize,
    ) -> Result<Bounded, StoreError>;

    /// How many stored events match `filter`.
    async fn count(&self, filter: EventFilter) -> Result<i64, StoreError>;

    /// How many stored events match `filter`, by source and type, most first, at most
    /// `max_groups` of them: `(source, type, count)`.
    async fn count_by_type(
        &self,
        filter: EventFilter,
        max_groups: usize,
    ) -> Result<Vec<(String, String, i64)>, StoreError>;

    /// Every source with its count and last receive time, busiest first.
    async fn sources(&self) -> Result<Vec<SourceStats>, StoreError>;

    /// Deletes what `policy` no longer keeps, in small steps so ingest is never stalled for
    /// long. Returns how many events were deleted.
    async fn prune(&self, policy: Retention) -> Result<u64, StoreError>;

    /// Answers a trivial query: the store is reachable (for readiness checks).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Commits a small real write (it changes nothing visible): whether writes succeed again
    /// after they failed, for readiness checks.
    async fn probe_write(&self) -> Result<(), StoreError>;

    /// The bus this store notifies after each commit (it knows the newest committed id).
    fn bus(&self) -> &Bus;
}

/// Deliveries refused by verification, kept so a user can see why.
#[async_trait]
pub trait Rejections {
    /// Records a refused delivery, keeping only the newest `MAX_REJECTED`.
    async fn record_rejection(&self, rejected: Rejected) -> Result<(), StoreError>;

    /// The newest refused deliveries (of one source, if given), newest first.
    async fn rejections(
        &self,
        source: Option<String>,
        limit: usize,
    ) -> Result<Vec<Rejected>, StoreError>;
}

/// Actions events call for (Stripe follow-ups).
#[async_trait]
pub trait Actions {
    /// Pending actions (of one type, if given), oldest first.
    async fn pending_actions(&self, action_type: Option<String>)
    -> Result<Vec<Action>, StoreError>;

    /// Completes one action, once: completing it again changes nothing and says so.
    async fn complete_action(
        &self,
        target: ActionTarget,
        details: String,
    ) -> Result<Completion, StoreError>;
}

/// Pushed commits and deployments, to tell whether a commit deployed.
#[async_trait]
pub trait Deploys {
    /// Pushed commits (of one repository, if given), newest first.
    async fn recent_pushes(
        &self,
        repo: Option<String>,
        limit: usize,
    ) -> Result<Vec<Push>, StoreError>;

    /// Deployment state changes (of one project, if given), newest first.
    async fn recent_deployments(
        &self,
        project: Option<String>,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError>;

    /// The pushes and deployments of commits whose sha starts with `prefix` (lower-case hex).
    async fn by_sha(&self, prefix: String) -> Result<(Vec<Push>, Vec<Deployment>), StoreError>;
}

/// GitHub repository activity.
#[async_trait]
pub trait RepoActivity {
    /// A repository's GitHub activity at or after `since`, newest first.
    async fn github_activity(
        &self,
        repo: String,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError>;

    /// Every repository with GitHub activity: (repo, events, last activity), most recent first.
    async fn tracked_repos(&self) -> Result<Vec<(String, i64, DateTime<Utc>)>, StoreError>;
}

/// The rows derived from one event, as stored (an action with its current status).
#[derive(Debug, Default, Serialize)]
pub struct DerivedRows {
    pub actions: Vec<Action>,
    pub pushes: Vec<Push>,
    pub deployments: Vec<Deployment>,
    pub github_activity: Vec<Activity>,
}

impl DerivedRows {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
            && self.pushes.is_empty()
            && self.deployments.is_empty()
            && self.github_activity.is_empty()
    }
}

/// An event with the rows derived from it, read together (`None`: no such event): what the
/// dashboard's event page and `get_event_by_id` show.
pub async fn whole_event(
    store: &dyn Store,
    id: i64,
) -> Result<Option<(Event, DerivedRows)>, StoreError> {
    let (event, derived) = futures_util::try_join!(store.get(id), store.derived_rows(id))?;
    Ok(event.map(|e| (e, derived)))
}

/// What one event left in the derived tables, for its page.
#[async_trait]
pub trait EventRows {
    async fn derived_rows(&self, event_id: i64) -> Result<DerivedRows, StoreError>;
}

/// Durable consumer cursors.
#[async_trait]
pub trait Consumers {
    /// A consumer's committed cursor (`None` if it never acknowledged anything).
    async fn consumer_cursor(&self, name: String) -> Result<Option<i64>, StoreError>;

    /// Moves a consumer's cursor forward to `up_to_id`; a smaller id changes nothing. Returns the
    /// cursor after the call.
    async fn ack(&self, name: String, up_to_id: i64) -> Result<i64, StoreError>;

    /// Every consumer, by name.
    async fn consumers(&self) -> Result<Vec<Consumer>, StoreError>;
}

/// Full-text search.
#[async_trait]
pub trait Search {
    /// Events whose type, summary or payload contain every word of the query, newest first.
    async fn search(&self, query: SearchQuery) -> Result<Found, StoreError>;
}
