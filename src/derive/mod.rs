//! Rows derived from an event at ingest (Stripe events that call for an action, pushes,
//! deployments, GitHub activity), written in the same transaction as the event and only when it is
//! new; the MCP tools read them back. Providers (`crate::providers`) say which rows an event
//! implies, reading them from the payload's one parse with the functions here.

pub mod bounds;
pub mod deploy;
pub mod github;
pub mod stripe;

/// A row derived from an event, stored with it.
#[derive(Debug, Clone, PartialEq)]
pub enum Derived {
    Action(stripe::NewAction),
    Push(deploy::Push),
    Deployment(deploy::Deployment),
    GitHub(github::Activity),
}
