//! Scheduling (or moving) a draft or scheduled post.

use super::review::{Author, Review, scheduled_event};
use super::store::{
    changed_meanwhile, draft_update, due_update, load, post_item, refuse_if_out, wake_due,
};
use super::view::PostView;
use crate::records::{self, attr, ms};
use crate::{AppError, Deps};
use chrono::{DateTime, Utc};
use herald_domain::{Post, PostId, PostLifecycle, TargetStatus, WorkspaceId};
use herald_ports::{Condition, TxOp};

/// Schedules a draft, in-review or scheduled post for `at` (publish now: `at` is now). With
/// approvals on and an author who may not approve, it goes (or goes back) to review instead:
/// moving an approved post needs a new approval.
pub async fn schedule(
    deps: &Deps,
    ws: &WorkspaceId,
    by: &Author,
    id: &PostId,
    at: DateTime<Utc>,
) -> Result<PostView, AppError> {
    let now = deps.clock.now();
    Post::check_schedule(at, now)?;
    let (mut post, targets) = load(deps, ws, id).await?;
    if post.lifecycle == PostLifecycle::Cancelled {
        return Err(AppError::Conflict("the post was cancelled".into()));
    }
    refuse_if_out(&targets, "")?;
    let review = Review::of(deps, ws, by).await?;
    if review == Review::Needed && at <= now {
        return Err(AppError::Conflict(
            "approvals are on: a post is approved before it goes out; schedule it for a time and a manager approves it"
                .into(),
        ));
    }
    let read = post.lifecycle;
    let (lifecycle, approval) = review.outcome(by, now);
    post.lifecycle = lifecycle;
    post.approval = approval;
    post.scheduled_at = Some(at);
    post.updated_at = now;
    // A queued post moved off its slot (or published now) gives the slot back.
    let freed = post.queue_slot.filter(|slot| *slot != at);
    if freed.is_some() {
        post.queue_slot = None;
    }
    let mut ops = vec![TxOp::Put {
        item: post_item(&post),
        condition: Some(Condition::eq(attr::LIFECYCLE, read.as_str())),
    }];
    if let Some(slot) = freed {
        ops.extend(crate::queue::release(ws, &post.accounts, slot));
    }
    let due = lifecycle == PostLifecycle::Scheduled;
    let mut new_targets = Vec::new();
    for record in &targets {
        let mut t = record.target.clone();
        let update = if due {
            t.transition(TargetStatus::Scheduled)?;
            due_update(&t, at)
        } else {
            // In review: a draft with its proposed time, out of the due index.
            if t.status != TargetStatus::Draft {
                t.transition(TargetStatus::Draft)?;
            }
            draft_update().set(attr::DUE_AT, ms(at))
        };
        t.due_at = Some(at);
        ops.push(TxOp::Update {
            key: records::target_key(&t),
            update,
            condition: Some(Condition::eq(attr::STATUS, record.target.status.as_str())),
        });
        new_targets.push(t);
    }
    ops.extend(scheduled_event(deps, &post, now));
    deps.table.transact(ops).await.map_err(changed_meanwhile)?;
    wake_due(deps, &new_targets).await;
    tracing::info!(workspace = %ws, post = %id, at = %at, status = lifecycle.as_str(), "post scheduled");
    Ok(PostView::of(&post, &new_targets))
}
