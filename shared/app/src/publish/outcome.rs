//! How a held target's outcome is recorded: the target's new state and its event in one
//! transaction, the claim released with it.

use super::Outcome;
use super::held::Held;
use crate::records::{self, attr, ms};
use crate::{AppError, events};
use herald_domain::TargetStatus;
use herald_domain::event::{self, EventKind};
use herald_ports::{Condition, Published, TableError, TxOp, Update};
use herald_storage::keys;

impl Held<'_> {
    /// Records the outcome and its event in one transaction, releasing the claim.
    pub(super) async fn finish(
        &self,
        update: Update,
        event: Option<EventKind>,
    ) -> Result<(), AppError> {
        self.finish_with(update, event, Vec::new()).await
    }

    /// As `finish`, with more writes in the same transaction.
    async fn finish_with(
        &self,
        update: Update,
        event: Option<EventKind>,
        extra: Vec<TxOp>,
    ) -> Result<(), AppError> {
        let t = &self.record.target;
        let now = self.deps.clock.now();
        let mut ops = vec![TxOp::Update {
            key: self.key.clone(),
            update: update
                .remove(attr::CLAIM)
                .remove(attr::LEASE_UNTIL)
                .remove(keys::GSI1_PK)
                .remove(keys::GSI1_SK),
            condition: Some(self.mine()),
        }];
        ops.extend(event.map(|e| events::record(self.deps, &t.workspace, e, now)));
        ops.extend(extra);
        match self.deps.table.transact(ops).await {
            Ok(()) => Ok(()),
            Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
                Err(AppError::Conflict("the claim was taken over".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn published(
        &self,
        p: Published,
        outcome: Outcome,
    ) -> Result<Outcome, AppError> {
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
        let event = EventKind::PostPublished(event::PostPublished {
            post: t.post.clone(),
            account: t.account.clone(),
            platform: t.platform,
            remote_id: p.remote_id.clone(),
            url: p.url.clone(),
            published_at: now,
            scheduled_at: t.due_at,
        });
        // Engagement reported by the network names its own id: this finds the post again.
        let remote = crate::engagement::remote_post_op(t, &p.remote_id, now);
        self.finish_with(update, Some(event), remote.into_iter().collect())
            .await?;
        let lateness_ms = t.due_at.map(|d| (now - d).num_milliseconds());
        tracing::info!(post = %t.post, account = %t.account, platform = %t.platform, remote_id = %p.remote_id, lateness_ms, "target published");
        // A reconciled target went out at an unknown moment: counted, not timed.
        crate::observe::post_published(
            t.platform,
            lateness_ms.filter(|_| outcome == Outcome::Published),
        );
        Ok(outcome)
    }

    pub(super) async fn failed(&self, reason: String) -> Result<Outcome, AppError> {
        let t = &self.record.target;
        let update = Update::new()
            .set(attr::STATUS, TargetStatus::Failed.as_str())
            .set(attr::ERROR, reason.as_str());
        let event = EventKind::PostFailed(event::PostFailed {
            post: t.post.clone(),
            account: t.account.clone(),
            platform: t.platform,
            error: reason.clone(),
        });
        self.finish(update, Some(event)).await?;
        tracing::warn!(post = %t.post, account = %t.account, platform = %t.platform, error = %reason, "target failed");
        crate::observe::post_failed(t.platform);
        Ok(Outcome::Failed)
    }

    /// Ends a cancelled target that nothing of can be on the network.
    pub(super) async fn cancelled(&self) -> Result<Outcome, AppError> {
        let t = &self.record.target;
        let update = Update::new().set(attr::STATUS, TargetStatus::Cancelled.as_str());
        self.finish(update, None).await?;
        tracing::info!(post = %t.post, account = %t.account, "target of a cancelled post ends unsent");
        Ok(Outcome::Cancelled)
    }

    pub(super) async fn needs_reconnect(&self) -> Result<(), AppError> {
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
        let event = EventKind::AccountNeedsReconnect(event::AccountNeedsReconnect {
            account: t.account.clone(),
            platform: t.platform,
        });
        self.deps
            .table
            .transact(vec![
                TxOp::Put {
                    item: records::json_item(&key, "account", &account),
                    condition: Some(Condition::item_present()),
                },
                events::record(self.deps, &t.workspace, event, now),
            ])
            .await?;
        Ok(())
    }
}
