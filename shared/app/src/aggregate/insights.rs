//! Insight polling: each published target's totals asked of its network 1 hour, 24 hours and
//! 7 days after publishing (the connectors' `metrics`). A network's figures are totals: they
//! replace what the post counted before, and the rollups move by the difference, in one
//! transaction with the post's item (conditional on the values read), its `metrics.updated`
//! event and the target's next poll. Due polls are found through gsi1 by hour bucket; a
//! watermark remembers the last hour drained.

use super::rollup::{self, PostMeta, Sums, counter};
use crate::records::{self, ms};
use crate::{AppError, Deps, accounts, events, settings};
use chrono::{DateTime, Duration, Utc};
use herald_domain::event::{EventKind, MetricsUpdated, PostPublished};
use herald_domain::{AccountId, Platform, PostId, WorkspaceId};
use herald_ports::{Condition, Item, Query, SortCondition, TableError, TxOp, Update, Value};
use herald_storage::keys;

/// When a target is polled, after its publishing.
pub const STAGES: [i64; 3] = [3_600, 86_400, 7 * 86_400];
/// Polling looks back at most this far on its first run.
const LOOKBACK_DAYS: i64 = 8;
const WATERMARK: &str = "INSIGHT_WATERMARK";

mod attr {
    pub const STAGE: &str = "stage";
    pub const WORKSPACE: &str = "workspace";
    pub const POST: &str = "post";
    pub const ACCOUNT: &str = "account";
    pub const PLATFORM: &str = "platform";
    pub const REMOTE_ID: &str = "remote_id";
    pub const PUBLISHED_AT: &str = "published_at";
}

/// The polling item of a target just published, its first poll an hour on.
pub fn first_poll(ws: &WorkspaceId, p: &PostPublished) -> Item {
    let mut item = keys::insight(ws, &p.post, &p.account).item();
    item.insert(records::KIND.into(), "insight".into());
    item.insert(attr::WORKSPACE.into(), ws.as_str().into());
    item.insert(attr::POST.into(), p.post.as_str().into());
    item.insert(attr::ACCOUNT.into(), p.account.as_str().into());
    item.insert(attr::PLATFORM.into(), p.platform.as_str().into());
    item.insert(attr::REMOTE_ID.into(), p.remote_id.as_str().into());
    item.insert(attr::PUBLISHED_AT.into(), ms(p.published_at));
    item.insert(attr::STAGE.into(), Value::N(0));
    let due = p.published_at + Duration::seconds(STAGES[0]);
    let (pk, sk) = keys::insight_entry(due, ws, &p.post, &p.account);
    item.insert(keys::GSI1_PK.into(), pk.into());
    item.insert(keys::GSI1_SK.into(), sk.into());
    item
}

/// When a polling item's current stage is due.
pub fn due_of(item: &Item) -> Option<DateTime<Utc>> {
    let stage = usize::try_from(item.get(attr::STAGE)?.as_n()?).ok()?;
    Some(records::time(item, attr::PUBLISHED_AT)? + Duration::seconds(*STAGES.get(stage)?))
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PollReport {
    pub polled: usize,
    pub updated: usize,
    pub failed: usize,
}

struct Due {
    ws: WorkspaceId,
    post: PostId,
    account: AccountId,
    platform: Platform,
    remote_id: String,
    published_at: DateTime<Utc>,
    stage: usize,
    item: Item,
}

fn due_from(item: &Item) -> Option<Due> {
    let s = |n: &str| item.get(n).and_then(Value::as_s);
    Some(Due {
        ws: WorkspaceId::parse(s(attr::WORKSPACE)?)?,
        post: PostId::parse(s(attr::POST)?)?,
        account: AccountId::parse(s(attr::ACCOUNT)?)?,
        platform: Platform::parse(s(attr::PLATFORM)?)?,
        remote_id: s(attr::REMOTE_ID)?.to_owned(),
        published_at: records::time(item, attr::PUBLISHED_AT)?,
        stage: usize::try_from(item.get(attr::STAGE)?.as_n()?).ok()?,
        item: item.clone(),
    })
}

/// Polls every target due by `now`, hour bucket by hour bucket from the watermark on.
pub async fn poll(deps: &Deps, now: DateTime<Utc>) -> Result<PollReport, AppError> {
    let mark = keys::system(WATERMARK);
    let from = deps
        .table
        .get(&mark)
        .await?
        .and_then(|i| records::time(&i, "hour"))
        .unwrap_or(now - Duration::days(LOOKBACK_DAYS));
    let current = keys::bucket_start(now);
    let mut hour = keys::bucket_start(from);
    let mut report = PollReport::default();
    let mut next = Vec::new();
    while hour <= current {
        let query = Query::index(keys::GSI1, keys::insight_bucket(hour))
            .sk(SortCondition::Le(format!("{}#~", keys::time_key(now))));
        for item in deps.table.query_all(query).await? {
            let Some(due) = due_from(&item) else {
                tracing::warn!(key = ?herald_ports::Key::of(&item), "unreadable insight poll");
                continue;
            };
            report.polled += 1;
            // Polled or not, it moves to its next stage (or another run moved it): that
            // stage's wake is what is ensured.
            if let Some(after) = STAGES.get(due.stage + 1) {
                next.push(due.published_at + Duration::seconds(*after));
            }
            match poll_one(deps, &due, now).await {
                Ok(true) => report.updated += 1,
                Ok(false) => {}
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(post = %due.post, account = %due.account, error = %e, "insight poll failed; it moves to its next stage");
                    let _ = advance(deps, &due, Vec::new()).await;
                }
            }
        }
        hour += Duration::hours(1);
    }
    // Every bucket before the current hour is drained: the next run starts here.
    deps.table
        .put(
            {
                let mut item = mark.item();
                item.insert("hour".into(), ms(current));
                item
            },
            None,
        )
        .await?;
    super::wake::after_insights(deps, next).await;
    Ok(report)
}

/// The target's next poll (or none after the last stage), with `ops` in one transaction,
/// only over the polling item as read.
async fn advance(deps: &Deps, due: &Due, mut ops: Vec<TxOp>) -> Result<(), AppError> {
    let key = keys::insight(&due.ws, &due.post, &due.account);
    let next = due.stage + 1;
    let update = match STAGES.get(next) {
        Some(after) => {
            let at = due.published_at + Duration::seconds(*after);
            let (pk, sk) = keys::insight_entry(at, &due.ws, &due.post, &due.account);
            Update::new()
                .set(attr::STAGE, Value::N(next as i64))
                .set(keys::GSI1_PK, pk)
                .set(keys::GSI1_SK, sk)
        }
        None => Update::new()
            .set(attr::STAGE, Value::N(next as i64))
            .remove(keys::GSI1_PK)
            .remove(keys::GSI1_SK),
    };
    let stage_read = due.item.get(attr::STAGE).cloned().unwrap_or(Value::Null);
    ops.insert(
        0,
        TxOp::Update {
            key,
            update,
            condition: Some(Condition::Eq(attr::STAGE.into(), stage_read)),
        },
    );
    match deps.table.transact(ops).await {
        Ok(()) => Ok(()),
        // Polled meanwhile by another run: its figures stand.
        Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Asks the network for one target's totals and applies them; true when they changed.
async fn poll_one(deps: &Deps, due: &Due, now: DateTime<Utc>) -> Result<bool, AppError> {
    let account = accounts::get(deps, &due.ws, &due.account).await?;
    let connector = deps.connector(due.platform)?;
    let context = accounts::context(deps, &account).await?;
    let totals = connector.metrics(&context, &due.remote_id).await?;
    let reported: Vec<(&'static str, u64)> = [
        (counter::IMPRESSIONS, totals.impressions),
        (counter::REACH, totals.reach),
        (counter::LIKES, totals.likes),
        (counter::COMMENTS, totals.comments),
        (counter::SHARES, totals.shares),
    ]
    .into_iter()
    .filter_map(|(n, v)| Some((n, v?)))
    .collect();
    if reported.is_empty() {
        advance(deps, due, Vec::new()).await?;
        return Ok(false);
    }
    let workspace = settings::workspace(deps, &due.ws).await?;
    let tz = settings::timezone(&workspace);
    for _ in 0..3 {
        match apply_totals(deps, due, &totals, &reported, &tz, now).await {
            Ok(changed) => return Ok(changed),
            // The post's counts moved between the read and the write (engagement arrived):
            // read them again.
            Err(AppError::Storage(TableError::TransactionCancelled { failed }))
                if !failed.contains(&0) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Err(AppError::Conflict("the post's counts kept moving".into()))
}

async fn apply_totals(
    deps: &Deps,
    due: &Due,
    totals: &herald_ports::PostMetrics,
    reported: &[(&'static str, u64)],
    tz: &chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let post_key = keys::metrics_post(&due.ws, &due.post);
    let current = deps.table.get(&post_key).await?.unwrap_or_default();
    let meta = PostMeta::from_item(&current);
    let mut sums = Sums::default();
    let mut condition = Condition::And(Vec::new());
    let mut engagement_delta = 0;
    let mut changed = false;
    for (name, total) in reported {
        let was = current.get(*name).cloned();
        condition = condition.and(match &was {
            Some(v) => Condition::Eq((*name).into(), v.clone()),
            None => Condition::NotExists((*name).into()),
        });
        let delta =
            i64::try_from(*total).unwrap_or(i64::MAX) - was.and_then(|v| v.as_n()).unwrap_or(0);
        if delta == 0 {
            continue;
        }
        changed = true;
        if matches!(*name, counter::LIKES | counter::COMMENTS | counter::SHARES) {
            engagement_delta += delta;
        }
        // The day items move on the day the network told, the post's own by its meta.
        sums.engagement(
            &due.ws,
            &due.account,
            None,
            now.date_naive(),
            tz,
            &[name],
            delta,
        );
        if let Some(meta) = &meta {
            for key in rollup::published_keys(&due.ws, &due.account, meta, tz) {
                sums.add(key, name, delta);
            }
        }
    }
    if engagement_delta != 0 {
        sums.engagement(
            &due.ws,
            &due.account,
            None,
            now.date_naive(),
            tz,
            &[counter::ENGAGEMENTS],
            engagement_delta,
        );
        if let Some(meta) = &meta {
            for key in rollup::published_keys(&due.ws, &due.account, meta, tz) {
                sums.add(key, counter::ENGAGEMENTS, engagement_delta);
            }
        }
    }
    let mut post_update = Update::new();
    for (name, total) in reported {
        post_update = post_update.set(name, Value::N(i64::try_from(*total).unwrap_or(i64::MAX)));
    }
    if engagement_delta != 0 {
        post_update = post_update.add(counter::ENGAGEMENTS, engagement_delta);
    }
    let mut ops = vec![TxOp::Update {
        key: post_key,
        update: post_update,
        condition: Some(condition),
    }];
    ops.extend(sums.items.into_iter().map(|(key, delta)| TxOp::Update {
        key,
        update: delta.update(),
        condition: None,
    }));
    if changed {
        ops.push(events::record(
            deps,
            &due.ws,
            EventKind::MetricsUpdated(MetricsUpdated {
                post: due.post.clone(),
                account: due.account.clone(),
                platform: due.platform,
                remote_id: due.remote_id.clone(),
                impressions: totals.impressions,
                reach: totals.reach,
                likes: totals.likes,
                comments: totals.comments,
                shares: totals.shares,
            }),
            now,
        ));
    }
    advance(deps, due, ops).await?;
    Ok(changed)
}
