//! Creating a post: validated, then the post, its targets, any queue slot and the idempotency
//! record in one transaction.

use super::idempotency;
use super::review::{Author, Review, scheduled_event};
use super::store::{post_writes, wake_due};
use super::validate::validate;
use super::view::{Created, NewPost, PostView};
use crate::{AppError, Deps, new_id};
use chrono::{DateTime, Utc};
use herald_domain::{
    AccountId, Platform, Post, PostId, PostLifecycle, Target, TargetStatus, WorkspaceId,
};
use herald_ports::TableError;

pub async fn create(
    deps: &Deps,
    ws: &WorkspaceId,
    by: &Author,
    new: NewPost,
    idempotency_key: Option<&str>,
) -> Result<Created, AppError> {
    create_in(deps, ws, by, new, idempotency_key.map(|k| ("posts", k))).await
}

/// A post sent by an inbound webhook: its `webhook-id` is the idempotency key (in a scope of
/// its own, apart from clients' `Idempotency-Key`s), so a repeat creates nothing new. The
/// sender writes as an editor does: with approvals on, what it schedules waits in review.
pub async fn create_from_webhook(
    deps: &Deps,
    ws: &WorkspaceId,
    new: NewPost,
    webhook_id: &str,
) -> Result<Created, AppError> {
    let by = Author::writer(herald_domain::Actor::InboundWebhook);
    create_in(deps, ws, &by, new, Some(("hooks", webhook_id))).await
}

async fn create_in(
    deps: &Deps,
    ws: &WorkspaceId,
    by: &Author,
    new: NewPost,
    idempotency_key: Option<(&str, &str)>,
) -> Result<Created, AppError> {
    let now = deps.clock.now();
    let idempotency = idempotency::Request::of(ws, idempotency_key, &new)?;
    if let Some(request) = &idempotency
        && let Some(replay) = request.replay(deps, now).await?
    {
        return Ok(replay);
    }
    let Prepared {
        post,
        targets,
        queue_slot,
    } = prepare(deps, ws, by, &new, now).await?;
    let view = PostView::of(&post, &targets);
    let mut ops = post_writes(&post, &targets);
    ops.extend(scheduled_event(deps, &post, now));
    let slot_ops = queue_slot.map(|(_, slot_ops)| {
        let first = ops.len();
        ops.extend(slot_ops);
        first..ops.len()
    });
    if let Some(request) = &idempotency {
        ops.push(request.record(&view, now));
    }
    let idempotency_op = ops.len() - 1;
    match deps.table.transact(ops).await {
        Ok(()) => {}
        Err(TableError::TransactionCancelled { failed })
            if slot_ops
                .as_ref()
                .is_some_and(|r| failed.iter().any(|i| r.contains(i))) =>
        {
            return Err(AppError::Conflict(
                "another post took that queue slot just now; send again".into(),
            ));
        }
        Err(TableError::TransactionCancelled { failed })
            if idempotency.is_some() && failed.contains(&idempotency_op) =>
        {
            // A concurrent request with the same key won the race: answer as it did.
            let request = idempotency.as_ref().expect("checked above");
            return request
                .replay(deps, now)
                .await?
                .ok_or_else(|| AppError::Conflict("the same request is in progress".into()));
        }
        Err(e) => return Err(e.into()),
    }
    wake_due(deps, &targets).await;
    tracing::info!(workspace = %ws, post = %post.id, targets = targets.len(), "post created");
    Ok(Created {
        post: view,
        replayed: false,
    })
}

/// Checks a create as `create` does, writing nothing: what a dry run of an import asks.
pub async fn check(
    deps: &Deps,
    ws: &WorkspaceId,
    by: &Author,
    new: &NewPost,
) -> Result<(), AppError> {
    prepare(deps, ws, by, new, deps.clock.now())
        .await
        .map(|_| ())
}

/// A create validated and composed, its writes not made yet.
struct Prepared {
    post: Post,
    targets: Vec<Target>,
    queue_slot: Option<(DateTime<Utc>, Vec<herald_ports::TxOp>)>,
}

async fn prepare(
    deps: &Deps,
    ws: &WorkspaceId,
    by: &Author,
    new: &NewPost,
    now: DateTime<Utc>,
) -> Result<Prepared, AppError> {
    if let Some(at) = new.scheduled_at {
        Post::check_schedule(at, now)?;
    }
    if new.queue && new.scheduled_at.is_some() {
        return Err(AppError::invalid(
            "queue",
            "give scheduled_at or queue, not both",
        ));
    }
    let id = new_id!(deps, PostId);
    let queue_slot = if new.queue {
        Some(crate::queue::next_shared_free(deps, ws, &new.accounts, &id, now).await?)
    } else {
        None
    };
    let scheduled_at = new.scheduled_at.or(queue_slot.as_ref().map(|(at, _)| *at));
    if let Some(recurrence) = &new.recurrence {
        let start = scheduled_at.ok_or_else(|| {
            AppError::invalid("recurrence", "a repeating post needs scheduled_at or queue")
        })?;
        recurrence.check(start)?;
    }
    let (lifecycle, approval) = match scheduled_at {
        None => (PostLifecycle::Draft, None),
        Some(_) => Review::of(deps, ws, by).await?.outcome(by, now),
    };
    let mut post = compose(
        ws,
        new,
        id,
        scheduled_at,
        queue_slot.as_ref().map(|(at, _)| *at),
        now,
    );
    (post.lifecycle, post.approval) = (lifecycle, approval);
    let accounts = validate(deps, &post).await?;
    let targets = targets_of(&post, accounts);
    Ok(Prepared {
        post,
        targets,
        queue_slot,
    })
}

/// The post a create makes, before validation.
fn compose(
    ws: &WorkspaceId,
    new: &NewPost,
    id: PostId,
    scheduled_at: Option<DateTime<Utc>>,
    queue_slot: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Post {
    Post {
        id: id.clone(),
        workspace: ws.clone(),
        text: new.text.clone(),
        accounts: new.accounts.clone(),
        variants: new.variants.clone(),
        media: new.media.clone(),
        tags: new.tags.iter().map(|t| t.trim().to_owned()).collect(),
        kind: new.kind,
        // Until the review has its say (`prepare`).
        lifecycle: PostLifecycle::Draft,
        scheduled_at,
        created_at: now,
        updated_at: now,
        recurrence: new.recurrence.clone(),
        series: new.recurrence.as_ref().map(|_| id.clone()),
        occurrence: new.recurrence.as_ref().map(|_| 1),
        queue_slot,
        approval: None,
        comments: Vec::new(),
    }
}

/// One target per validated account, due with the post.
fn targets_of(post: &Post, accounts: Vec<(AccountId, Platform)>) -> Vec<Target> {
    accounts
        .into_iter()
        .map(|(account, platform)| Target {
            workspace: post.workspace.clone(),
            post: post.id.clone(),
            account,
            platform,
            // In review, targets stay drafts: nothing of the post is due until it is approved.
            status: if post.lifecycle == PostLifecycle::Scheduled {
                TargetStatus::Scheduled
            } else {
                TargetStatus::Draft
            },
            due_at: post.scheduled_at,
            remote_id: None,
            url: None,
            error: None,
            published_at: None,
            attempts: 0,
        })
        .collect()
}
