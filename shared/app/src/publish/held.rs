//! The steps of a held (claimed) target: check, send, and record the outcome with its event.

use super::due::lease_update;
use super::{Outcome, PublishOptions, marker, next_delay};
use crate::records::{self, TargetRecord, attr, ms};
use crate::{AppError, Deps, accounts, events, posts};
use async_trait::async_trait;
use chrono::Duration;
use herald_domain::{MediaItem, Post, TargetStatus};
use herald_ports::{
    Checkpoint, Condition, Key, MediaRef, NetworkError, NetworkErrorKind, PublishRequest,
    Published, TableError, TxOp, Update, Value,
};
use herald_storage::keys;
use std::collections::BTreeMap;

/// A target this process holds the claim on.
pub(super) struct Held<'a> {
    pub(super) deps: &'a Deps,
    pub(super) options: &'a PublishOptions,
    pub(super) key: Key,
    pub(super) claim: String,
    pub(super) record: TargetRecord,
}

impl Held<'_> {
    fn mine(&self) -> Condition {
        Condition::eq(attr::CLAIM, self.claim.as_str())
    }

    pub(super) async fn carry(&mut self, must_check: bool) -> Result<Outcome, AppError> {
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
                context.credentials = fresh.into();
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
