//! Cancelling a post.

use super::store::{load, post_item};
use crate::records::{self, attr};
use crate::{AppError, Deps};
use herald_domain::{PostId, PostLifecycle, TargetStatus, WorkspaceId};
use herald_ports::{Condition, TableError, TxOp, Update};
use herald_storage::keys;

/// Cancels what has not gone out yet. Published targets stay published; targets being
/// published right now finish on their own.
pub async fn cancel(deps: &Deps, ws: &WorkspaceId, id: &PostId) -> Result<(), AppError> {
    for _ in 0..5 {
        let (mut post, targets) = load(deps, ws, id).await?;
        if post.lifecycle == PostLifecycle::Cancelled {
            return Ok(());
        }
        post.lifecycle = PostLifecycle::Cancelled;
        post.updated_at = deps.clock.now();
        let mut ops = vec![TxOp::Put {
            item: post_item(&post),
            condition: Some(Condition::item_present()),
        }];
        if let Some(slot) = post.queue_slot {
            ops.extend(crate::queue::release(ws, &post.accounts, slot));
        }
        for record in targets
            .iter()
            .filter(|t| t.target.status.can_become(TargetStatus::Cancelled))
        {
            ops.push(TxOp::Update {
                key: records::target_key(&record.target),
                update: Update::new()
                    .set(attr::STATUS, TargetStatus::Cancelled.as_str())
                    .remove(keys::GSI1_PK)
                    .remove(keys::GSI1_SK),
                condition: Some(Condition::eq(attr::STATUS, record.target.status.as_str())),
            });
        }
        match deps.table.transact(ops).await {
            Ok(()) => {
                tracing::info!(workspace = %ws, post = %id, "post cancelled");
                return Ok(());
            }
            // A target was claimed meanwhile: read again and cancel what is left.
            Err(TableError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the post keeps changing; try again".into(),
    ))
}
