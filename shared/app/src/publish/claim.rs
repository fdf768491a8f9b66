//! The claim: a conditional write that makes this run the only one carrying a target, with a
//! lease, before any network call.

use super::due::lease_update;
use super::held::Held;
use super::{Outcome, PublishOptions};
use crate::records::{self, TargetRecord, attr, ms};
use crate::{AppError, Deps, posts};
use chrono::{DateTime, Duration, Utc};
use herald_domain::{Target, TargetStatus};
use herald_ports::{Condition, Key, TableError, Update, Value};
use herald_storage::keys;

/// Claims one target, if it is still due and free, and carries it to its next state.
pub async fn process(
    deps: &Deps,
    options: &PublishOptions,
    instance: &str,
    key: &Key,
) -> Result<Outcome, AppError> {
    let Some(item) = deps.table.get(key).await? else {
        return Ok(Outcome::Skipped);
    };
    let record = records::target_from(&item)?;
    let now = deps.clock.now();
    let t = &record.target;
    let dead_claim = options.exclusive
        && record
            .claim
            .as_deref()
            .is_some_and(|c| !c.starts_with(instance));
    let lease_over = dead_claim || record.lease_until.is_none_or(|l| l <= now);
    let claimable = match t.status {
        TargetStatus::Scheduled => t.due_at.is_some_and(|d| d <= now),
        TargetStatus::Publishing | TargetStatus::Unconfirmed => lease_over,
        _ => false,
    };
    if !claimable {
        return Ok(Outcome::Skipped);
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
    let must_check = t.attempts > 0;
    if !must_check {
        let limits = deps.connector(t.platform)?.limits().publish_limits;
        if let Some(renews) = crate::rate::take(deps, t, limits, now).await? {
            return defer(deps, key, &record, renews).await;
        }
    }
    let claim = format!("{instance}:{:032x}", deps.random_u128());
    let lease_until = now + options.lease;
    let status = if must_check {
        TargetStatus::Unconfirmed
    } else {
        TargetStatus::Publishing
    };
    let guard = Condition::eq(attr::STATUS, t.status.as_str()).and(match &record.claim {
        Some(c) => Condition::eq(attr::CLAIM, c.as_str()),
        None => Condition::NotExists(attr::CLAIM.into()),
    });
    let mut claim_update = lease_update(&record.target, lease_until)
        .set(attr::STATUS, status.as_str())
        .set(attr::CLAIM, claim.as_str());
    if !must_check {
        claim_update = claim_update.add(attr::ATTEMPTS, 1);
        if record.first_sent_at.is_none() {
            claim_update = claim_update.set(attr::FIRST_SENT_AT, ms(now));
        }
    }
    match deps.table.update(key, claim_update, Some(guard)).await {
        Ok(_) => {}
        Err(TableError::ConditionFailed { .. }) => return Ok(Outcome::Skipped),
        Err(e) => return Err(e.into()),
    }
    let mut held = Held {
        deps,
        options,
        key: key.clone(),
        claim,
        record,
    };
    if !must_check {
        held.record.target.attempts += 1;
        held.record.first_sent_at.get_or_insert(now);
    }
    held.carry(must_check).await
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
            tracing::info!(post = %t.post, account = %t.account, platform = %t.platform, until = %at, "deferred: the network's publishing allowance is spent");
            Ok(Outcome::Deferred)
        }
        Err(TableError::ConditionFailed { .. }) => Ok(Outcome::Skipped),
        Err(e) => Err(e.into()),
    }
}
