//! Posting queues (what Buffer users expect): an account has weekly time slots in its own time
//! zone, and a post sent to the queue takes the account's next free slot. A slot is taken by a
//! conditional write in the post's own transaction, so two posts never share one.

use crate::records::{from_json, json_item, ms, time};
use crate::{AppError, Deps};
use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use herald_domain::{AccountId, FieldError, PostId, WorkspaceId};
use herald_ports::{Condition, Query, SortCondition, TxOp, Value};
use herald_storage::keys;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// `mon` … `sun`.
    pub weekday: String,
    /// `HH:MM`, 24-hour, in the queue's time zone.
    pub time: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// An IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
    pub slots: Vec<Slot>,
}

const MAX_SLOTS: usize = 200;
/// How far ahead a queue looks for a free slot.
const HORIZON_DAYS: i64 = 366;

fn weekday(s: &str) -> Option<Weekday> {
    s.parse::<Weekday>().ok()
}

/// The validated form: a time zone and (weekday, time) pairs, sorted, without repeats.
fn parse(settings: &QueueSettings) -> Result<(Tz, Vec<(Weekday, NaiveTime)>), AppError> {
    let mut errors = Vec::new();
    let tz = settings.timezone.parse::<Tz>().map_err(|_| {
        FieldError::new(
            "timezone",
            format!("unknown time zone {:?}", settings.timezone),
        )
    });
    if settings.slots.is_empty() || settings.slots.len() > MAX_SLOTS {
        errors.push(FieldError::new(
            "slots",
            format!("give 1 to {MAX_SLOTS} slots"),
        ));
    }
    let mut slots = BTreeSet::new();
    for (i, slot) in settings.slots.iter().enumerate() {
        let day = weekday(&slot.weekday);
        let time = NaiveTime::parse_from_str(&slot.time, "%H:%M").ok();
        match (day, time) {
            (Some(d), Some(t)) => {
                slots.insert((d.num_days_from_monday(), t));
            }
            (None, _) => errors.push(FieldError::new(
                format!("slots[{i}].weekday"),
                "one of mon, tue, wed, thu, fri, sat, sun",
            )),
            (_, None) => errors.push(FieldError::new(
                format!("slots[{i}].time"),
                "HH:MM, 24-hour",
            )),
        }
    }
    let tz = match tz {
        Ok(tz) => Some(tz),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    match tz {
        Some(tz) if errors.is_empty() => Ok((
            tz,
            slots
                .into_iter()
                .map(|(d, t)| (Weekday::try_from(d as u8).expect("0..7"), t))
                .collect(),
        )),
        _ => Err(AppError::Invalid(errors)),
    }
}

pub async fn set(
    deps: &Deps,
    ws: &WorkspaceId,
    acct: &AccountId,
    settings: QueueSettings,
) -> Result<QueueSettings, AppError> {
    crate::accounts::get(deps, ws, acct).await?;
    parse(&settings)?;
    deps.table
        .put(
            json_item(&keys::queue_settings(ws, acct), "queue", &settings),
            None,
        )
        .await?;
    Ok(settings)
}

pub async fn get(
    deps: &Deps,
    ws: &WorkspaceId,
    acct: &AccountId,
) -> Result<Option<QueueSettings>, AppError> {
    match deps.table.get(&keys::queue_settings(ws, acct)).await? {
        Some(item) => Ok(Some(from_json(&item)?)),
        None => Ok(None),
    }
}

/// Slot times of a queue from `after` on, in order, up to the horizon.
fn slot_times(
    tz: Tz,
    slots: &[(Weekday, NaiveTime)],
    after: DateTime<Utc>,
) -> impl Iterator<Item = DateTime<Utc>> {
    let first_day = after.with_timezone(&tz).date_naive();
    let slots = slots.to_vec();
    (0..HORIZON_DAYS)
        .filter_map(move |d| first_day.checked_add_signed(chrono::Duration::days(d)))
        .flat_map(move |day| {
            slots
                .iter()
                .filter(|(w, _)| *w == day.weekday())
                // In a DST gap the slot moves to the first real moment after it.
                .filter_map(|(_, t)| {
                    let local = day.and_time(*t);
                    tz.from_local_datetime(&local).earliest().or_else(|| {
                        tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                            .earliest()
                    })
                })
                .map(|t| t.with_timezone(&Utc))
                .collect::<Vec<_>>()
        })
        .filter(move |t| *t > after)
}

/// The first queue slot after `after` that every one of `accounts` has and has free (one
/// post goes out at one time), and the writes that take it in each queue for `post`.
pub async fn next_shared_free(
    deps: &Deps,
    ws: &WorkspaceId,
    accounts: &[AccountId],
    post: &PostId,
    after: DateTime<Utc>,
) -> Result<(DateTime<Utc>, Vec<TxOp>), AppError> {
    let mut queues = Vec::with_capacity(accounts.len());
    for (i, acct) in accounts.iter().enumerate() {
        let settings = get(deps, ws, acct).await?.ok_or_else(|| {
            AppError::invalid(
                format!("accounts[{i}]"),
                format!("account {acct} has no posting queue"),
            )
        })?;
        let (tz, slots) = parse(&settings)?;
        let taken: BTreeSet<DateTime<Utc>> = deps
            .table
            .query_all(
                Query::table(keys::queue_slots(ws, acct))
                    .sk(SortCondition::Gt(keys::queue_slot(ws, acct, after).sk)),
            )
            .await?
            .iter()
            .filter_map(|i| time(i, "at"))
            .collect();
        let free: BTreeSet<DateTime<Utc>> = slot_times(tz, &slots, after)
            .filter(|t| !taken.contains(t))
            .collect();
        queues.push(free);
    }
    let (first, others) = queues
        .split_first()
        .ok_or_else(|| AppError::invalid("accounts", "name at least one account"))?;
    let at = first
        .iter()
        .find(|t| others.iter().all(|q| q.contains(t)))
        .copied()
        .ok_or_else(|| {
            let why = if accounts.len() > 1 {
                "these accounts' queues share no free slot in the next year"
            } else {
                "the queue is full for the next year"
            };
            AppError::invalid("queue", why)
        })?;
    let ops = accounts
        .iter()
        .map(|acct| {
            let key = keys::queue_slot(ws, acct, at);
            let mut item = key.item();
            item.insert("post".into(), Value::S(post.to_string()));
            item.insert("at".into(), ms(at));
            item.insert(
                herald_ports::table::TTL.into(),
                Value::N((at + chrono::Duration::days(7)).timestamp()),
            );
            TxOp::Put {
                item,
                condition: Some(Condition::item_absent()),
            }
        })
        .collect();
    Ok((at, ops))
}

/// Frees a post's slot in each of its accounts' queues (it was cancelled or moved).
pub fn release(ws: &WorkspaceId, accounts: &[AccountId], at: DateTime<Utc>) -> Vec<TxOp> {
    accounts
        .iter()
        .map(|acct| TxOp::Delete {
            key: keys::queue_slot(ws, acct, at),
            condition: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_queues_time_zone_across_dst() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let slots = vec![(Weekday::Mon, NaiveTime::from_hms_opt(9, 0, 0).unwrap())];
        // Monday 23 March 2026 is CET (UTC+1); Monday 30 March is CEST (UTC+2).
        let after = Utc.with_ymd_and_hms(2026, 3, 22, 0, 0, 0).unwrap();
        let times: Vec<_> = slot_times(tz, &slots, after).take(2).collect();
        assert_eq!(
            times[0],
            Utc.with_ymd_and_hms(2026, 3, 23, 8, 0, 0).unwrap()
        );
        assert_eq!(
            times[1],
            Utc.with_ymd_and_hms(2026, 3, 30, 7, 0, 0).unwrap()
        );
    }

    #[test]
    fn bad_settings_name_their_fields() {
        let bad = QueueSettings {
            timezone: "Mars/Olympus".into(),
            slots: vec![Slot {
                weekday: "someday".into(),
                time: "25:00".into(),
            }],
        };
        let Err(AppError::Invalid(errors)) = parse(&bad) else {
            panic!("accepted")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"timezone") && fields.contains(&"slots[0].weekday"));
    }
}
