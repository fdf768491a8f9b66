//! The aggregator function: Herald's own events (from EventBridge on AWS, the in-process bus
//! locally) rolled up into per-day counters, one atomic ADD per event instead of a row each.
//! Engagement polling and the metrics rollups of the analytics issue build on this.

use herald_app::{AppError, Deps};
use herald_domain::WorkspaceId;
use herald_ports::{BusEvent, Key, Update};

/// The per-day counter item a workspace's events add to.
pub fn day_key(ws: &WorkspaceId, day: chrono::NaiveDate) -> Key {
    herald_storage::keys::metrics_day(ws, day)
}

/// Adds one event to its day's counters. Events arrive at least once: the event id is kept
/// in a set on the day item, and a repeat adds nothing.
pub async fn handle(deps: &Deps, event: BusEvent) -> Result<bool, AppError> {
    let counter = match event.kind.as_str() {
        "post.published" => "published",
        "post.failed" => "failed",
        _ => return Ok(false),
    };
    let Some(ws) = WorkspaceId::parse(&event.workspace) else {
        return Ok(false);
    };
    let key = day_key(&ws, event.time.date_naive());
    let seen = format!("seen_{}", event.id);
    let update = Update::new().add(counter, 1).set(&seen, true);
    match deps
        .table
        .update(
            &key,
            update,
            Some(herald_ports::Condition::NotExists(seen.clone())),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(herald_ports::TableError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
