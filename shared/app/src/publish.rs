//! The publishing engine: finds due targets through the time-bucketed due index, claims each
//! with a conditional write and a lease before any network call, publishes, and records the
//! outcome together with its event in one transaction.
//!
//! Exactly once: a target whose earlier attempt may have reached the network (a crash, a
//! timeout, an expired lease) is `unconfirmed` and is resolved by asking the network for the
//! post (by marker or content) before anything is sent again. Nothing is ever re-sent blindly.

use crate::records::{self, TargetRecord, attr, ms};
use crate::{AppError, Deps, accounts, events, posts};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use herald_domain::{MediaItem, Post, Target, TargetStatus};
use herald_ports::{
    Checkpoint, Condition, Key, MediaRef, NetworkError, NetworkErrorKind, PublishRequest,
    Published, Query, TableError, TxOp, Update, Value,
};
use herald_storage::keys;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// How long a claim holds. Longer than any single network call (the HTTP timeout), so a
    /// live attempt is never taken over; checkpoints extend it during long uploads.
    pub lease: Duration,
    /// How far ahead a run looks: targets due within it are waited for and sent at their
    /// second (on Lambda, the minute until the next scheduled run).
    pub lookahead: Duration,
    /// Publish attempts before a target fails for good.
    pub max_attempts: u32,
    /// Targets in flight at once.
    pub concurrency: usize,
    /// This process is the only publisher (the embedded store allows one process): claims
    /// left by earlier processes are dead and are taken over at once, not at lease expiry.
    pub exclusive: bool,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            lease: Duration::minutes(5),
            lookahead: Duration::seconds(1),
            max_attempts: 6,
            concurrency: 64,
            exclusive: false,
        }
    }
}

/// What one target's processing came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Published,
    /// Found already on the network by reconciliation: recorded, not sent again.
    Confirmed,
    Failed,
    Retrying,
    Unconfirmed,
    /// The network's allowance for the account (or app) is spent: moved to when it renews.
    Deferred,
    /// Someone else holds it, or it is not due.
    Skipped,
}

/// The delay before retry `attempt` (1-based): exponential from 2 s, capped at 10 minutes,
/// with jitter in [50%, 100%] so a burst of failures does not return as a burst; a network's
/// `retry_at` wins when later.
pub fn next_delay(attempt: u32, retry_at: Option<Duration>, jitter: f64) -> Duration {
    let exp = 2_i64.saturating_pow(attempt.saturating_sub(1).min(20));
    let base_ms = (2_000_i64.saturating_mul(exp)).min(600_000);
    let jittered = (base_ms as f64 * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as i64;
    let delay = Duration::milliseconds(jittered);
    match retry_at {
        Some(r) if r > delay => r,
        _ => delay,
    }
}

/// The stable marker of a target: its idempotency key where a network takes one.
pub fn marker(t: &Target) -> String {
    let digest = Sha256::digest(format!("{}/{}/{}", t.workspace, t.post, t.account).as_bytes());
    format!("hrld-{}", &hex::encode(digest)[..24])
}

/// Runs the due index and the targets it names. One per process: it remembers what it has in
/// flight so overlapping ticks do not start the same target twice.
pub struct Dispatcher {
    deps: Deps,
    options: PublishOptions,
    in_flight: Arc<Mutex<HashSet<Key>>>,
    /// Prefixes this process's claims, so an exclusive publisher knows its own.
    instance: Arc<str>,
    permits: Arc<Semaphore>,
    /// Started targets already due and waiting for a permit.
    backlog: Arc<AtomicUsize>,
    tasks: tokio::sync::Mutex<JoinSet<Outcome>>,
}

/// What a tick found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TickReport {
    pub due: usize,
    pub started: usize,
    /// Due targets already waiting for a permit when the tick began. While they fill every
    /// permit the tick does not read the index: what it would find could only queue behind
    /// them, and on a busy store the reads would slow the sends.
    pub backlog: usize,
}

impl Dispatcher {
    pub fn new(deps: Deps, options: PublishOptions) -> Self {
        let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
        let instance = format!("{:016x}", deps.random.u64()).into();
        Dispatcher {
            deps,
            options,
            in_flight: Arc::default(),
            instance,
            permits,
            backlog: Arc::default(),
            tasks: tokio::sync::Mutex::new(JoinSet::new()),
        }
    }

    /// Finds targets due within the lookahead and starts each not already in flight; each
    /// waits for its second, then is claimed and published.
    pub async fn tick(&self) -> Result<TickReport, AppError> {
        let now = self.deps.clock.now();
        self.start_due(now, now + self.options.lookahead, false)
            .await
    }

    /// At the start of an exclusive publisher: resolves what an earlier process left claimed
    /// (killed mid-publish), without waiting for its leases to run out.
    pub async fn recover(&self) -> Result<TickReport, AppError> {
        let now = self.deps.clock.now();
        let until = now + self.options.lease + Duration::seconds(1);
        self.start_due(now, until, self.options.exclusive).await
    }

    async fn start_due(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        recovering: bool,
    ) -> Result<TickReport, AppError> {
        let backlog = self.backlog.load(Ordering::Relaxed);
        if !recovering && backlog >= self.options.concurrency.max(1) {
            return Ok(TickReport {
                backlog,
                ..TickReport::default()
            });
        }
        let due = due_entries(&self.deps, now, until).await?;
        let mut report = TickReport {
            due: due.len(),
            started: 0,
            backlog,
        };
        let mut tasks = self.tasks.lock().await;
        while tasks.try_join_next().is_some() {}
        for (due_at, key) in due {
            if !self
                .in_flight
                .lock()
                .expect("in-flight lock")
                .insert(key.clone())
            {
                continue;
            }
            report.started += 1;
            let deps = self.deps.clone();
            let options = self.options.clone();
            let in_flight = self.in_flight.clone();
            let permits = self.permits.clone();
            let instance = self.instance.clone();
            let backlog = self.backlog.clone();
            // A claimed entry sits at its lease's end; recovery need not wait for it.
            let foreign_claim = recovering && due_at > now;
            tasks.spawn(async move {
                let wait = due_at - deps.clock.now();
                if wait > Duration::zero() && !foreign_claim {
                    tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
                }
                backlog.fetch_add(1, Ordering::Relaxed);
                let permit = permits.acquire().await;
                backlog.fetch_sub(1, Ordering::Relaxed);
                let outcome = match permit {
                    Ok(_permit) => process(&deps, &options, &instance, &key).await,
                    Err(_) => Ok(Outcome::Skipped),
                };
                in_flight.lock().expect("in-flight lock").remove(&key);
                match outcome {
                    Ok(o) => o,
                    Err(e) => {
                        tracing::warn!(pk = %key.pk, sk = %key.sk, error = %e, "target not processed; the due index will offer it again");
                        Outcome::Skipped
                    }
                }
            });
        }
        Ok(report)
    }

    /// Waits until everything started has finished; answers the outcomes.
    pub async fn drain(&self) -> Vec<Outcome> {
        let mut tasks = self.tasks.lock().await;
        let mut outcomes = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(o) = done {
                outcomes.push(o);
            }
        }
        outcomes
    }

    /// One complete run, as the scheduled Lambda does it: tick, wait for all, relay events.
    pub async fn run_once(&self) -> Result<RunReport, AppError> {
        let tick = self.tick().await?;
        let outcomes = self.drain().await;
        let events = events::relay(&self.deps, 10_000).await?;
        let count = |o: Outcome| outcomes.iter().filter(|x| **x == o).count();
        Ok(RunReport {
            due: tick.due,
            published: count(Outcome::Published),
            confirmed: count(Outcome::Confirmed),
            failed: count(Outcome::Failed),
            retrying: count(Outcome::Retrying),
            unconfirmed: count(Outcome::Unconfirmed),
            deferred: count(Outcome::Deferred),
            skipped: count(Outcome::Skipped),
            events,
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub due: usize,
    pub published: usize,
    pub confirmed: usize,
    pub failed: usize,
    pub retrying: usize,
    pub unconfirmed: usize,
    pub deferred: usize,
    pub skipped: usize,
    pub events: usize,
}

/// How far back the due index is read when no run has left a watermark yet.
const FIRST_LOOKBACK_DAYS: i64 = 7;

/// Due-index entries due by `until`, oldest bucket first, from the watermark on. Then the
/// watermark moves up to the oldest bucket still holding an entry that is already due.
async fn due_entries(
    deps: &Deps,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, Key)>, AppError> {
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
                out.push((due, keys::target(&ws, &post, &acct)));
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
    out.sort();
    Ok(out)
}

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

/// The due-index entry and lease of a claimed target: the index offers it again when the
/// lease runs out, so a crashed claim is always found and resolved.
fn lease_update(t: &Target, lease_until: DateTime<Utc>) -> Update {
    let (pk, sk) = keys::due_entry(lease_until, &t.workspace, &t.post, &t.account);
    Update::new()
        .set(attr::LEASE_UNTIL, ms(lease_until))
        .set(keys::GSI1_PK, pk)
        .set(keys::GSI1_SK, sk)
}

/// A target this process holds the claim on.
struct Held<'a> {
    deps: &'a Deps,
    options: &'a PublishOptions,
    key: Key,
    claim: String,
    record: TargetRecord,
}

impl Held<'_> {
    fn mine(&self) -> Condition {
        Condition::eq(attr::CLAIM, self.claim.as_str())
    }

    async fn carry(&mut self, must_check: bool) -> Result<Outcome, AppError> {
        let t = self.record.target.clone();
        let (post, _) = posts::load(self.deps, &t.workspace, &t.post).await?;
        let account = accounts::get(self.deps, &t.workspace, &t.account).await?;
        let connector = self.deps.connector(t.platform)?.clone();
        let mut context = accounts::context(self.deps, &account).await?;
        let request = self.request(&post).await?;

        let now = self.deps.clock.now();
        match connector.refresh_credentials(&context, now).await {
            Ok(Some(fresh)) => {
                self.deps
                    .table
                    .put(
                        accounts::credentials_item(self.deps, &t.workspace, &t.account, &fresh),
                        None,
                    )
                    .await?;
                context.credentials = fresh;
            }
            Ok(None) => {}
            Err(e) => return self.after_error(e, false).await,
        }

        if must_check {
            let since = self.record.first_sent_at.unwrap_or(now) - Duration::minutes(5);
            match connector.find_published(&context, &request, since).await {
                Ok(Some(found)) => {
                    tracing::info!(post = %t.post, account = %t.account, remote_id = %found.remote_id, "earlier attempt found on the network");
                    return self.published(found, Outcome::Confirmed).await;
                }
                Ok(None) => {}
                Err(e) => return self.after_error(e, true).await,
            }
            if self.record.target.attempts >= self.options.max_attempts {
                return self
                    .failed(format!(
                        "gave up after {} attempts",
                        self.record.target.attempts
                    ))
                    .await;
            }
            // Not on the network: this attempt may send.
            let now = self.deps.clock.now();
            let mut update = Update::new()
                .set(attr::STATUS, TargetStatus::Publishing.as_str())
                .add(attr::ATTEMPTS, 1);
            if self.record.first_sent_at.is_none() {
                update = update.set(attr::FIRST_SENT_AT, ms(now));
            }
            self.write(update).await?;
            self.record.target.attempts += 1;
        }

        let checkpoint = TargetCheckpoint { held: self };
        let result = connector.publish(&context, &request, &checkpoint).await;
        match result {
            Ok(published) => self.published(published, Outcome::Published).await,
            Err(e) => self.after_error(e, false).await,
        }
    }

    async fn request(&self, post: &Post) -> Result<PublishRequest, AppError> {
        let t = &self.record.target;
        let variant = post.variants.get(&t.platform);
        let mut media = Vec::new();
        for id in post.media_for(t.platform) {
            let item = self
                .deps
                .table
                .get(&keys::media(&t.workspace, id))
                .await?
                .ok_or(AppError::NotFound("media"))?;
            let m: MediaItem = records::from_json(&item)?;
            let rendition = m
                .renditions
                .iter()
                .find(|r| r.platform == Some(t.platform))
                .or_else(|| m.renditions.iter().find(|r| r.profile == "original"))
                .ok_or_else(|| AppError::Corrupt(format!("media {id} has no rendition")))?;
            let url = self
                .deps
                .blobs
                .presign_get(&rendition.blob_key, std::time::Duration::from_secs(3600))
                .await?;
            media.push(MediaRef {
                id: id.clone(),
                content_type: rendition.content_type.clone(),
                bytes: rendition.bytes,
                width: rendition.width,
                height: rendition.height,
                duration_seconds: None,
                url,
                blob_key: rendition.blob_key.clone(),
                alt_text: None,
            });
        }
        Ok(PublishRequest {
            marker: marker(t),
            text: post.text_for(t.platform).to_owned(),
            title: variant.and_then(|v| v.title.clone()),
            link: variant.and_then(|v| v.link.clone()),
            media,
            first_comment: variant.and_then(|v| v.first_comment.clone()),
            thread: variant.map(|v| v.thread.clone()).unwrap_or_default(),
            progress: self.record.progress.clone(),
        })
    }

    /// Writes to the held target; losing the claim means another run took it over.
    async fn write(&self, update: Update) -> Result<(), AppError> {
        match self
            .deps
            .table
            .update(&self.key, update, Some(self.mine()))
            .await
        {
            Ok(_) => Ok(()),
            Err(TableError::ConditionFailed { .. }) => {
                Err(AppError::Conflict("the claim was taken over".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records the outcome and its event in one transaction, releasing the claim.
    async fn finish(
        &self,
        update: Update,
        event: (&str, serde_json::Value),
    ) -> Result<(), AppError> {
        let t = &self.record.target;
        let now = self.deps.clock.now();
        let ops = vec![
            TxOp::Update {
                key: self.key.clone(),
                update: update
                    .remove(attr::CLAIM)
                    .remove(attr::LEASE_UNTIL)
                    .remove(keys::GSI1_PK)
                    .remove(keys::GSI1_SK),
                condition: Some(self.mine()),
            },
            events::record(self.deps, &t.workspace, event.0, event.1, now),
        ];
        match self.deps.table.transact(ops).await {
            Ok(()) => Ok(()),
            Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
                Err(AppError::Conflict("the claim was taken over".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn published(&self, p: Published, outcome: Outcome) -> Result<Outcome, AppError> {
        let t = &self.record.target;
        let now = self.deps.clock.now();
        let mut update = Update::new()
            .set(attr::STATUS, TargetStatus::Published.as_str())
            .set(attr::REMOTE_ID, p.remote_id.as_str())
            .set(attr::PUBLISHED_AT, ms(now))
            .remove(attr::ERROR);
        if let Some(url) = &p.url {
            update = update.set(attr::URL, url.as_str());
        }
        let data = serde_json::json!({
            "post": t.post, "account": t.account, "platform": t.platform,
            "remote_id": p.remote_id, "url": p.url, "published_at": now,
            "scheduled_at": t.due_at,
        });
        self.finish(update, ("post.published", data)).await?;
        tracing::info!(post = %t.post, account = %t.account, platform = %t.platform, remote_id = %p.remote_id, lateness_ms = t.due_at.map(|d| (now - d).num_milliseconds()), "target published");
        Ok(outcome)
    }

    async fn failed(&self, reason: String) -> Result<Outcome, AppError> {
        let t = &self.record.target;
        let update = Update::new()
            .set(attr::STATUS, TargetStatus::Failed.as_str())
            .set(attr::ERROR, reason.as_str());
        let data = serde_json::json!({
            "post": t.post, "account": t.account, "platform": t.platform, "error": reason,
        });
        self.finish(update, ("post.failed", data)).await?;
        tracing::warn!(post = %t.post, account = %t.account, platform = %t.platform, error = %reason, "target failed");
        Ok(Outcome::Failed)
    }

    /// A network error: fail for good, retry later, or leave the attempt to be confirmed.
    async fn after_error(&self, e: NetworkError, checking: bool) -> Result<Outcome, AppError> {
        let t = &self.record.target;
        let now = self.deps.clock.now();
        let attempts = t.attempts.max(1);
        let jitter = self.deps.random.unit();
        let reason = format!("{}: {}", t.platform, e.message);
        match e.kind {
            NetworkErrorKind::Permanent => return self.failed(reason).await,
            NetworkErrorKind::Unauthorized => {
                self.needs_reconnect().await?;
                return self
                    .failed(format!("{reason} (reconnect the account)"))
                    .await;
            }
            // An uncertain last attempt may still have gone out: it is confirmed, not failed.
            NetworkErrorKind::Transient | NetworkErrorKind::RateLimited { .. }
                if attempts >= self.options.max_attempts && !checking =>
            {
                return self
                    .failed(format!("{reason} (gave up after {attempts} attempts)"))
                    .await;
            }
            _ => {}
        }
        let retry_in = match &e.kind {
            NetworkErrorKind::RateLimited { retry_at: Some(at) } => Some(*at - now),
            _ => None,
        };
        let at = now + next_delay(attempts, retry_in, jitter);
        let outcome = if e.kind == NetworkErrorKind::Uncertain || checking {
            // Someone must ask the network before any resend: keep it unconfirmed, with the
            // lease running out at the next check.
            self.write(
                lease_update(t, at)
                    .set(attr::STATUS, TargetStatus::Unconfirmed.as_str())
                    .remove(attr::CLAIM)
                    .set(attr::ERROR, reason.as_str()),
            )
            .await?;
            Outcome::Unconfirmed
        } else {
            let (pk, sk) = keys::due_entry(at, &t.workspace, &t.post, &t.account);
            self.write(
                Update::new()
                    .set(attr::STATUS, TargetStatus::Scheduled.as_str())
                    .set(attr::DUE_AT, ms(at))
                    .set(attr::ERROR, reason.as_str())
                    .set(keys::GSI1_PK, pk)
                    .set(keys::GSI1_SK, sk)
                    .remove(attr::CLAIM)
                    .remove(attr::LEASE_UNTIL),
            )
            .await?;
            Outcome::Retrying
        };
        tracing::info!(post = %t.post, account = %t.account, error = %reason, retry_at = %at, ?outcome, "target will be tried again");
        Ok(outcome)
    }

    async fn needs_reconnect(&self) -> Result<(), AppError> {
        let t = &self.record.target;
        let key = keys::account(&t.workspace, &t.account);
        let Some(item) = self.deps.table.get(&key).await? else {
            return Ok(());
        };
        let mut account: herald_domain::Account = records::from_json(&item)?;
        if account.status == herald_domain::AccountStatus::NeedsReconnect {
            return Ok(());
        }
        account.status = herald_domain::AccountStatus::NeedsReconnect;
        let now = self.deps.clock.now();
        let data = serde_json::json!({"account": t.account, "platform": t.platform});
        self.deps
            .table
            .transact(vec![
                TxOp::Put {
                    item: records::json_item(&key, "account", &account),
                    condition: Some(Condition::item_present()),
                },
                events::record(
                    self.deps,
                    &t.workspace,
                    "account.needs_reconnect",
                    data,
                    now,
                ),
            ])
            .await?;
        Ok(())
    }
}

/// Records each remote id of a multi-step publish the moment it exists, and renews the lease.
struct TargetCheckpoint<'a, 'b> {
    held: &'a Held<'b>,
}

#[async_trait]
impl Checkpoint for TargetCheckpoint<'_, '_> {
    async fn record(&self, step: &str, remote_id: &str) -> Result<(), NetworkError> {
        let held = self.held;
        let mut progress: BTreeMap<String, Value> = held
            .record
            .progress
            .iter()
            .map(|(k, v)| (k.clone(), Value::S(v.clone())))
            .collect();
        progress.insert(step.to_owned(), Value::S(remote_id.to_owned()));
        let lease_until = held.deps.clock.now() + held.options.lease;
        let update =
            lease_update(&held.record.target, lease_until).set(attr::PROGRESS, Value::M(progress));
        held.write(update)
            .await
            .map_err(|e| NetworkError::uncertain(format!("could not record step {step}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_are_capped_and_respect_the_network() {
        let d1 = next_delay(1, None, 1.0);
        let d3 = next_delay(3, None, 1.0);
        assert_eq!(d1, Duration::seconds(2));
        assert_eq!(d3, Duration::seconds(8));
        assert_eq!(next_delay(30, None, 1.0), Duration::minutes(10));
        assert_eq!(next_delay(1, None, 0.0), Duration::seconds(1));
        assert_eq!(
            next_delay(1, Some(Duration::seconds(90)), 0.5),
            Duration::seconds(90)
        );
    }

    #[test]
    fn markers_are_stable_and_distinct_per_target() {
        let t = |acct| Target {
            workspace: herald_domain::WorkspaceId::generate(1, 1),
            post: herald_domain::PostId::generate(1, 2),
            account: acct,
            platform: herald_domain::Platform::Sandbox,
            status: TargetStatus::Scheduled,
            due_at: None,
            remote_id: None,
            url: None,
            error: None,
            published_at: None,
            attempts: 0,
        };
        let a = t(herald_domain::AccountId::generate(1, 3));
        let b = t(herald_domain::AccountId::generate(1, 4));
        assert_eq!(marker(&a), marker(&a.clone()));
        assert_ne!(marker(&a), marker(&b));
    }
}
