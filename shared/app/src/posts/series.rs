//! Repeating posts: each occurrence is a post of its own, made before the one before goes out.

use super::store::{post_writes, wake_due};
use crate::{AppError, Deps};
use herald_domain::{Post, PostId, PostLifecycle, Target, TargetStatus};
use herald_ports::TableError;
use sha2::{Digest, Sha256};

/// Makes the next occurrence of a repeating post, once: its id is derived from the series and
/// its number, so a repeat of this call finds it already there.
pub async fn ensure_next_occurrence(
    deps: &Deps,
    post: &Post,
    targets: &[Target],
) -> Result<Option<PostId>, AppError> {
    let (Some(recurrence), Some(series), Some(n), Some(at)) = (
        &post.recurrence,
        &post.series,
        post.occurrence,
        post.scheduled_at,
    ) else {
        return Ok(None);
    };
    if post.lifecycle != PostLifecycle::Scheduled {
        return Ok(None);
    }
    let Some(next_at) = recurrence.next(at, n) else {
        return Ok(None);
    };
    let seed = Sha256::digest(format!("{series}#{}", n + 1).as_bytes());
    let random = u128::from_be_bytes(seed[..16].try_into().expect("16 bytes"));
    let id = PostId::generate(next_at.timestamp_millis() as u64, random);
    let now = deps.clock.now();
    let next = Post {
        id: id.clone(),
        scheduled_at: Some(next_at),
        occurrence: Some(n + 1),
        created_at: now,
        updated_at: now,
        queue_slot: None,
        ..post.clone()
    };
    let next_targets: Vec<Target> = targets
        .iter()
        .map(|t| Target {
            post: id.clone(),
            status: TargetStatus::Scheduled,
            due_at: Some(next_at),
            remote_id: None,
            url: None,
            error: None,
            published_at: None,
            attempts: 0,
            ..t.clone()
        })
        .collect();
    match deps.table.transact(post_writes(&next, &next_targets)).await {
        Ok(()) => {
            tracing::info!(series = %series, occurrence = n + 1, post = %id, at = %next_at, "next occurrence scheduled");
        }
        // Made already by an earlier (or concurrent) call, whose wake may not have been made.
        Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => {}
        Err(e) => return Err(e.into()),
    }
    wake_due(deps, &next_targets).await;
    Ok(Some(id))
}
