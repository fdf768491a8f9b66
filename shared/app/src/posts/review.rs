//! Approvals (API.md, "Teams, approvals, audit"). With approvals on, a post scheduled by
//! someone who may not approve waits `in_review`, its targets drafts, so nothing of it is due;
//! a manager or owner approves it (then it is scheduled) or asks for changes (back to draft,
//! the comment kept). `post.scheduled` is recorded when a post becomes scheduled, never before.

use super::store::{as_read, changed_meanwhile, due_update, load, post_item, wake_due};
use super::view::PostView;
use crate::auth::Principal;
use crate::records::{self, attr};
use crate::{AppError, Deps, events};
use chrono::{DateTime, Utc};
use herald_domain::event::{EventKind, PostScheduled};
use herald_domain::{
    Action, Actor, Approval, Post, PostId, PostLifecycle, ReviewComment, Target, TargetStatus,
    Workspace, WorkspaceId,
};
use herald_ports::{Condition, TxOp};
use herald_storage::keys;

/// Who writes or reviews a post: who they are, and whether they may approve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    pub actor: Actor,
    pub may_approve: bool,
    /// What approvals mean for them, once read for a batch (an import reads it once).
    settled: Option<Review>,
}

impl Author {
    pub fn of(caller: &Principal) -> Author {
        Author {
            actor: caller.actor(),
            may_approve: caller.may(Action::Approve).is_ok(),
            settled: None,
        }
    }

    /// The same author with the workspace's approvals setting read now, for many posts in
    /// one request: the rows of an import are decided by the setting as it was at its start.
    pub async fn settled(self, deps: &Deps, ws: &WorkspaceId) -> Result<Author, AppError> {
        let review = Review::of(deps, ws, &self).await?;
        Ok(Author {
            settled: Some(review),
            ..self
        })
    }

    /// Someone who writes as an editor does (an inbound webhook's sender): with approvals on,
    /// what they schedule waits in review.
    pub fn writer(actor: Actor) -> Author {
        Author {
            actor,
            may_approve: false,
            settled: None,
        }
    }

    /// Someone whose scheduling needs no review (a manager, Herald's own tests).
    pub fn approver(actor: Actor) -> Author {
        Author {
            actor,
            may_approve: true,
            settled: None,
        }
    }
}

/// What scheduling a post by `by` means in its workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Review {
    /// Approvals are off: scheduled as asked.
    Off,
    /// Approvals are on and the author may approve: scheduled, approved by them.
    SelfApproved,
    /// Approvals are on and the author may not approve: in review.
    Needed,
}

impl Review {
    pub async fn of(deps: &Deps, ws: &WorkspaceId, by: &Author) -> Result<Review, AppError> {
        if let Some(review) = by.settled {
            return Ok(review);
        }
        let approvals = workspace(deps, ws).await?.settings.approvals;
        Ok(match (approvals, by.may_approve) {
            (false, _) => Review::Off,
            (true, true) => Review::SelfApproved,
            (true, false) => Review::Needed,
        })
    }

    /// The lifecycle of a post given a time, and its approval.
    pub fn outcome(self, by: &Author, now: DateTime<Utc>) -> (PostLifecycle, Option<Approval>) {
        match self {
            Review::Off => (PostLifecycle::Scheduled, None),
            Review::SelfApproved => (
                PostLifecycle::Scheduled,
                Some(Approval {
                    by: by.actor.clone(),
                    at: now,
                }),
            ),
            Review::Needed => (PostLifecycle::InReview, None),
        }
    }
}

async fn workspace(deps: &Deps, ws: &WorkspaceId) -> Result<Workspace, AppError> {
    let item = deps
        .table
        .get(&keys::workspace(ws))
        .await?
        .ok_or(AppError::NotFound("workspace"))?;
    records::from_json(&item)
}

/// The event of a post becoming scheduled, for its transaction.
pub(super) fn scheduled_event(deps: &Deps, post: &Post, now: DateTime<Utc>) -> Option<TxOp> {
    let at = post.scheduled_at?;
    (post.lifecycle == PostLifecycle::Scheduled).then(|| {
        events::record(
            deps,
            &post.workspace,
            EventKind::PostScheduled(PostScheduled {
                post: post.id.clone(),
                scheduled_at: at,
                accounts: post.accounts.clone(),
            }),
            now,
        )
    })
}

/// The post item's write, holding only on the version read.
fn put_as_read(post: &Post, read: &Post) -> TxOp {
    TxOp::Put {
        item: post_item(post),
        condition: Some(as_read(read)),
    }
}

async fn in_review(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &PostId,
) -> Result<(Post, Vec<Target>), AppError> {
    let (post, targets) = load(deps, ws, id).await?;
    if post.lifecycle != PostLifecycle::InReview {
        let statuses: Vec<_> = targets.iter().map(|t| t.target.status).collect();
        let status = herald_domain::PostStatus::derive(post.lifecycle, &statuses);
        return Err(AppError::Conflict(format!(
            "the post is not in review: it is {}",
            status.as_str()
        )));
    }
    Ok((post, targets.into_iter().map(|r| r.target).collect()))
}

/// Approves a post in review: it is scheduled for its time, unless that time passed while it
/// waited (409: schedule it again, and approve the new time).
pub async fn approve(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &PostId,
    by: &Author,
) -> Result<PostView, AppError> {
    if !by.may_approve {
        return Err(AppError::Forbidden);
    }
    let now = deps.clock.now();
    let (read, targets) = in_review(deps, ws, id).await?;
    let at = read
        .scheduled_at
        .ok_or_else(|| AppError::Corrupt("a post in review without a time".into()))?;
    if at <= now {
        return Err(AppError::Conflict(format!(
            "its time, {}, passed while it was in review: schedule it for a new time, then approve it",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )));
    }
    let mut post = read.clone();
    post.lifecycle = PostLifecycle::Scheduled;
    post.approval = Some(Approval {
        by: by.actor.clone(),
        at: now,
    });
    post.updated_at = now;
    let mut ops = vec![put_as_read(&post, &read)];
    let mut scheduled = Vec::with_capacity(targets.len());
    for target in &targets {
        let mut t = target.clone();
        t.transition(TargetStatus::Scheduled)?;
        t.due_at = Some(at);
        ops.push(TxOp::Update {
            key: records::target_key(&t),
            update: due_update(&t, at),
            condition: Some(Condition::eq(attr::STATUS, target.status.as_str())),
        });
        scheduled.push(t);
    }
    ops.extend(scheduled_event(deps, &post, now));
    deps.table.transact(ops).await.map_err(changed_meanwhile)?;
    wake_due(deps, &scheduled).await;
    tracing::info!(workspace = %ws, post = %id, by = %by.actor, "post approved");
    Ok(PostView::of(&post, &scheduled))
}

/// Sends a post in review back to its author as a draft, with the reviewer's comment on it.
/// Its time stays as a proposal; its queue slot goes back to the queue.
pub async fn request_changes(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &PostId,
    by: &Author,
    comment: &str,
) -> Result<PostView, AppError> {
    if !by.may_approve {
        return Err(AppError::Forbidden);
    }
    let text = ReviewComment::check_text(comment)?;
    let now = deps.clock.now();
    let (read, targets) = in_review(deps, ws, id).await?;
    let mut post = read.clone();
    post.lifecycle = PostLifecycle::Draft;
    post.comments.push(ReviewComment {
        by: by.actor.clone(),
        text,
        at: now,
    });
    post.updated_at = now;
    let freed = post.queue_slot.take();
    let mut ops = vec![put_as_read(&post, &read)];
    if let Some(slot) = freed {
        ops.extend(crate::queue::release(ws, &post.accounts, slot));
    }
    deps.table.transact(ops).await.map_err(changed_meanwhile)?;
    tracing::info!(workspace = %ws, post = %id, by = %by.actor, "changes requested");
    Ok(PostView::of(&post, &targets))
}

/// Adds a comment to a post without deciding anything (a client's note through a review
/// link). Any post but a cancelled one takes comments.
pub async fn comment(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &PostId,
    by: &Actor,
    comment: &str,
) -> Result<PostView, AppError> {
    let text = ReviewComment::check_text(comment)?;
    let now = deps.clock.now();
    let (read, targets) = load(deps, ws, id).await?;
    if read.lifecycle == PostLifecycle::Cancelled {
        return Err(AppError::Conflict("the post was cancelled".into()));
    }
    let mut post = read.clone();
    post.comments.push(ReviewComment {
        by: by.clone(),
        text,
        at: now,
    });
    post.updated_at = now;
    deps.table
        .transact(vec![put_as_read(&post, &read)])
        .await
        .map_err(changed_meanwhile)?;
    let targets: Vec<Target> = targets.into_iter().map(|r| r.target).collect();
    Ok(PostView::of(&post, &targets))
}
