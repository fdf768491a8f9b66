//! The due index: targets listed by the hour bucket (and shard) of when they are due, or of
//! when their claim's lease runs out.

use crate::records::{self, attr, ms};
use crate::{AppError, Deps};
use chrono::{DateTime, Duration, Utc};
use herald_domain::Target;
use herald_ports::{Item, Key, Query, Update, Value};
use herald_storage::keys;

/// How far back the due index is read when no run has left a watermark yet.
const FIRST_LOOKBACK_DAYS: i64 = 7;

/// Due-index entries (with their items) due by `until`, oldest bucket first, from the watermark on. Then the
/// watermark moves up to the oldest bucket still holding an entry that is already due.
pub(super) async fn due_entries(
    deps: &Deps,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, Key, Item)>, AppError> {
    let mark_key = keys::system("DUE_WATERMARK");
    let watermark = deps
        .table
        .get(&mark_key)
        .await?
        .and_then(|i| records::time(&i, "at"))
        .unwrap_or_else(|| keys::bucket_start(now - Duration::days(FIRST_LOOKBACK_DAYS)));
    let mut out = Vec::new();
    let mut oldest_due: Option<DateTime<Utc>> = None;
    let mut bucket = keys::bucket_start(watermark);
    while bucket <= until {
        for shard in 0..keys::DUE_SHARDS {
            let items = deps
                .table
                .query_all(
                    Query::index(keys::GSI1, keys::due_bucket(bucket, shard))
                        .sk(keys::due_until(until)),
                )
                .await?;
            for item in items {
                let Some((due, ws, post, acct)) = item
                    .get(keys::GSI1_SK)
                    .and_then(Value::as_s)
                    .and_then(keys::parse_due)
                else {
                    continue;
                };
                if due <= now {
                    oldest_due = Some(oldest_due.map_or(due, |o| o.min(due)));
                }
                // The index holds whole items: the claim starts from what it read here, and
                // its condition catches an index a little behind the table.
                out.push((due, keys::target(&ws, &post, &acct), item));
            }
        }
        bucket += Duration::hours(1);
    }
    // Entries only ever land at or after "now" minus a little, so buckets older than a few
    // minutes ago fill no more; keep any bucket that still holds unprocessed work.
    let floor = keys::bucket_start(now - Duration::minutes(5));
    let new_mark = oldest_due.map_or(floor, |d| keys::bucket_start(d).min(floor));
    if new_mark > watermark {
        let mut item = mark_key.item();
        item.insert("at".into(), ms(new_mark));
        deps.table.put(item, None).await?;
    }
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(out)
}

/// The due-index entry and lease of a claimed target: the index offers it again when the
/// lease runs out, so a crashed claim is always found and resolved.
pub(super) fn lease_update(t: &Target, lease_until: DateTime<Utc>) -> Update {
    let (pk, sk) = keys::due_entry(lease_until, &t.workspace, &t.post, &t.account);
    Update::new()
        .set(attr::LEASE_UNTIL, ms(lease_until))
        .set(keys::GSI1_PK, pk)
        .set(keys::GSI1_SK, sk)
}
