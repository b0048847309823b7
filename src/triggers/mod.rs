//! Triggers: `[[triggers]]` in `hookd.toml` run a program or call a URL for the events they
//! match, durably (see `engine` for how, `store::triggers` for what is recorded).

pub mod attempt;
pub mod command;
pub mod engine;
pub mod post;
pub mod spec;

pub use spec::Trigger;
