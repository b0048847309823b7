//! What a client does must not fill the operator's log: rmcp logs an `ERROR` each time a client
//! hangs up before its answer ("failed to send pending response during drain", or "fail to
//! response message", with `error=channel closed`), so anyone who can reach `/mcp` could write
//! error lines at will by opening and dropping requests. Those lines are counted instead
//! (`hookd_client_hangups_total` on `/metrics`); every other rmcp error is logged as before.

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer};

/// rmcp's lines for an answer its client no longer waits for (with `error` [`GONE`]).
const HANGUPS: &[&str] = &[
    "failed to send pending response during drain",
    "fail to response message",
];
/// The error those lines carry when the client's side is gone.
const GONE: &str = "channel closed";

/// The layer that turns rmcp's hang-up errors into a count.
pub struct Hangups;

/// An event's message and error, as far as they tell a hang-up.
#[derive(Default)]
struct Said {
    hangup_message: bool,
    gone: bool,
}

impl Said {
    fn field(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.hangup_message |= HANGUPS.contains(&value),
            "error" => self.gone |= value == GONE,
            _ => {}
        }
    }
}

impl Visit for Said {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // Display fields (`%error`) arrive here too, written as they display.
        self.field(field, &format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Hangups {
    fn event_enabled(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) -> bool {
        if !event.metadata().target().starts_with("rmcp::service") {
            return true;
        }
        let mut said = Said::default();
        event.record(&mut said);
        let hangup = said.hangup_message && said.gone;
        if hangup {
            metrics::counter!("hookd_client_hangups_total").increment(1);
        }
        !hangup
    }
}
