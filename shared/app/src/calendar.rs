//! The calendar: a workspace's posts scheduled in a window, earliest first, a page at a time
//! (`GET /v1/posts?from=&to=`). Read from the calendar index, each post then from its own
//! partition, so a page shows posts as they are now.

use crate::page::{self, Page, PageRequest, Scope};
use crate::posts::{self, PostView};
use crate::records::from_json;
use crate::{AppError, Deps};
use chrono::{DateTime, Utc};
use herald_domain::{Post, WorkspaceId};
use herald_ports::Query;
use herald_storage::keys;

/// The longest window one calendar read may span.
pub const MAX_WINDOW_DAYS: i64 = 366;

/// One page of the posts scheduled in `[from, to)`. A cursor belongs to its window: passed
/// with another window it is refused as `cursor`.
pub async fn page(
    deps: &Deps,
    ws: &WorkspaceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    request: &PageRequest,
) -> Result<Page<PostView>, AppError> {
    page::check_window(from, to, MAX_WINDOW_DAYS, "a window spans at most a year")?;
    let scope = Scope::new(
        ws,
        &format!(
            "calendar/{}/{}",
            from.timestamp_millis(),
            to.timestamp_millis()
        ),
    );
    let query =
        Query::index(keys::GSI2, keys::calendar_partition(ws)).sk(keys::calendar_window(from, to));
    let entries = page::query(deps, &scope, query, request).await?;
    let mut views = Vec::with_capacity(entries.items.len());
    for entry in &entries.items {
        let post: Post = from_json(entry)?;
        match posts::get(deps, ws, &post.id).await {
            Ok(view) if view.scheduled_at.is_some_and(|t| t >= from && t < to) => views.push(view),
            // Moved out of the window or deleted since the index was read: not in it now.
            Ok(_) | Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Page {
        items: views,
        next: entries.next,
    })
}
