//! The calendar: posts by their scheduled time, through the calendar index.

use super::store::get;
use super::view::PostView;
use crate::records::from_json;
use crate::{AppError, Deps};
use chrono::{DateTime, Utc};
use herald_domain::{Post, WorkspaceId};
use herald_ports::Query;
use herald_storage::keys;

/// Most posts a calendar window answers with.
pub const CALENDAR_MAX: usize = 1000;

/// Posts scheduled in `[from, to)`, earliest first.
pub async fn calendar(
    deps: &Deps,
    ws: &WorkspaceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PostView>, AppError> {
    if to <= from {
        return Err(AppError::invalid("to", "must be after from"));
    }
    if to - from > chrono::Duration::days(366) {
        return Err(AppError::invalid("to", "a window spans at most a year"));
    }
    let entries = deps
        .table
        .query_all(
            Query::index(keys::GSI2, keys::calendar_partition(ws))
                .sk(keys::calendar_window(from, to))
                .limit(CALENDAR_MAX),
        )
        .await?;
    let mut views = Vec::with_capacity(entries.len());
    for entry in entries.iter().take(CALENDAR_MAX) {
        let post: Post = from_json(entry)?;
        match get(deps, ws, &post.id).await {
            Ok(view) if view.scheduled_at.is_some_and(|t| t >= from && t < to) => views.push(view),
            Ok(_) | Err(AppError::NotFound(_)) => {} // moved since the index was read
            Err(e) => return Err(e),
        }
    }
    Ok(views)
}
