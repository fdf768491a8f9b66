//! The claim: a conditional write that makes this run the only one carrying a target, with a
//! lease, before any network call. Targets are claimed ahead of their second (within the
//! lookahead), so the work of preparing them is done before it.

use super::due::lease_update;
use super::held::Held;
use super::wake::{self, Due};
use super::{Outcome, PublishOptions};
use crate::records::{self, TargetRecord, attr, ms};
use crate::{AppError, Deps, posts};
use chrono::{DateTime, Duration, Utc};
use herald_domain::{Target, TargetStatus};
use herald_ports::{Condition, Item, Key, TableError, TxOp, Update, Value};
use herald_storage::keys;

/// When a target read from the index may be claimed: a scheduled one from `lookahead` before
/// its second, one under a live claim only once that claim's lease is over.
pub(super) fn claimable_from(
    record: &TargetRecord,
    options: &PublishOptions,
    instance: &str,
) -> Option<DateTime<Utc>> {
    let t = &record.target;
    let dead_claim = options.exclusive
        && record
            .claim
            .as_deref()
            .is_some_and(|c| !c.starts_with(instance));
    match t.status {
        TargetStatus::Scheduled => t.due_at.map(|d| d - options.lookahead),
        TargetStatus::Publishing | TargetStatus::Unconfirmed if dead_claim => {
            Some(DateTime::<Utc>::MIN_UTC)
        }
        TargetStatus::Publishing | TargetStatus::Unconfirmed => {
            Some(record.lease_until.unwrap_or(DateTime::<Utc>::MIN_UTC))
        }
        _ => None,
    }
}

/// Claims one target as read (from the index or the table), if it is still due and free.
/// Answers the held target, or what became of it when it could not be claimed.
pub(super) async fn claim<'a>(
    deps: &'a Deps,
    options: &'a PublishOptions,
    instance: &str,
    item: &Item,
) -> Result<Result<Held<'a>, Outcome>, AppError> {
    let record = records::target_from(item)?;
    let key = records::target_key(&record.target);
    let now = deps.clock.now();
    let t = &record.target;
    if claimable_from(&record, options, instance).is_none_or(|from| from > now) {
        return Ok(Err(Outcome::Skipped));
    }
    // A repeating post's next occurrence exists before this one goes out; made first, and
    // idempotently, so a crash anywhere after cannot end the series.
    if t.status == TargetStatus::Scheduled && item.get(attr::RECURRING) == Some(&Value::Bool(true))
    {
        let (post, targets) = posts::load(deps, &t.workspace, &t.post).await?;
        let targets: Vec<Target> = targets.into_iter().map(|r| r.target).collect();
        posts::ensure_next_occurrence(deps, &post, &targets).await?;
    }
    // An earlier attempt may have reached the network: check before sending again.
    let must_check = record.first_sent_at.is_some();
    let claim = format!("{instance}:{:032x}", deps.random_u128());
    // The lease runs from the target's second, and the index offers the target again at its
    // end: a claim taken ahead and then lost to a crash is found and resolved like any other.
    let lease_until = t.due_at.unwrap_or(now).max(now) + options.lease;
    let status = if must_check {
        TargetStatus::Unconfirmed
    } else {
        TargetStatus::Publishing
    };
    // Everything the decision read: the index may be a little behind the table.
    let guard = Condition::eq(attr::STATUS, t.status.as_str())
        .and(match &record.claim {
            Some(c) => Condition::eq(attr::CLAIM, c.as_str()),
            None => Condition::NotExists(attr::CLAIM.into()),
        })
        .and(match record.lease_until {
            Some(l) => Condition::Eq(attr::LEASE_UNTIL.into(), ms(l)),
            None => Condition::NotExists(attr::LEASE_UNTIL.into()),
        })
        .and(match t.due_at {
            Some(d) => Condition::Eq(attr::DUE_AT.into(), ms(d)),
            None => Condition::NotExists(attr::DUE_AT.into()),
        });
    // Every claim is an attempt, whatever step it then fails at.
    let update = lease_update(t, lease_until)
        .set(attr::STATUS, status.as_str())
        .set(attr::CLAIM, claim.as_str())
        .add(attr::ATTEMPTS, 1);
    let mut ops = vec![TxOp::Update {
        key: key.clone(),
        update,
        condition: Some(guard),
    }];
    // A fresh send takes its unit of the network's allowance in the same write.
    let mut allowance = None;
    if !must_check && !record.cancelled {
        let limits = deps.connector(t.platform)?.limits().publish_limits;
        let (rate_ops, ends) = crate::rate::take_ops(t, limits, now);
        allowance = Some(ends);
        ops.extend(rate_ops);
    }
    let written = if ops.len() == 1 {
        let Some(TxOp::Update {
            key,
            update,
            condition,
        }) = ops.pop()
        else {
            unreachable!("one update")
        };
        match deps.table.update(&key, update, condition).await {
            Ok(_) => Ok(()),
            Err(TableError::ConditionFailed { .. }) => {
                Err(TableError::TransactionCancelled { failed: vec![0] })
            }
            Err(e) => Err(e),
        }
    } else {
        deps.table.transact(ops).await
    };
    match written {
        Ok(()) => {}
        Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
            return Ok(Err(Outcome::Skipped));
        }
        Err(TableError::TransactionCancelled { failed }) if !failed.is_empty() => {
            let ends = allowance.unwrap_or_default();
            let renews = failed
                .iter()
                .filter_map(|i| ends.get(i.wrapping_sub(1)))
                .max()
                .copied()
                .unwrap_or(now + Duration::minutes(1));
            return defer(deps, &key, &record, renews).await.map(Err);
        }
        Err(e) => return Err(e.into()),
    }
    // Should this attempt die, the index offers the target again at its lease's end: a wake
    // for then, made beside the send rather than before it (the send's outcome usually
    // makes it moot).
    wake::in_background(deps, Due::of(t, lease_until));
    let mut record = record;
    record.target.status = status;
    record.target.attempts += 1;
    record.claim = Some(claim.clone());
    record.lease_until = Some(lease_until);
    Ok(Ok(Held {
        deps,
        options,
        key,
        claim,
        record,
        must_check,
    }))
}

/// Claims, prepares and carries one target now, if it is due and free (a run of its own,
/// without the dispatcher's waiting).
pub async fn process(
    deps: &Deps,
    options: &PublishOptions,
    instance: &str,
    key: &Key,
) -> Result<Outcome, AppError> {
    let Some(item) = deps.table.get(key).await? else {
        return Ok(Outcome::Skipped);
    };
    process_item(deps, options, instance, &item).await
}

/// As `process`, for a target item just read.
pub(super) async fn process_item(
    deps: &Deps,
    options: &PublishOptions,
    instance: &str,
    item: &Item,
) -> Result<Outcome, AppError> {
    let options = PublishOptions {
        lookahead: Duration::zero(),
        ..options.clone()
    };
    let mut held = match claim(deps, &options, instance, item).await? {
        Ok(held) => held,
        Err(outcome) => return Ok(outcome),
    };
    let cache = super::prepare::Cache::default();
    match held.prepare(&cache).await? {
        Ok(prepared) => held.send(prepared).await,
        Err(outcome) => Ok(outcome),
    }
}

/// Moves a target whose allowance is spent to when it renews, spread over a few seconds so
/// the deferred part of a burst does not return as one.
async fn defer(
    deps: &Deps,
    key: &Key,
    record: &TargetRecord,
    renews: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    let t = &record.target;
    let at = renews + Duration::milliseconds((deps.random.u64() % 5_000) as i64);
    let (pk, sk) = keys::due_entry(at, &t.workspace, &t.post, &t.account);
    // Only the time it was read with: a post moved meanwhile keeps its new time.
    let read_due = t.due_at.map_or(Value::Null, ms);
    let guard = Condition::eq(attr::STATUS, TargetStatus::Scheduled.as_str())
        .and(Condition::NotExists(attr::CLAIM.into()))
        .and(Condition::Eq(attr::DUE_AT.into(), read_due));
    let update = Update::new()
        .set(attr::DUE_AT, ms(at))
        .set(keys::GSI1_PK, pk)
        .set(keys::GSI1_SK, sk);
    match deps.table.update(key, update, Some(guard)).await {
        Ok(_) => {
            wake::after_commit(deps, &[Due::of(t, at)]).await;
            tracing::info!(post = %t.post, account = %t.account, platform = %t.platform, until = %at, "deferred: the network's publishing allowance is spent");
            Ok(Outcome::Deferred)
        }
        Err(TableError::ConditionFailed { .. }) => Ok(Outcome::Skipped),
        Err(e) => Err(e.into()),
    }
}
