//! Editing a post's content (`PATCH /v1/posts/{id}`): text, variants, media, tags, kind, each
//! checked as a create checks them. With approvals on, an approved post edited by someone who
//! may not approve goes back to review, out of the due index, until it is approved again.

use super::review::{Author, Review};
use super::store::{as_read, changed_meanwhile, draft_update, load, post_item, refuse_if_out};
use super::validate::validate;
use super::view::PostView;
use crate::records::{self, attr};
use crate::{AppError, Deps};
use herald_domain::{
    Approval, MediaId, Platform, PostId, PostKind, PostLifecycle, TargetStatus, Variant,
    WorkspaceId,
};
use herald_ports::{Condition, TxOp};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The fields a PATCH may change; the accounts and the time change through their own routes.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostEdit {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub variants: Option<BTreeMap<Platform, Variant>>,
    #[serde(default)]
    pub media: Option<Vec<MediaId>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub kind: Option<PostKind>,
}

pub async fn edit(
    deps: &Deps,
    ws: &WorkspaceId,
    by: &Author,
    id: &PostId,
    change: PostEdit,
) -> Result<PostView, AppError> {
    let now = deps.clock.now();
    let (read, targets) = load(deps, ws, id).await?;
    if read.lifecycle == PostLifecycle::Cancelled {
        return Err(AppError::Conflict("the post was cancelled".into()));
    }
    refuse_if_out(&targets, ": what is out cannot be edited")?;
    let mut post = read.clone();
    if let Some(text) = change.text {
        post.text = text;
    }
    if let Some(variants) = change.variants {
        post.variants = variants;
    }
    if let Some(media) = change.media {
        post.media = media;
    }
    if let Some(tags) = change.tags {
        post.tags = tags.iter().map(|t| t.trim().to_owned()).collect();
    }
    if let Some(kind) = change.kind {
        post.kind = kind;
    }
    post.updated_at = now;
    validate(deps, &post).await?;
    let back_to_review = match post.lifecycle {
        PostLifecycle::Scheduled => match Review::of(deps, ws, by).await? {
            Review::Needed => true,
            Review::SelfApproved => {
                post.approval = Some(Approval {
                    by: by.actor.clone(),
                    at: now,
                });
                false
            }
            Review::Off => false,
        },
        _ => false,
    };
    if back_to_review {
        post.lifecycle = PostLifecycle::InReview;
        post.approval = None;
    }
    // Only on the post as read: an edit made meanwhile, or a decision, is not overwritten.
    let mut ops = vec![TxOp::Put {
        item: post_item(&post),
        condition: Some(as_read(&read)),
    }];
    let mut new_targets: Vec<_> = targets.iter().map(|r| r.target.clone()).collect();
    if back_to_review {
        for (record, t) in targets.iter().zip(new_targets.iter_mut()) {
            t.transition(TargetStatus::Draft)?;
            ops.push(TxOp::Update {
                key: records::target_key(t),
                update: draft_update(),
                condition: Some(Condition::eq(attr::STATUS, record.target.status.as_str())),
            });
        }
    }
    deps.table.transact(ops).await.map_err(changed_meanwhile)?;
    tracing::info!(workspace = %ws, post = %id, back_to_review, "post edited");
    Ok(PostView::of(&post, &new_targets))
}
