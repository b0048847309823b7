//! What the assistant asks about, derived from stored events: Stripe events that call for an
//! action (more views, GitHub activity and deployments, build on the same events).

pub mod stripe;
