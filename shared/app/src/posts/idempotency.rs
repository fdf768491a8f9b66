//! `Idempotency-Key` on create: the record is written in the post's own transaction, so a
//! repeat of the request answers the first answer and never makes a second post.

use super::view::{Created, NewPost, PostView};
use crate::records::{from_json, json_item};
use crate::{AppError, Deps};
use chrono::{DateTime, Utc};
use herald_domain::WorkspaceId;
use herald_ports::{Condition, Key, TxOp, Value};
use herald_storage::keys;
use sha2::{Digest, Sha256};

/// How long an `Idempotency-Key` is remembered.
const IDEMPOTENCY_HOURS: i64 = 24;

/// A create carrying a key: where its record lives, and a digest of the request it was sent with.
pub(super) struct Request {
    key: Key,
    hash: String,
}

impl Request {
    /// The request's record, or none without a key; a key out of bounds is refused.
    pub(super) fn of(
        ws: &WorkspaceId,
        idempotency_key: Option<(&str, &str)>,
        new: &NewPost,
    ) -> Result<Option<Request>, AppError> {
        match idempotency_key {
            None => Ok(None),
            Some((_, k)) if k.is_empty() || k.len() > 255 => Err(AppError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 characters",
            )),
            Some((scope, k)) => Ok(Some(Request {
                key: keys::idempotency(ws, scope, &hex::encode(Sha256::digest(k.as_bytes()))),
                hash: request_hash(new),
            })),
        }
    }

    /// The write remembering the answer, in the create's transaction.
    pub(super) fn record(&self, view: &PostView, now: DateTime<Utc>) -> TxOp {
        let mut item = json_item(&self.key, "idempotency", view);
        item.insert("request".into(), Value::S(self.hash.clone()));
        let expires = now + chrono::Duration::hours(IDEMPOTENCY_HOURS);
        item.insert(
            herald_ports::table::TTL.into(),
            Value::N(expires.timestamp()),
        );
        TxOp::Put {
            item,
            condition: Some(Condition::item_absent().or(Condition::Lt(
                herald_ports::table::TTL.into(),
                Value::N(now.timestamp()),
            ))),
        }
    }

    /// The earlier answer to this key, if it is remembered; the key with another request is
    /// refused.
    pub(super) async fn replay(
        &self,
        deps: &Deps,
        now: DateTime<Utc>,
    ) -> Result<Option<Created>, AppError> {
        replay(deps, &self.key, &self.hash, now).await
    }
}

fn request_hash(new: &NewPost) -> String {
    let canonical = serde_json::to_vec(new).expect("json serializes");
    hex::encode(Sha256::digest(&canonical))
}

async fn replay(
    deps: &Deps,
    key: &Key,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<Created>, AppError> {
    let Some(item) = deps.table.get(key).await? else {
        return Ok(None);
    };
    let expired = item
        .get(herald_ports::table::TTL)
        .and_then(Value::as_n)
        .is_some_and(|t| t < now.timestamp());
    if expired {
        return Ok(None);
    }
    if item.get("request").and_then(Value::as_s) != Some(hash) {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "this key was already used with a different request",
        ));
    }
    Ok(Some(Created {
        post: from_json(&item)?,
        replayed: true,
    }))
}
