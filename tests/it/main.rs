//! hookd's integration tests, one binary: a module per area, each driving hookd from the outside
//! (real HTTP, real MCP clients, real processes, real SQLite, PostgreSQL and Redis).
//! `cargo test --test it AREA::` runs one area, e.g. `cargo test --test it exposure::`.

mod callback_delivery;
mod chatgpt_profile;
mod common;
mod consumers;
mod dashboard;
mod deployments;
mod derived_bounds;
mod durability;
mod events_ext;
mod exposure;
mod follow_cli;
mod fuzz_http;
mod github_activity;
mod handshakes;
mod ingest;
mod mcp_app;
mod mcp_http;
mod mcp_receiver;
mod mcp_security;
mod mcp_stdio;
mod migrate_to;
mod modern_era;
mod multi_instance;
mod oauth_idp;
mod oauth_server;
mod oauth_store;
mod operations;
mod postgres_writer;
mod properties;
mod read_bounds;
mod redis_bridge;
mod resources;
mod retention;
mod sdk_clients;
mod store_contract;
mod stripe_actions;
mod tasks;
mod tasks_store;
mod triggers;
mod verify;
mod waits;
mod webhook_delivery;
