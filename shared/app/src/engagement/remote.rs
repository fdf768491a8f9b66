//! Which post a network's id names: written with the target's outcome when it is published,
//! read when the network reports engagement on it.

use crate::records::{KIND, ms};
use crate::{AppError, Deps};
use chrono::{DateTime, Utc};
use herald_domain::{AccountId, Platform, PostId, Target, WorkspaceId};
use herald_ports::{TxOp, Value};
use herald_storage::keys;

/// Longest network id kept in a key (the table refuses key parts over 1024 bytes).
pub const MAX_REMOTE_ID: usize = 512;

/// Whether a network's id may stand in a key: not empty, not too long, no control characters.
pub fn usable(remote_id: &str) -> bool {
    !remote_id.is_empty()
        && remote_id.len() <= MAX_REMOTE_ID
        && !remote_id.chars().any(char::is_control)
}

/// The write that remembers a published target's remote id (none for an id no key can hold).
pub fn remote_post_op(t: &Target, remote_id: &str, now: DateTime<Utc>) -> Option<TxOp> {
    if !usable(remote_id) {
        return None;
    }
    let mut item = keys::remote_post(&t.workspace, t.platform, remote_id).item();
    item.insert(KIND.into(), "remote_post".into());
    item.insert("post".into(), t.post.as_str().into());
    item.insert("account".into(), t.account.as_str().into());
    item.insert("published_at".into(), ms(now));
    Some(TxOp::Put {
        item,
        condition: None,
    })
}

/// The post (and the account it was published to) a network's id names, if Herald made it.
pub async fn resolve(
    deps: &Deps,
    ws: &WorkspaceId,
    platform: Platform,
    remote_id: &str,
) -> Result<Option<(PostId, AccountId)>, AppError> {
    if !usable(remote_id) {
        return Ok(None);
    }
    let Some(item) = deps
        .table
        .get(&keys::remote_post(ws, platform, remote_id))
        .await?
    else {
        return Ok(None);
    };
    let s = |n: &str| item.get(n).and_then(Value::as_s);
    Ok(s("post")
        .and_then(PostId::parse)
        .zip(s("account").and_then(AccountId::parse)))
}
