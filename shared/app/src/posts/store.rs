//! How a post and its targets are kept: one partition per post.

use crate::publish::wake::{self, Due};
use crate::records::{self, TargetRecord, attr, from_json, json_item, ms};
use crate::{AppError, Deps};
use chrono::{DateTime, Utc};
use herald_domain::{Post, PostId, Target, TargetStatus, WorkspaceId};
use herald_ports::{Condition, Item, Query, TableError, TxOp, Update, Value};
use herald_storage::keys;

use super::view::PostView;

pub(super) fn post_item(post: &Post) -> Item {
    let mut item = json_item(&keys::post(&post.workspace, &post.id), "post", post);
    item.insert(attr::LIFECYCLE.into(), post.lifecycle.as_str().into());
    item.insert(attr::UPDATED_AT.into(), ms(post.updated_at));
    if let Some(at) = post.scheduled_at {
        item.insert(attr::SCHEDULED_AT.into(), ms(at));
        let (pk, sk) = keys::calendar(&post.workspace, at, &post.id);
        item.insert(keys::GSI2_PK.into(), pk.into());
        item.insert(keys::GSI2_SK.into(), sk.into());
    }
    item
}

/// The target attributes that put it in the due index for `at`.
pub(super) fn due_update(t: &Target, at: DateTime<Utc>) -> Update {
    let (pk, sk) = keys::due_entry(at, &t.workspace, &t.post, &t.account);
    Update::new()
        .set(attr::STATUS, TargetStatus::Scheduled.as_str())
        .set(attr::DUE_AT, ms(at))
        .set(keys::GSI1_PK, pk)
        .set(keys::GSI1_SK, sk)
}

/// After a committed write: wakes for its targets that are in the due index (scheduled).
pub(super) async fn wake_due(deps: &Deps, targets: &[Target]) {
    let dues: Vec<Due> = targets
        .iter()
        .filter(|t| t.status == TargetStatus::Scheduled)
        .filter_map(|t| Some(Due::of(t, t.due_at?)))
        .collect();
    wake::after_commit(deps, &dues).await;
}

/// The target attributes of a draft: out of the due index (in review, or edited back to it).
pub(super) fn draft_update() -> Update {
    Update::new()
        .set(attr::STATUS, TargetStatus::Draft.as_str())
        .remove(keys::GSI1_PK)
        .remove(keys::GSI1_SK)
}

/// Holds only on the post as `read` was: its lifecycle and its last change. A decision or an
/// edit is about the post as its author saw it.
pub(super) fn as_read(read: &Post) -> Condition {
    Condition::eq(attr::LIFECYCLE, read.lifecycle.as_str())
        .and(Condition::eq(attr::UPDATED_AT, ms(read.updated_at)))
}

/// A post's transaction lost to a concurrent change.
pub(super) fn changed_meanwhile(e: TableError) -> AppError {
    match e {
        TableError::TransactionCancelled { .. } => {
            AppError::Conflict("the post changed meanwhile; read it and try again".into())
        }
        e => e.into(),
    }
}

/// 409 if a target is past draft or scheduled (being sent, out, or done); `why` ends the
/// message.
pub(super) fn refuse_if_out(targets: &[TargetRecord], why: &str) -> Result<(), AppError> {
    match targets.iter().find(|t| {
        !matches!(
            t.target.status,
            TargetStatus::Draft | TargetStatus::Scheduled
        )
    }) {
        Some(busy) => Err(AppError::Conflict(format!(
            "the target on {} is already {}{why}",
            busy.target.account,
            busy.target.status.as_str()
        ))),
        None => Ok(()),
    }
}

/// The writes creating a post and its targets; targets of a repeating post are marked, so the
/// publisher knows to make the next occurrence.
pub(super) fn post_writes(post: &Post, targets: &[Target]) -> Vec<TxOp> {
    let mut ops = vec![TxOp::Put {
        item: post_item(post),
        condition: Some(Condition::item_absent()),
    }];
    ops.extend(targets.iter().map(|t| {
        let mut item = records::target_item(t);
        if post.recurrence.is_some() {
            item.insert(records::attr::RECURRING.into(), Value::Bool(true));
        }
        TxOp::Put {
            item,
            condition: Some(Condition::item_absent()),
        }
    }));
    ops
}

/// A post and its targets as stored.
pub async fn load(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &PostId,
) -> Result<(Post, Vec<TargetRecord>), AppError> {
    let items = deps
        .table
        .query_all(Query::table(keys::post_partition(ws, id)))
        .await?;
    let mut post = None;
    let mut targets = Vec::new();
    for item in &items {
        match item.get(records::KIND).and_then(Value::as_s) {
            Some("post") => post = Some(from_json::<Post>(item)?),
            Some("target") => targets.push(records::target_from(item)?),
            _ => {}
        }
    }
    let post = post.ok_or(AppError::NotFound("post"))?;
    Ok((post, targets))
}

pub async fn get(deps: &Deps, ws: &WorkspaceId, id: &PostId) -> Result<PostView, AppError> {
    let (post, targets) = load(deps, ws, id).await?;
    let mut targets: Vec<Target> = targets.into_iter().map(|r| r.target).collect();
    // The order the post named its accounts in, as the create answer has it.
    targets.sort_by_key(|t| post.accounts.iter().position(|a| *a == t.account));
    Ok(PostView::of(&post, &targets))
}
