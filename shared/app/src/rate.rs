//! Publishing allowances as data: each connector declares its network's limits (per account,
//! per app, per window), and every fresh send first takes one unit from each. Counters live in
//! the table, so concurrent and repeated publisher runs share them. Windows are fixed (aligned
//! to the epoch): simple, and never over the limit within a window.

use crate::records::ms;
use crate::{AppError, Deps};
use chrono::{DateTime, Utc};
use herald_domain::Target;
use herald_domain::limits::{RateLimit, RateScope};
use herald_ports::{Condition, Key, TableError, TxOp, Update, Value};
use herald_storage::keys;

fn window(limit: &RateLimit, now: DateTime<Utc>) -> (i64, DateTime<Utc>) {
    let len = limit.window_seconds.max(1) as i64;
    let index = now.timestamp().div_euclid(len);
    let end = DateTime::from_timestamp((index + 1) * len, 0).unwrap_or(now);
    (index, end)
}

fn counter(t: &Target, limit: &RateLimit, index: i64) -> Key {
    match limit.scope {
        RateScope::Account => {
            keys::account_rate(&t.workspace, &t.account, limit.window_seconds, index)
        }
        RateScope::App => keys::app_rate(t.platform, limit.window_seconds, index),
    }
}

/// The writes taking one publish from every allowance, to put in the claim's transaction,
/// with the end of each allowance's window (when it renews), in the same order.
pub fn take_ops(
    target: &Target,
    limits: &[RateLimit],
    now: DateTime<Utc>,
) -> (Vec<TxOp>, Vec<DateTime<Utc>>) {
    let mut ends = Vec::with_capacity(limits.len());
    let ops = limits
        .iter()
        .map(|limit| {
            let (index, end) = window(limit, now);
            ends.push(end);
            let room = Condition::NotExists("count".into()).or(Condition::Lt(
                "count".into(),
                Value::N(i64::from(limit.max)),
            ));
            // Counters outlive their window a little, then expire.
            let expires = end + chrono::Duration::seconds(limit.window_seconds as i64);
            TxOp::Update {
                key: counter(target, limit, index),
                update: Update::new()
                    .add("count", 1)
                    .set("window_end", ms(end))
                    .set(herald_ports::table::TTL, Value::N(expires.timestamp())),
                condition: Some(room),
            }
        })
        .collect();
    (ops, ends)
}

/// Takes one publish from every allowance. `None`: go ahead. `Some(t)`: an allowance is spent
/// until `t`, and nothing was taken.
pub async fn take(
    deps: &Deps,
    target: &Target,
    limits: &[RateLimit],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    if limits.is_empty() {
        return Ok(None);
    }
    let (ops, ends) = take_ops(target, limits, now);
    match deps.table.transact(ops).await {
        Ok(()) => Ok(None),
        Err(TableError::TransactionCancelled { failed }) if !failed.is_empty() => {
            Ok(failed.iter().filter_map(|i| ends.get(*i)).max().copied())
        }
        Err(e) => Err(e.into()),
    }
}
