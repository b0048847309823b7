//! hookd turns webhooks into events an AI assistant can query, wait on and be told about.
//!
//! # The path of one webhook
//!
//! 1. [`listener`] accepts the connection (capped in number, each bounded in time) and
//!    [`ingest`] receives `POST /webhook/{source}`: the source's [`rate`] limit first, then the
//!    raw body, bounded in size, time and the memory all bodies share. The source's provider
//!    ([`sources`], [`providers`], one file each) checks the signature on those raw bytes with its
//!    scheme ([`signature`]) before anything is parsed or deduplicated; a failure is a 401 and a
//!    recorded rejection. The body is then decoded by content type and parsed once ([`payload`]:
//!    a borrowed tree; JSON that a reader could not parse back is refused before anything is
//!    stored), and the provider reads that tree: type, delivery id, subject, time, summary, and
//!    the rows the event implies ([`derive`](mod@derive): Stripe actions, pushes, deployments,
//!    GitHub activity). The words search finds it by come from the same tree.
//! 2. [`store`] appends it. The SQLite store's single writer thread commits whatever requests
//!    have queued in one transaction (group commit) with `synchronous=FULL`, and only then
//!    answers each of them: a 200 means the event is on disk. `(source, delivery_id)` is unique,
//!    so a retried delivery gets the first event's id back with `duplicate: true`. With
//!    `HOOKD_DATABASE_URL`, PostgreSQL does the same for several instances sharing one database
//!    (writers that commit in groups under one advisory lock, so ids commit in order).
//! 3. After the commit the store notifies the [`bus`] with the newest id. The bus carries ids,
//!    never payloads; anyone it wakes re-reads the store from their own cursor, so a lagging
//!    waiter or a second process on the same file never misses an event. Other instances hear
//!    of the commit through Redis (`bus::redis`) or PostgreSQL's `NOTIFY`.
//! 4. [`mcp`] serves the events as tools, resources and pushes over Streamable HTTP (`/mcp` on
//!    the MCP listener) and stdio. Everything that waits or pushes (`wait_for_event`,
//!    `next_events`, resource subscriptions, `events/stream`, webhook delivery to subscribers,
//!    Claude channels) sleeps on the bus and re-reads the store from its own cursor ([`wait`],
//!    [`filter`]); durable consumer cursors live in the store. Deliveries to subscribers' URLs go
//!    through [`outbound`], which refuses private addresses.
//!
//! [`health`] answers `/healthz` and `/readyz` (store reachable, writes succeeding) on both
//! listeners. [`app`] wires these together under one cancellation token; [`cli`] and [`config`] are the
//! command line and its typed settings; [`send`] signs test deliveries as a provider would.
//! [`pubsub`] holds what the Redis bridge and the `publish_event` tool share. Beside `/mcp`, the
//! MCP listener serves the [`dashboard`] and `/metrics` ([`scrape`], of what [`telemetry`] records); [`commands`] are the
//! commands that read a store next to a running hookd (`events`, `tail`, `forward`, `replay`,
//! `config check`), and [`resend`] builds a stored event's request again, re-signed.

pub mod app;
pub mod bus;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod derive;
pub mod event;
pub mod filter;
pub mod health;
pub mod ingest;
pub mod listener;
pub mod mcp;
pub mod oauth;
pub mod outbound;
pub mod payload;
pub mod per_ip;
pub mod printable;
pub mod providers;
pub mod pubsub;
pub mod quiet;
pub mod rate;
pub mod resend;
pub mod scrape;
pub mod secret;
pub mod send;
pub mod signature;
pub mod source_name;
pub mod sources;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod triggers;
pub mod wait;
pub mod waiters;
