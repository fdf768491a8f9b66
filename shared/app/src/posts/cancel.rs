//! Cancelling a post. Once DELETE has answered, nothing of the post reaches a network again:
//! targets not yet out are cancelled, and those in flight or unconfirmed are marked, so the
//! engine sends none of them (it may still look one up, and records what it finds).

use super::store::{load, post_item};
use crate::records::{self, attr};
use crate::{AppError, Deps, events};
use herald_domain::event::{EventKind, PostCancelled};
use herald_domain::{PostId, PostLifecycle, TargetStatus, WorkspaceId};
use herald_ports::{Condition, TableError, TxOp, Update, Value};
use herald_storage::keys;

/// Cancels what has not gone out yet. Published targets stay published; a send already begun
/// when DELETE came finishes, and its outcome is recorded as it is.
pub async fn cancel(deps: &Deps, ws: &WorkspaceId, id: &PostId) -> Result<(), AppError> {
    for _ in 0..5 {
        let (mut post, targets) = load(deps, ws, id).await?;
        if post.lifecycle == PostLifecycle::Cancelled {
            return Ok(());
        }
        let now = deps.clock.now();
        let read = post.lifecycle.as_str();
        post.lifecycle = PostLifecycle::Cancelled;
        post.updated_at = now;
        let mut ops = vec![TxOp::Put {
            item: post_item(&post),
            // Only the post as read: of two concurrent cancels one records the event.
            condition: Some(Condition::eq(attr::LIFECYCLE, read)),
        }];
        if let Some(slot) = post.queue_slot {
            ops.extend(crate::queue::release(ws, &post.accounts, slot));
        }
        for record in &targets {
            let status = record.target.status;
            let as_read = Condition::eq(attr::STATUS, status.as_str());
            let update = match status {
                TargetStatus::Draft | TargetStatus::Scheduled => Update::new()
                    .set(attr::STATUS, TargetStatus::Cancelled.as_str())
                    .remove(keys::GSI1_PK)
                    .remove(keys::GSI1_SK),
                // The engine holds these: it sees the mark before any send.
                TargetStatus::Publishing | TargetStatus::Unconfirmed => {
                    Update::new().set(attr::CANCELLED, Value::Bool(true))
                }
                TargetStatus::Published | TargetStatus::Failed | TargetStatus::Cancelled => {
                    continue;
                }
            };
            ops.push(TxOp::Update {
                key: records::target_key(&record.target),
                update,
                condition: Some(as_read),
            });
        }
        ops.push(events::record(
            deps,
            ws,
            EventKind::PostCancelled(PostCancelled {
                post: id.clone(),
                cancelled_at: now,
            }),
            now,
        ));
        match deps.table.transact(ops).await {
            Ok(()) => {
                tracing::info!(workspace = %ws, post = %id, "post cancelled");
                return Ok(());
            }
            // A target moved on meanwhile (claimed, retried, finished): read again.
            Err(TableError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the post keeps changing; try again".into(),
    ))
}
