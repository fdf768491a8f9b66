//! Scheduling (or moving) a draft or scheduled post.

use super::store::{load, post_item};
use super::view::PostView;
use crate::records::{self, attr, ms};
use crate::{AppError, Deps};
use chrono::{DateTime, Utc};
use herald_domain::{Post, PostId, PostLifecycle, TargetStatus, WorkspaceId};
use herald_ports::{Condition, TableError, TxOp, Update};
use herald_storage::keys;

/// Schedules a draft or scheduled post for `at` (publish now: `at` is now).
pub async fn schedule(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &PostId,
    at: DateTime<Utc>,
) -> Result<PostView, AppError> {
    let now = deps.clock.now();
    Post::check_schedule(at, now)?;
    let (mut post, targets) = load(deps, ws, id).await?;
    if post.lifecycle == PostLifecycle::Cancelled {
        return Err(AppError::Conflict("the post was cancelled".into()));
    }
    if let Some(busy) = targets.iter().find(|t| {
        !matches!(
            t.target.status,
            TargetStatus::Draft | TargetStatus::Scheduled
        )
    }) {
        return Err(AppError::Conflict(format!(
            "the target on {} is already {}",
            busy.target.account,
            busy.target.status.as_str()
        )));
    }
    let previous = (post.lifecycle, post.updated_at);
    post.lifecycle = PostLifecycle::Scheduled;
    post.scheduled_at = Some(at);
    post.updated_at = now;
    // A queued post moved off its slot (or published now) gives the slot back.
    let freed = post.queue_slot.filter(|slot| *slot != at);
    if freed.is_some() {
        post.queue_slot = None;
    }
    let mut ops = vec![TxOp::Put {
        item: post_item(&post),
        condition: Some(Condition::eq(
            attr::LIFECYCLE,
            if previous.0 == PostLifecycle::Draft {
                "draft"
            } else {
                "scheduled"
            },
        )),
    }];
    if let Some(slot) = freed {
        ops.extend(crate::queue::release(ws, &post.accounts, slot));
    }
    let mut new_targets = Vec::new();
    for record in &targets {
        let mut t = record.target.clone();
        t.transition(TargetStatus::Scheduled)?;
        t.due_at = Some(at);
        let (pk, sk) = keys::due_entry(at, ws, &t.post, &t.account);
        ops.push(TxOp::Update {
            key: records::target_key(&t),
            update: Update::new()
                .set(attr::STATUS, TargetStatus::Scheduled.as_str())
                .set(attr::DUE_AT, ms(at))
                .set(keys::GSI1_PK, pk)
                .set(keys::GSI1_SK, sk),
            condition: Some(Condition::eq(attr::STATUS, record.target.status.as_str())),
        });
        new_targets.push(t);
    }
    deps.table.transact(ops).await.map_err(|e| match e {
        TableError::TransactionCancelled { .. } => {
            AppError::Conflict("the post changed meanwhile; read it and try again".into())
        }
        e => e.into(),
    })?;
    tracing::info!(workspace = %ws, post = %id, at = %at, "post scheduled");
    Ok(PostView::of(&post, &new_targets))
}
