//! The steps of a held (claimed) target: prepared ahead, then at its second checked (when an
//! earlier attempt may be out), sent, and carried to what follows a failure.

use super::due::lease_update;
use super::prepare::Cache;
use super::retry::{Decision, Failure, decide};
use super::wake::{self, Due};
use super::{Outcome, PublishOptions};
use crate::records::{self, TargetRecord, attr, ms};
use crate::{AppError, Deps};
use async_trait::async_trait;
use chrono::Duration;
use herald_domain::{MediaStatus, TargetStatus};
use herald_ports::{
    AccountContext, Checkpoint, Condition, Connector, Key, NetworkError, PublishRequest,
    TableError, Update, Value,
};
use herald_storage::keys;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A target this process holds the claim on.
pub(super) struct Held<'a> {
    pub(super) deps: &'a Deps,
    pub(super) options: &'a PublishOptions,
    pub(super) key: Key,
    pub(super) claim: String,
    pub(super) record: TargetRecord,
    /// An earlier attempt may have reached the network: ask it before sending.
    pub(super) must_check: bool,
}

/// How long after its post's time a target waits for media still being processed.
pub const MEDIA_WAIT: Duration = Duration::minutes(10);
/// How often a waiting target looks again.
const MEDIA_RECHECK: Duration = Duration::seconds(10);

enum MediaWait {
    Ready,
    /// Waiting again later, or failed for its media.
    Done(Outcome),
}

/// A held target ready to go: everything read and built before its second.
pub(super) struct Prepared {
    connector: Arc<dyn Connector>,
    context: AccountContext,
    request: PublishRequest,
}

impl Held<'_> {
    pub(super) fn mine(&self) -> Condition {
        Condition::eq(attr::CLAIM, self.claim.as_str())
    }

    /// Still held, and its post not cancelled: what every write that could lead to a send
    /// (sending now, or a retry later) is conditional on.
    fn mine_and_not_cancelled(&self) -> Condition {
        self.mine()
            .and(Condition::NotExists(attr::CANCELLED.into()))
    }

    /// Takes the work off the due instant: the post, the account and its credentials (renewed
    /// when due), the media links and the request, all before the target's second.
    pub(super) async fn prepare(
        &mut self,
        cache: &Cache,
    ) -> Result<Result<Prepared, Outcome>, AppError> {
        let t = self.record.target.clone();
        if self.record.cancelled && !self.must_check {
            // Cancelled and never sent: nothing to ask the network.
            return self.cancelled().await.map(Err);
        }
        let connector = self.deps.connector(t.platform)?.clone();
        let post = cache.post(self.deps, &t.workspace, &t.post).await?;
        let now = self.deps.clock.now();
        let context = match cache
            .account(self.deps, connector.as_ref(), &t.workspace, &t.account, now)
            .await?
        {
            Ok(context) => context,
            Err(e) => return self.after_error(e, false).await.map(Err),
        };
        match self.media_wait(&post).await? {
            MediaWait::Ready => {}
            MediaWait::Done(outcome) => return Ok(Err(outcome)),
        }
        let request = self.request(&post).await?;
        // Media still processing at compose time was checked on its type only: its real
        // facts are checked now, for this network, so a video too long or too big for it
        // fails this target alone, saying why, and nothing is sent. (A target that may be out
        // already goes on to its check: its media fitted when it was sent.)
        if !self.must_check
            && let Some(reason) = super::request::misfit(connector.limits(), &request)
        {
            return self.failed(reason).await.map(Err);
        }
        Ok(Ok(Prepared {
            connector,
            context,
            request,
        }))
    }

    /// The post's media for this network: all ready, or the target fails naming the item that
    /// failed, or (still processing) it is due again shortly, for at most [`MEDIA_WAIT`] after
    /// the post's time, and then fails saying so.
    async fn media_wait(&mut self, post: &herald_domain::Post) -> Result<MediaWait, AppError> {
        let t = self.record.target.clone();
        for id in post.media_for(t.platform) {
            let m = crate::media::item(self.deps, &t.workspace, id).await?;
            match m.status {
                MediaStatus::Ready => continue,
                MediaStatus::Failed => {
                    let reason = format!(
                        "{}: media {id} failed: {}",
                        t.platform,
                        m.error.as_deref().unwrap_or("no reason recorded")
                    );
                    return self.failed(reason).await.map(MediaWait::Done);
                }
                MediaStatus::Processing => {}
            }
            let now = self.deps.clock.now();
            let since = post.scheduled_at.or(t.due_at).unwrap_or(now);
            if now >= since + MEDIA_WAIT {
                let reason = format!(
                    "{}: media {id} was still processing {} minutes after the post's time",
                    t.platform,
                    MEDIA_WAIT.num_minutes()
                );
                return self.failed(reason).await.map(MediaWait::Done);
            }
            let at = now + MEDIA_RECHECK;
            let (pk, sk) = keys::due_entry(at, &t.workspace, &t.post, &t.account);
            let update = Update::new()
                .set(attr::STATUS, TargetStatus::Scheduled.as_str())
                .set(attr::DUE_AT, ms(at))
                .set(
                    attr::ERROR,
                    format!("waiting for media {id} to finish processing"),
                )
                .set(keys::GSI1_PK, pk)
                .set(keys::GSI1_SK, sk)
                .remove(attr::CLAIM)
                .remove(attr::LEASE_UNTIL);
            let condition = self.mine_and_not_cancelled();
            return match self
                .deps
                .table
                .update(&self.key, update, Some(condition))
                .await
            {
                Ok(_) => Ok(MediaWait::Done(Outcome::Retrying)),
                Err(TableError::ConditionFailed { .. }) => {
                    self.cancelled_meanwhile().await?;
                    self.cancelled().await.map(MediaWait::Done)
                }
                Err(e) => Err(e.into()),
            };
        }
        Ok(MediaWait::Ready)
    }

    /// At the target's second: the check an unsure earlier attempt needs, then the send and its
    /// one outcome transaction.
    pub(super) async fn send(&mut self, prepared: Prepared) -> Result<Outcome, AppError> {
        let Prepared {
            connector,
            context,
            request,
        } = prepared;
        let t = self.record.target.clone();
        if self.must_check {
            let now = self.deps.clock.now();
            let since = self.record.first_sent_at.unwrap_or(now) - Duration::minutes(5);
            match connector.find_published(&context, &request, since).await {
                Ok(Some(found)) => {
                    tracing::info!(post = %t.post, account = %t.account, remote_id = %found.remote_id, "earlier attempt found on the network");
                    return self.published(found, Outcome::Confirmed).await;
                }
                Ok(None) => {}
                Err(e) => return self.after_error(e, true).await,
            }
            if self.record.cancelled {
                return self.cancelled().await;
            }
            if t.attempts > self.options.max_attempts {
                let reason = match &t.error {
                    Some(e) => format!("{e} (gave up after {} attempts)", t.attempts - 1),
                    None => format!("gave up after {} attempts", t.attempts - 1),
                };
                return self.failed(reason).await;
            }
        }
        // Not on the network (or never sent): this attempt may send, unless a cancel came first.
        if !self.go().await? {
            return self.cancelled().await;
        }
        let checkpoint = TargetCheckpoint { held: self };
        let result = connector.publish(&context, &request, &checkpoint).await;
        match result {
            Ok(published) => self.published(published, Outcome::Published).await,
            Err(e) => self.after_error(e, false).await,
        }
    }

    /// The move to sending, conditional on no cancel: a cancel that answered before it stops
    /// the send; one after it finds the send begun. Answers false when the post was cancelled.
    async fn go(&mut self) -> Result<bool, AppError> {
        let now = self.deps.clock.now();
        let mut update = Update::new().set(attr::STATUS, TargetStatus::Publishing.as_str());
        if self.record.first_sent_at.is_none() {
            update = update.set(attr::FIRST_SENT_AT, ms(now));
        }
        let not_cancelled = self.mine_and_not_cancelled();
        match self
            .deps
            .table
            .update(&self.key, update, Some(not_cancelled))
            .await
        {
            Ok(_) => {
                self.record.first_sent_at.get_or_insert(now);
                self.record.target.status = TargetStatus::Publishing;
                Ok(true)
            }
            Err(TableError::ConditionFailed { .. }) => self.cancelled_meanwhile().await.map(|c| !c),
            Err(e) => Err(e.into()),
        }
    }

    /// After a write conditional on no cancel failed: whether the claim is still ours and the
    /// post was cancelled (false never; a lost claim is a conflict).
    async fn cancelled_meanwhile(&mut self) -> Result<bool, AppError> {
        let item = self.deps.table.get(&self.key).await?;
        let current = item.as_ref().map(records::target_from).transpose()?;
        match current {
            Some(r) if r.claim.as_deref() == Some(self.claim.as_str()) && r.cancelled => {
                self.record.cancelled = true;
                Ok(true)
            }
            _ => Err(AppError::Conflict("the claim was taken over".into())),
        }
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

    /// A network error, at any step: what follows is `retry::decide`'s.
    async fn after_error(&mut self, e: NetworkError, checking: bool) -> Result<Outcome, AppError> {
        let reason = format!("{}: {}", self.record.target.platform, e.message);
        loop {
            let t = &self.record.target;
            let now = self.deps.clock.now();
            let decision = decide(&Failure {
                kind: &e.kind,
                attempts: t.attempts,
                max_attempts: self.options.max_attempts,
                checking,
                cancelled: self.record.cancelled,
                now,
                jitter: self.deps.random.unit(),
            });
            let (at, outcome) = match decision {
                Decision::Fail { gave_up: false } => return self.failed(reason).await,
                Decision::Fail { gave_up: true } => {
                    let attempts = t.attempts;
                    return self
                        .failed(format!("{reason} (gave up after {attempts} attempts)"))
                        .await;
                }
                Decision::Reconnect => {
                    self.needs_reconnect().await?;
                    return self
                        .failed(format!("{reason} (reconnect the account)"))
                        .await;
                }
                Decision::Cancel => return self.cancelled().await,
                Decision::Check { at } => {
                    // Someone must ask the network before any resend: keep it unconfirmed, with
                    // the lease running out at the next check.
                    self.write(
                        lease_update(t, at)
                            .set(attr::STATUS, TargetStatus::Unconfirmed.as_str())
                            .remove(attr::CLAIM)
                            .set(attr::ERROR, reason.as_str()),
                    )
                    .await?;
                    (at, Outcome::Unconfirmed)
                }
                Decision::Retry { at } => {
                    let (pk, sk) = keys::due_entry(at, &t.workspace, &t.post, &t.account);
                    let update = Update::new()
                        .set(attr::STATUS, TargetStatus::Scheduled.as_str())
                        .set(attr::DUE_AT, ms(at))
                        .set(attr::ERROR, reason.as_str())
                        .set(keys::GSI1_PK, pk)
                        .set(keys::GSI1_SK, sk)
                        .remove(attr::CLAIM)
                        .remove(attr::LEASE_UNTIL);
                    let not_cancelled = self.mine_and_not_cancelled();
                    match self
                        .deps
                        .table
                        .update(&self.key, update, Some(not_cancelled))
                        .await
                    {
                        Ok(_) => (at, Outcome::Retrying),
                        // Cancelled meanwhile: decide again, knowing it.
                        Err(TableError::ConditionFailed { .. }) => {
                            self.cancelled_meanwhile().await?;
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            let t = &self.record.target;
            wake::after_commit(self.deps, &[Due::of(t, at)]).await;
            tracing::info!(post = %t.post, account = %t.account, error = %reason, retry_at = %at, ?outcome, "target will be tried again");
            crate::observe::post_retry(t.platform);
            return Ok(outcome);
        }
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
            .map_err(|e| NetworkError::uncertain(format!("could not record step {step}: {e}")))?;
        wake::in_background(held.deps, Due::of(&held.record.target, lease_until));
        Ok(())
    }
}
