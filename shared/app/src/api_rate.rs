//! Per-key request allowances for the API: every authenticated request takes one unit from
//! its key's per-second and per-minute windows, or is refused with 429 and when to come back.
//! Counters live in the table (conditional atomic adds, one transaction), so every Lambda
//! instance and every host shares them. Windows are fixed, aligned to the epoch, as the
//! publishing allowances' are (`rate.rs`).

use crate::{AppError, Deps};
use chrono::{DateTime, Utc};
use herald_domain::WorkspaceId;
use herald_ports::{Condition, TableError, TxOp, Update, Value};
use herald_storage::keys;
use sha2::{Digest, Sha256};

/// How many requests one key may make: per second, and per minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiLimits {
    pub per_second: u32,
    pub per_minute: u32,
}

impl Default for ApiLimits {
    /// The README's numbers: bursts of 50 a second, 1,200 a minute sustained.
    fn default() -> Self {
        ApiLimits {
            per_second: 50,
            per_minute: 1200,
        }
    }
}

impl ApiLimits {
    /// No limit at all (0 means none): tests that drive thousands of requests on a stopped clock.
    pub fn unlimited() -> Self {
        ApiLimits {
            per_second: 0,
            per_minute: 0,
        }
    }
}

/// Takes one request from the allowances of the key `token` (of workspace `ws`, None for the
/// admin key). Refused: `AppError::RateLimited` with the seconds until a window renews, and
/// nothing taken.
pub async fn take(
    deps: &Deps,
    ws: Option<&WorkspaceId>,
    token: &str,
    limits: ApiLimits,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let who = hex::encode(&Sha256::digest(token.as_bytes())[..12]);
    let mut ops = vec![];
    let mut ends = vec![];
    for (window, max) in [(1i64, limits.per_second), (60, limits.per_minute)] {
        if max == 0 {
            continue;
        }
        let index = now.timestamp().div_euclid(window);
        let end = (index + 1) * window;
        ends.push(end);
        ops.push(TxOp::Update {
            key: keys::api_rate(ws, &who, window, index),
            update: Update::new()
                .add("count", 1)
                .set(herald_ports::table::TTL, Value::N(end + window)),
            condition: Some(
                Condition::NotExists("count".into())
                    .or(Condition::Lt("count".into(), Value::N(i64::from(max)))),
            ),
        });
    }
    if ops.is_empty() {
        return Ok(());
    }
    match deps.table.transact(ops).await {
        Ok(()) => Ok(()),
        Err(TableError::TransactionCancelled { failed }) if !failed.is_empty() => {
            let end = failed.iter().filter_map(|i| ends.get(*i)).max().copied();
            let wait = end.map_or(1, |e| (e - now.timestamp()).max(1));
            Err(AppError::RateLimited(wait as u64))
        }
        Err(e) => Err(e.into()),
    }
}
