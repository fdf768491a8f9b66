//! How domain values are kept as table items. Fields that conditions and indexes look at are
//! attributes of their own; the rest of a record is JSON in `data`.

use crate::AppError;
use chrono::{DateTime, Utc};
use herald_domain::{AccountId, Platform, PostId, Target, TargetStatus, WorkspaceId};
use herald_ports::{Item, Key, Value};
use herald_storage::keys;
use serde::{Serialize, de::DeserializeOwned};
use std::collections::BTreeMap;

pub const DATA: &str = "data";
pub const KIND: &str = "kind";

/// Target attributes.
pub mod attr {
    pub const WORKSPACE: &str = "workspace";
    pub const POST: &str = "post";
    pub const ACCOUNT: &str = "account";
    pub const PLATFORM: &str = "platform";
    pub const STATUS: &str = "status";
    pub const DUE_AT: &str = "due_at";
    pub const LEASE_UNTIL: &str = "lease_until";
    pub const CLAIM: &str = "claim";
    pub const ATTEMPTS: &str = "attempts";
    pub const REMOTE_ID: &str = "remote_id";
    pub const URL: &str = "url";
    pub const ERROR: &str = "error";
    pub const PUBLISHED_AT: &str = "published_at";
    pub const FIRST_SENT_AT: &str = "first_sent_at";
    pub const PROGRESS: &str = "progress";
    pub const LIFECYCLE: &str = "lifecycle";
    pub const SCHEDULED_AT: &str = "scheduled_at";
    /// A post's last change: a review decision holds only on the version it read.
    pub const UPDATED_AT: &str = "updated_at";
    /// Set on targets of a repeating post.
    pub const RECURRING: &str = "recurring";
    /// Set by a cancel on a target being published or confirmed: nothing more may be sent.
    pub const CANCELLED: &str = "cancelled";
}

/// An item holding `value` as JSON under `data`, tagged with its record kind.
pub fn json_item<T: Serialize>(key: &Key, kind: &str, value: &T) -> Item {
    let mut item = key.item();
    item.insert(KIND.into(), Value::S(kind.into()));
    item.insert(
        DATA.into(),
        Value::S(serde_json::to_string(value).expect("records serialize")),
    );
    item
}

pub fn from_json<T: DeserializeOwned>(item: &Item) -> Result<T, AppError> {
    let data = item
        .get(DATA)
        .and_then(Value::as_s)
        .ok_or_else(|| AppError::Corrupt(format!("{:?} has no data", Key::of(item))))?;
    serde_json::from_str(data).map_err(|e| AppError::Corrupt(e.to_string()))
}

pub fn ms(t: DateTime<Utc>) -> Value {
    Value::N(t.timestamp_millis())
}

pub fn time(item: &Item, name: &str) -> Option<DateTime<Utc>> {
    item.get(name)
        .and_then(Value::as_n)
        .and_then(DateTime::from_timestamp_millis)
}

fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(Value::as_s)
}

/// A target as stored, with what the publishing engine keeps beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetRecord {
    pub target: Target,
    pub lease_until: Option<DateTime<Utc>>,
    pub claim: Option<String>,
    /// When the first publish attempt was made: reconciliation looks from here on.
    pub first_sent_at: Option<DateTime<Utc>>,
    /// Remote ids of completed steps of a multi-step publish.
    pub progress: BTreeMap<String, String>,
    /// The post was cancelled while this target was in flight or unconfirmed.
    pub cancelled: bool,
}

pub fn target_key(t: &Target) -> Key {
    keys::target(&t.workspace, &t.post, &t.account)
}

/// A new target's item, listed in the due index when it is scheduled.
pub fn target_item(t: &Target) -> Item {
    let mut item = target_key(t).item();
    item.insert(KIND.into(), Value::S("target".into()));
    item.insert(attr::WORKSPACE.into(), t.workspace.as_str().into());
    item.insert(attr::POST.into(), t.post.as_str().into());
    item.insert(attr::ACCOUNT.into(), t.account.as_str().into());
    item.insert(attr::PLATFORM.into(), t.platform.as_str().into());
    item.insert(attr::STATUS.into(), t.status.as_str().into());
    item.insert(attr::ATTEMPTS.into(), Value::N(i64::from(t.attempts)));
    if let Some(due) = t.due_at {
        item.insert(attr::DUE_AT.into(), ms(due));
        if t.status == TargetStatus::Scheduled {
            let (pk, sk) = keys::due_entry(due, &t.workspace, &t.post, &t.account);
            item.insert(keys::GSI1_PK.into(), pk.into());
            item.insert(keys::GSI1_SK.into(), sk.into());
        }
    }
    item
}

pub fn target_from(item: &Item) -> Result<TargetRecord, AppError> {
    let corrupt = |what: &str| AppError::Corrupt(format!("target without {what}"));
    let target = Target {
        workspace: s(item, attr::WORKSPACE)
            .and_then(WorkspaceId::parse)
            .ok_or_else(|| corrupt("workspace"))?,
        post: s(item, attr::POST)
            .and_then(PostId::parse)
            .ok_or_else(|| corrupt("post"))?,
        account: s(item, attr::ACCOUNT)
            .and_then(AccountId::parse)
            .ok_or_else(|| corrupt("account"))?,
        platform: s(item, attr::PLATFORM)
            .and_then(Platform::parse)
            .ok_or_else(|| corrupt("platform"))?,
        status: s(item, attr::STATUS)
            .and_then(TargetStatus::parse)
            .ok_or_else(|| corrupt("status"))?,
        due_at: time(item, attr::DUE_AT),
        remote_id: s(item, attr::REMOTE_ID).map(str::to_owned),
        url: s(item, attr::URL).map(str::to_owned),
        error: s(item, attr::ERROR).map(str::to_owned),
        published_at: time(item, attr::PUBLISHED_AT),
        attempts: item
            .get(attr::ATTEMPTS)
            .and_then(Value::as_n)
            .unwrap_or(0)
            .try_into()
            .unwrap_or(0),
    };
    let progress = match item.get(attr::PROGRESS) {
        Some(Value::M(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_s()?.to_owned())))
            .collect(),
        _ => BTreeMap::new(),
    };
    Ok(TargetRecord {
        target,
        lease_until: time(item, attr::LEASE_UNTIL),
        claim: s(item, attr::CLAIM).map(str::to_owned),
        first_sent_at: time(item, attr::FIRST_SENT_AT),
        progress,
        cancelled: item.get(attr::CANCELLED) == Some(&Value::Bool(true)),
    })
}
