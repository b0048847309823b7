//! What the assistant asks about, derived from stored events: Stripe events that call for an
//! action, and pushes and deployments to correlate. Each is derived at ingest and written in the
//! same transaction as its event (and only when the event is new).

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
