//! Stripe tools: the events that trigger actions, and the actions themselves.

use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Hookd, hours, limit, storage};
use crate::event::{Action, ActionTarget, Completion, Event, EventFilter, Page};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PendingArgs {
    /// Only actions of this type, e.g. `send_welcome_email`.
    #[serde(rename = "type")]
    pub action_type: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CompleteArgs {
    /// The action to complete.
    pub action_id: Option<i64>,
    /// Or: complete the oldest pending action of this type.
    pub action_type: Option<String>,
    /// What was done (kept with the action).
    #[serde(default)]
    pub details: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RecentStripeArgs {
    /// How many, 1 to 1000 (default 20), newest last.
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SummaryArgs {
    /// The window, in hours (default 24; any positive number: 100000 covers everything stored).
    #[schemars(range(min = 1))]
    pub hours: Option<u32>,
    /// Only events of this source (default: every source).
    pub source: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ActionList {
    pub actions: Vec<Action>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CompleteResult {
    /// `completed`, or `already_completed` when it had been completed before (nothing changed).
    pub result: String,
    pub action: Action,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StripeEvents {
    pub events: Vec<Event>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EventSummary {
    pub period_hours: u32,
    pub total_events: i64,
    /// Counts by event type (over every source counted).
    pub events_by_type: BTreeMap<String, i64>,
    /// Counts by source.
    pub events_by_source: BTreeMap<String, i64>,
    /// Stripe follow-ups still to do (`get_pending_actions` lists them).
    pub pending_actions: usize,
    /// Set when more distinct (source, type) pairs exist than one answer counts (1,000): the
    /// counts above cover the commonest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How many (source, type) pairs one summary counts at most.
const SUMMARY_GROUPS: usize = 1000;

impl Hookd {
    /// Events from every Stripe source matching `filter`, newest `limit`, oldest first.
    async fn stripe_events(&self, filter: EventFilter, limit: usize) -> Result<Vec<Event>, String> {
        let mut events = Vec::new();
        for s in self
            .sources
            .iter()
            .filter(|s| (s.provider.toolsets()).contains(&crate::config::Toolset::Stripe))
        {
            let f = EventFilter {
                sources: vec![s.name.clone()],
                ..filter.clone()
            };
            let read = self
                .store
                .query_within(f, Page::Newest(limit), self.max_answer);
            events.extend(read.await.map_err(storage)?.events);
        }
        events.sort_by_key(|e| e.id);
        let skip = events.len().saturating_sub(limit);
        Ok(events.split_off(skip))
    }
}

#[tool_router(router = stripe_router, vis = "pub(super)")]
impl Hookd {
    #[tool(
        description = "Pending actions that Stripe events call for (send_welcome_email, send_payment_failed_email, send_churn_survey, or configured ones), oldest first, each with its fields and source event id.",
        annotations(read_only_hint = true)
    )]
    async fn get_pending_actions(
        &self,
        Parameters(a): Parameters<PendingArgs>,
    ) -> Result<Json<ActionList>, String> {
        let actions = self
            .store
            .pending_actions(a.action_type)
            .await
            .map_err(storage)?;
        Ok(Json(ActionList { actions }))
    }

    #[tool(
        description = "Mark one action complete: by action_id, or the oldest pending action of action_type. Completing an action twice is reported, not repeated.",
        annotations(read_only_hint = false, idempotent_hint = true)
    )]
    async fn mark_action_complete(
        &self,
        Parameters(a): Parameters<CompleteArgs>,
    ) -> Result<Json<CompleteResult>, String> {
        let target = match (a.action_id, a.action_type) {
            (Some(id), _) => ActionTarget::Id(id),
            (None, Some(t)) => ActionTarget::OldestOfType(t),
            (None, None) => return Err("give action_id or action_type".into()),
        };
        let shown = format!("{target:?}");
        match self
            .store
            .complete_action(target, a.details)
            .await
            .map_err(storage)?
        {
            Completion::Completed(action) => Ok(Json(CompleteResult {
                result: "completed".into(),
                action,
            })),
            Completion::AlreadyCompleted(action) => Ok(Json(CompleteResult {
                result: "already_completed".into(),
                action,
            })),
            Completion::NotFound => Err(format!(
                "no such action ({shown}), or none pending of that type"
            )),
        }
    }

    #[tool(
        description = "The most recent Stripe events, oldest first.",
        annotations(read_only_hint = true)
    )]
    async fn get_recent_stripe_events(
        &self,
        Parameters(a): Parameters<RecentStripeArgs>,
    ) -> Result<Json<StripeEvents>, String> {
        let limit = limit(a.limit, 20)?;
        let events = self.stripe_events(EventFilter::default(), limit).await?;
        Ok(Json(StripeEvents { events }))
    }

    #[tool(
        description = "Events of the last `hours` (default 24), of every source or one, counted by type and by source, and the number of pending Stripe actions.",
        annotations(read_only_hint = true)
    )]
    async fn get_event_summary(
        &self,
        Parameters(a): Parameters<SummaryArgs>,
    ) -> Result<Json<EventSummary>, String> {
        let hours = hours(a.hours)?;
        let filter = EventFilter {
            received_after: Some(super::window_start(hours)),
            ..EventFilter::of(a.source, None)
        };
        // Counted by the store: no event is read.
        let groups = self
            .store
            .count_by_type(filter, SUMMARY_GROUPS)
            .await
            .map_err(storage)?;
        let mut events_by_type = BTreeMap::new();
        let mut events_by_source = BTreeMap::new();
        for (source, event_type, n) in &groups {
            *events_by_type.entry(event_type.clone()).or_insert(0) += n;
            *events_by_source.entry(source.clone()).or_insert(0) += n;
        }
        let pending_actions = self
            .store
            .pending_actions(None)
            .await
            .map_err(storage)?
            .len();
        let note = (groups.len() == SUMMARY_GROUPS).then(|| {
            format!("more than {SUMMARY_GROUPS} (source, type) pairs: the commonest are counted")
        });
        Ok(Json(EventSummary {
            period_hours: hours,
            total_events: groups.iter().map(|(_, _, n)| n).sum(),
            events_by_type,
            events_by_source,
            pending_actions,
            note,
        }))
    }
}
