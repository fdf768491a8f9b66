//! A reply with an `Idempotency-Key`, sent once however often it is asked for: the key is
//! claimed with a conditional write and a lease before the network is called (the claim the
//! publisher makes for a target). A network failure that leaves the outcome unknown marks the
//! claim `unconfirmed`; the next request with the key reconciles it (the network asked
//! whether the reply is there, or the reply sent again where the network deduplicates it)
//! instead of posting twice. A refusal that took no effect releases the key.

use super::{InboxItem, answered, prepare};
use crate::records::{DATA, from_json, ms, time};
use crate::{AppError, Deps};
use chrono::{DateTime, Duration, Utc};
use herald_domain::{InboxItemId, WorkspaceId};
use herald_ports::{Condition, Key, NetworkErrorKind, Published, TableError, Value};
use herald_storage::keys;
use sha2::{Digest, Sha256};

/// How long a key is remembered.
const KEEP_HOURS: i64 = 24;
/// How long a claim holds before another request may take it over (a crashed sender).
const LEASE_SECONDS: i64 = 60;
const SCOPE: &str = "inbox-reply";

mod attr {
    pub const REQUEST: &str = "request";
    pub const STATE: &str = "state";
    pub const LEASE: &str = "lease_until";
    pub const SINCE: &str = "since";
}
const SENDING: &str = "sending";
const UNCONFIRMED: &str = "unconfirmed";
const DONE: &str = "done";

/// A reply's answer, and whether it is the first one given again.
#[derive(Debug)]
pub struct Replied {
    pub item: InboxItem,
    pub replayed: bool,
}

/// Replies once per key; without one, as [`super::reply`].
pub async fn reply(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &InboxItemId,
    text: &str,
    idempotency_key: Option<&str>,
) -> Result<Replied, AppError> {
    let Some(k) = idempotency_key else {
        return Ok(Replied {
            item: super::reply(deps, ws, id, text).await?,
            replayed: false,
        });
    };
    if k.is_empty() || k.len() > 255 {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "must be 1 to 255 characters",
        ));
    }
    let key = keys::idempotency(ws, SCOPE, &hex::encode(Sha256::digest(k.as_bytes())));
    let request = hex::encode(Sha256::digest(format!("{id}\n{}", text.trim())));
    let now = deps.clock.now();
    let stored = deps.table.get(&key).await?;
    let live = stored.filter(|i| {
        i.get(herald_ports::table::TTL)
            .and_then(Value::as_n)
            .is_none_or(|t| t >= now.timestamp())
    });
    let Some(record) = live else {
        // First use of the key.
        let prepared = prepare(deps, ws, id, text).await?;
        claim(deps, &key, &request, now, None, now).await?;
        return send(deps, ws, id, &key, &prepared, now).await;
    };
    if record.get(attr::REQUEST).and_then(Value::as_s) != Some(request.as_str()) {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "this key was already used with a different request",
        ));
    }
    let state = record.get(attr::STATE).and_then(Value::as_s).unwrap_or("");
    if state == DONE {
        return Ok(Replied {
            item: from_json(&record)?,
            replayed: true,
        });
    }
    let lease = time(&record, attr::LEASE).unwrap_or(now);
    if state == SENDING && lease > now {
        return Err(AppError::Conflict(
            "a reply with this Idempotency-Key is being sent: ask again in a moment".into(),
        ));
    }
    // A sender that crashed, or one that could not tell whether the network took it:
    // take the claim over, then find out.
    let since = time(&record, attr::SINCE).unwrap_or(now) - Duration::minutes(1);
    let prepared = prepare(deps, ws, id, text).await?;
    claim(deps, &key, &request, now, Some(&record), since).await?;
    if !prepared.connector.reply_retry_is_safe() {
        match prepared
            .connector
            .find_reply(
                &prepared.context,
                &prepared.item.remote_id,
                &prepared.text,
                since,
            )
            .await
        {
            Ok(Some(found)) => return finish(deps, ws, id, &key, &prepared, &found, now).await,
            Ok(None) => {}
            Err(e) => {
                mark_unconfirmed(deps, &key).await?;
                return Err(AppError::Conflict(format!(
                    "an earlier attempt with this Idempotency-Key may have replied; the network \
                     cannot say ({e}), so it is not sent again"
                )));
            }
        }
    }
    send(deps, ws, id, &key, &prepared, now).await
}

/// Takes the key: over nothing (or an expired record), or over exactly the record read.
async fn claim(
    deps: &Deps,
    key: &Key,
    request: &str,
    now: DateTime<Utc>,
    over: Option<&herald_ports::Item>,
    since: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut item = key.item();
    item.insert(attr::REQUEST.into(), Value::S(request.into()));
    item.insert(attr::STATE.into(), Value::S(SENDING.into()));
    item.insert(
        attr::LEASE.into(),
        ms(now + Duration::seconds(LEASE_SECONDS)),
    );
    item.insert(attr::SINCE.into(), ms(since));
    item.insert(
        herald_ports::table::TTL.into(),
        Value::N((now + Duration::hours(KEEP_HOURS)).timestamp()),
    );
    let condition = match over {
        None => Condition::item_absent().or(Condition::Lt(
            herald_ports::table::TTL.into(),
            Value::N(now.timestamp()),
        )),
        Some(read) => Condition::Eq(
            attr::STATE.into(),
            read.get(attr::STATE).cloned().unwrap_or(Value::Null),
        )
        .and(Condition::Eq(
            attr::LEASE.into(),
            read.get(attr::LEASE).cloned().unwrap_or(Value::Null),
        )),
    };
    match deps.table.put(item, Some(condition)).await {
        Ok(()) => Ok(()),
        Err(TableError::ConditionFailed { .. }) => Err(AppError::Conflict(
            "a reply with this Idempotency-Key is being sent: ask again in a moment".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn send(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &InboxItemId,
    key: &Key,
    prepared: &super::Prepared,
    now: DateTime<Utc>,
) -> Result<Replied, AppError> {
    match prepared
        .connector
        .reply(&prepared.context, &prepared.item.remote_id, &prepared.text)
        .await
    {
        Ok(sent) => finish(deps, ws, id, key, prepared, &sent, now).await,
        Err(e) if e.kind == NetworkErrorKind::Uncertain => {
            mark_unconfirmed(deps, key).await?;
            Err(e.into())
        }
        Err(e) => {
            // The network refused: nothing went out, so the key may be used again.
            deps.table.delete(key, None).await?;
            Err(e.into())
        }
    }
}

async fn finish(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &InboxItemId,
    key: &Key,
    prepared: &super::Prepared,
    sent: &Published,
    now: DateTime<Utc>,
) -> Result<Replied, AppError> {
    let item = answered(deps, ws, id, &prepared.platform, sent).await?;
    let update = herald_ports::Update::new()
        .set(attr::STATE, Value::S(DONE.into()))
        .set(
            DATA,
            Value::S(serde_json::to_string(&item).expect("records serialize")),
        )
        .set(
            herald_ports::table::TTL,
            Value::N((now + Duration::hours(KEEP_HOURS)).timestamp()),
        );
    deps.table.update(key, update, None).await?;
    Ok(Replied {
        item,
        replayed: false,
    })
}

async fn mark_unconfirmed(deps: &Deps, key: &Key) -> Result<(), AppError> {
    let update = herald_ports::Update::new().set(attr::STATE, Value::S(UNCONFIRMED.into()));
    deps.table.update(key, update, None).await?;
    Ok(())
}
