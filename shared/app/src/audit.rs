//! The audit log: who did what to which thing, and when, for every write (API.md, "Teams,
//! approvals, audit"). Entries live in the workspace's own partition in time order; the API
//! reads them a page at a time and has no way to change one.

use crate::page::{self, Page, PageRequest, Scope};
use crate::records::{from_json, json_item};
use crate::{AppError, Deps, new_id};
use chrono::{DateTime, Utc};
use herald_domain::{Actor, AuditEntry, AuditId, WorkspaceId};
use herald_ports::{Condition, Query, TxOp};
use herald_storage::keys;

/// The longest window one audit read may span.
pub const MAX_WINDOW_DAYS: i64 = 366;

/// The write that records `actor` doing `action` to `target` now, for a transaction.
pub fn entry(deps: &Deps, ws: &WorkspaceId, actor: Actor, action: &str, target: &str) -> TxOp {
    let now = deps.clock.now();
    let entry = AuditEntry {
        id: new_id!(deps, AuditId),
        at: now,
        actor,
        action: action.to_owned(),
        target: target.to_owned(),
    };
    TxOp::Put {
        item: json_item(&keys::audit(ws, now, entry.id.as_str()), "audit", &entry),
        condition: Some(Condition::item_absent()),
    }
}

/// Records one entry on its own.
pub async fn record(
    deps: &Deps,
    ws: &WorkspaceId,
    actor: Actor,
    action: &str,
    target: &str,
) -> Result<(), AppError> {
    deps.table
        .transact(vec![entry(deps, ws, actor, action, target)])
        .await?;
    Ok(())
}

/// One page of the entries in `[from, to)`, oldest first.
pub async fn page(
    deps: &Deps,
    ws: &WorkspaceId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    request: &PageRequest,
) -> Result<Page<AuditEntry>, AppError> {
    page::check_window(from, to, MAX_WINDOW_DAYS, "a window spans at most a year")?;
    let scope = Scope::new(
        ws,
        &format!(
            "audit/{}/{}",
            from.timestamp_millis(),
            to.timestamp_millis()
        ),
    );
    let query = Query::table(keys::audit_partition(ws)).sk(keys::calendar_window(from, to));
    let items = page::query(deps, &scope, query, request).await?;
    let mut entries = Vec::with_capacity(items.items.len());
    for item in &items.items {
        entries.push(from_json::<AuditEntry>(item)?);
    }
    Ok(Page {
        items: entries,
        next: items.next,
    })
}
