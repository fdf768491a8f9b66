//! The aggregator: Herald's events (from EventBridge through a queue on AWS, the in-process bus
//! locally) rolled up per post, per account and day, per hour of week, per tag and per kind.
//!
//! One invocation takes a batch of events and sums them in memory per item, so its table
//! writes grow with the distinct items the batch touches, not with its events. Events come at
//! least once: repeats inside a batch are dropped by event id, and each transaction of a batch
//! carries a marker named by the batch (a hash of its event ids) and the chunk, put only if
//! absent and expiring after a week: a batch delivered again adds nothing, and no item grows
//! with the events it has seen. The chunks are the batch's items in key order, so a retry cuts
//! the same chunks again.

pub mod insights;
pub mod rollup;
pub mod wake;

use crate::posts::store;
use crate::{AppError, Deps, records, settings};
use herald_domain::event::{EngagementRecorded, PostFailed, PostPublished};
use herald_domain::{AccountId, PostId, PostKind, WorkspaceId};
use herald_ports::{BusEvent, Condition, Item, Key, TableError, TxOp, Value};
use herald_storage::keys;
use rollup::{PostMeta, Sums, counter, meta};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};

/// How long a batch marker is kept: longer than any redelivery (EventBridge retries for a day,
/// a queue keeps a message four days by default).
const MARKER_DAYS: i64 = 7;
/// DynamoDB's transaction limit, less the marker.
const CHUNK: usize = 99;
/// Transactions of one batch in flight at once (the embedded store commits them together).
const IN_FLIGHT: usize = 8;
/// Tries of a transaction that lost a race with another writer.
const TRIES: usize = 5;

/// What one invocation did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Events received.
    pub events: usize,
    /// Events counted (distinct, of a kind the rollups count).
    pub counted: usize,
    /// Repeats of an event id within the batch.
    pub repeats: usize,
    /// Items written (rollups, markers, polling entries).
    pub writes: usize,
    /// Chunks of the batch found applied already (a batch delivered again).
    pub already_applied: usize,
}

pub fn kind_name(kind: PostKind) -> &'static str {
    match kind {
        PostKind::Social => "social",
        PostKind::Promotional => "promotional",
    }
}

/// One event the rollups count, read from its envelope.
enum Counted<'a> {
    Published(PostPublished),
    /// Only its time counts; the payload is checked.
    Failed(&'a BusEvent),
    Engagement(EngagementRecorded, &'a BusEvent),
}

fn read(event: &BusEvent) -> Option<Counted<'_>> {
    // The payload is read straight from the envelope's JSON: a million events do not each
    // pay for a round trip through a typed `Event`.
    match event.kind.as_str() {
        "post.published" => PostPublished::deserialize(&event.data)
            .ok()
            .map(Counted::Published),
        "post.failed" => PostFailed::deserialize(&event.data)
            .ok()
            .map(|_: PostFailed| Counted::Failed(event)),
        "engagement.recorded" => EngagementRecorded::deserialize(&event.data)
            .ok()
            .map(|e| Counted::Engagement(e, event)),
        _ => None,
    }
}

/// Rolls up one batch of events.
pub async fn aggregate(deps: &Deps, events: &[BusEvent]) -> Result<Report, AppError> {
    let mut report = Report {
        events: events.len(),
        ..Report::default()
    };
    let mut seen = HashSet::with_capacity(events.len());
    let mut by_ws: BTreeMap<WorkspaceId, Vec<Counted>> = BTreeMap::new();
    let mut ids_by_ws: BTreeMap<WorkspaceId, Vec<&str>> = BTreeMap::new();
    // When the targets published in this batch have their first insight polls.
    let mut first_polls = Vec::new();
    for event in events {
        if !seen.insert(event.id.as_str()) {
            report.repeats += 1;
            continue;
        }
        let (Some(ws), Some(counted)) = (WorkspaceId::parse(&event.workspace), read(event)) else {
            continue;
        };
        report.counted += 1;
        ids_by_ws.entry(ws.clone()).or_default().push(&event.id);
        by_ws.entry(ws).or_default().push(counted);
    }
    for (ws, counted) in by_ws {
        let tz = match settings::workspace(deps, &ws).await {
            Ok(w) => settings::timezone(&w),
            // Herald's own event names its workspace; without its record the hours count in UTC.
            Err(AppError::NotFound(_)) => chrono_tz::UTC,
            Err(e) => return Err(e),
        };
        let metas = post_metas(deps, &ws, &counted).await?;
        let (sums, puts) = sum(&ws, &counted, &metas, &tz);
        first_polls.extend(puts.iter().filter_map(insights::due_of));
        let mut ids = ids_by_ws.remove(&ws).unwrap_or_default();
        let written = write(deps, &ws, batch_hash(&mut ids), sums, puts).await?;
        report.writes += written.0;
        report.already_applied += written.1;
    }
    wake::after_insights(deps, first_polls).await;
    Ok(report)
}

/// The batch's name: a hash of its distinct event ids, in order.
fn batch_hash(ids: &mut [&str]) -> String {
    ids.sort_unstable();
    let mut h = Sha256::new();
    for id in ids.iter() {
        h.update(id.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

/// What each post the batch names is (tags, kind, when published): from its metrics item,
/// or, before the aggregator has seen it published, from the post itself. Both say the same,
/// so a retried batch cuts the same items.
async fn post_metas(
    deps: &Deps,
    ws: &WorkspaceId,
    counted: &[Counted<'_>],
) -> Result<HashMap<PostId, Option<PostMeta>>, AppError> {
    let mut wanted: Vec<PostId> = counted
        .iter()
        .filter_map(|c| match c {
            Counted::Published(p) => Some(p.post.clone()),
            Counted::Engagement(e, _) => e.post.clone(),
            Counted::Failed(_) => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    wanted.sort();
    let mut metas = HashMap::with_capacity(wanted.len());
    for chunk in wanted.chunks(100) {
        let item_keys: Vec<Key> = chunk.iter().map(|p| keys::metrics_post(ws, p)).collect();
        for item in deps.table.get_many(&item_keys).await? {
            let post = item
                .get(herald_ports::table::SK)
                .and_then(Value::as_s)
                .and_then(|sk| sk.strip_prefix("POST#"))
                .and_then(PostId::parse);
            if let (Some(post), Some(m)) = (post, PostMeta::from_item(&item)) {
                metas.insert(post, Some(m));
            }
        }
    }
    for post in wanted {
        if metas.contains_key(&post) {
            continue;
        }
        let meta = match store::load(deps, ws, &post).await {
            Ok((p, targets)) => targets
                .iter()
                .filter_map(|t| t.target.published_at)
                .min()
                .map(|published_at| PostMeta {
                    tags: p.tags.clone(),
                    kind: kind_name(p.kind).to_owned(),
                    published_at,
                }),
            Err(AppError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        metas.insert(post, meta);
    }
    Ok(metas)
}

/// The batch summed per item, and the polling entries of newly published targets.
fn sum(
    ws: &WorkspaceId,
    counted: &[Counted<'_>],
    metas: &HashMap<PostId, Option<PostMeta>>,
    tz: &chrono_tz::Tz,
) -> (Sums, Vec<Item>) {
    // First per (post, account, day, engagement): a million likes on ten thousand posts are
    // a few tens of thousands of tallies, each spread to its items once.
    type Tally<'a> = (
        Option<&'a PostId>,
        &'a AccountId,
        chrono::NaiveDate,
        herald_domain::event::Engagement,
    );
    let mut tallies: HashMap<Tally, i64> = HashMap::new();
    let mut sums = Sums::default();
    let mut puts = Vec::new();
    for c in counted {
        match c {
            Counted::Engagement(e, envelope) => {
                let n = i64::try_from(e.count).unwrap_or(i64::MAX);
                *tallies
                    .entry((
                        e.post.as_ref(),
                        &e.account,
                        envelope.time.date_naive(),
                        e.engagement,
                    ))
                    .or_default() += n;
            }
            Counted::Failed(envelope) => {
                // The payload names no time: the envelope's is when it failed.
                let day = envelope.time.date_naive();
                sums.add(keys::metrics_day(ws, day), counter::FAILED, 1);
            }
            Counted::Published(p) => {
                let day = p.published_at.date_naive();
                sums.add(keys::metrics_day(ws, day), counter::PUBLISHED, 1);
                sums.add(keys::metrics_day(ws, day), counter::POSTS, 1);
                sums.add(
                    keys::metrics_account_day(ws, &p.account, day),
                    counter::POSTS,
                    1,
                );
                let post_key = keys::metrics_post(ws, &p.post);
                sums.add(post_key.clone(), counter::POSTS, 1);
                if let Some(Some(m)) = metas.get(&p.post) {
                    for key in rollup::published_keys(ws, &p.account, m, tz) {
                        sums.add(key, counter::POSTS, 1);
                    }
                    sums.set(
                        post_key.clone(),
                        meta::TAGS,
                        Value::L(m.tags.iter().map(|t| Value::S(t.clone())).collect()),
                    );
                    sums.set(post_key.clone(), meta::KIND, Value::S(m.kind.clone()));
                    sums.set(
                        post_key.clone(),
                        meta::PUBLISHED_AT,
                        records::ms(m.published_at),
                    );
                }
                sums.set(post_key.clone(), meta::ACCOUNT, p.account.as_str().into());
                sums.set(post_key.clone(), meta::PLATFORM, p.platform.as_str().into());
                sums.set(post_key, meta::REMOTE_ID, p.remote_id.as_str().into());
                puts.push(insights::first_poll(ws, p));
            }
        }
    }
    for ((post, account, day, engagement), n) in tallies {
        let (name, engages) = rollup::counter_of(engagement);
        let names: &[&'static str] = if engages {
            &[name, counter::ENGAGEMENTS]
        } else {
            &[name]
        };
        let post = post.map(|p| (p, metas.get(p).and_then(Option::as_ref)));
        sums.engagement(ws, account, post, day, tz, names, n);
    }
    (sums, puts)
}

/// Writes the sums in chunks of the batch's items in key order, each chunk with its marker;
/// answers (items written, chunks applied before).
async fn write(
    deps: &Deps,
    ws: &WorkspaceId,
    hash: String,
    sums: Sums,
    puts: Vec<Item>,
) -> Result<(usize, usize), AppError> {
    let mut ops: Vec<(Key, TxOp)> = sums
        .items
        .into_iter()
        .map(|(key, delta)| {
            let op = TxOp::Update {
                key: key.clone(),
                update: delta.update(),
                condition: None,
            };
            (key, op)
        })
        .collect();
    ops.extend(puts.into_iter().filter_map(|item| {
        let key = Key::of(&item)?;
        Some((
            key,
            TxOp::Put {
                item,
                condition: None,
            },
        ))
    }));
    ops.sort_by(|a, b| a.0.cmp(&b.0));
    let expires = (deps.clock.now() + chrono::Duration::days(MARKER_DAYS)).timestamp();
    let chunks: Vec<Vec<TxOp>> = ops
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, chunk)| {
            let mut marker = keys::aggregate_batch(ws, &hash, i).item();
            marker.insert(herald_ports::table::TTL.into(), Value::N(expires));
            let mut tx: Vec<TxOp> = chunk.iter().map(|(_, op)| op.clone()).collect();
            tx.push(TxOp::Put {
                item: marker,
                condition: Some(Condition::item_absent()),
            });
            tx
        })
        .collect();
    let mut written = 0;
    let mut already = 0;
    let mut running = tokio::task::JoinSet::new();
    let mut pending = chunks.into_iter();
    loop {
        while running.len() < IN_FLIGHT {
            let Some(tx) = pending.next() else { break };
            let table = deps.table.clone();
            running.spawn(async move { apply(table.as_ref(), tx).await });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        match done.map_err(|e| AppError::Corrupt(format!("aggregator task: {e}")))? {
            Ok(Applied::Now(n)) => written += n,
            Ok(Applied::Before) => already += 1,
            Err(e) => {
                // The other chunks finish first: what they applied stays marked.
                while running.join_next().await.is_some() {}
                return Err(e);
            }
        }
    }
    Ok((written, already))
}

enum Applied {
    Now(usize),
    Before,
}

async fn apply(table: &dyn herald_ports::Table, tx: Vec<TxOp>) -> Result<Applied, AppError> {
    let marker = tx.len() - 1;
    for _ in 0..TRIES {
        match table.transact(tx.clone()).await {
            Ok(()) => return Ok(Applied::Now(tx.len())),
            Err(TableError::TransactionCancelled { failed }) if failed.contains(&marker) => {
                return Ok(Applied::Before);
            }
            // A conflict with another transaction: nothing was applied; try again.
            Err(TableError::TransactionCancelled { failed }) if failed.is_empty() => continue,
            Err(TableError::Throttled) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the rollups stayed contended: the batch is retried".into(),
    ))
}
