//! The publisher with a send queue (on AWS, the send state machine): a minute's run hands
//! each target due in it to the queue, delayed to its second; the sender claims and
//! publishes what the queue delivers, exactly as an inline run would (claim, lease,
//! unconfirmed, reconciliation); an hourly sweep routes whatever the index holds for the
//! hour ahead, so a wake that was lost costs lateness only.

use super::claim::{claimable_from, process_item};
use super::dispatcher::{Dispatcher, sleep_until};
use super::due::due_entries;
use super::wake::{Due, Routed, Ticket, route};
use super::{Outcome, PublishOptions};
use crate::{AppError, events, records};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// A send delivered this much before its target's time is held until then (clocks differ a
/// little); one for a later time is dropped: the target moved, and its new time has its own
/// wake.
const EARLY: Duration = Duration::seconds(1);

/// What a run that hands off (a minute's, or the sweep) did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HandOff {
    /// Due-index entries read.
    pub due: usize,
    /// Handed to the send queue.
    pub queued: usize,
    /// Later minutes whose wake was ensured (the sweep).
    pub minutes: usize,
}

/// One delivered send's result: its message id, and the outcome or why it failed (the queue
/// delivers it again).
pub type Sent = (String, Result<Outcome, AppError>);

impl Dispatcher {
    /// A minute's run: every target due by `until` (overdue ones included) to the send queue,
    /// each delayed to its second.
    pub async fn hand_off(&self, until: DateTime<Utc>) -> Result<HandOff, AppError> {
        self.route_due(until, true).await
    }

    /// The safety sweep: targets due by `now + horizon` routed as a write routes them (the
    /// overdue and the imminent queued, the rest their minute's wake ensured).
    pub async fn sweep(&self, horizon: Duration) -> Result<HandOff, AppError> {
        let until = self.deps.clock.now() + horizon;
        self.route_due(until, false).await
    }

    async fn route_due(&self, until: DateTime<Utc>, all_now: bool) -> Result<HandOff, AppError> {
        let now = self.deps.clock.now();
        let entries = due_entries(&self.deps, now, until).await?;
        let mut dues = Vec::with_capacity(entries.len());
        for (at, _, item) in &entries {
            let record = match records::target_from(item) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "a due-index entry that is no target");
                    continue;
                }
            };
            dues.push(Due::of(&record.target, *at));
        }
        let Routed { queued, minutes } = route(&self.deps, &dues, all_now).await?;
        Ok(HandOff {
            due: entries.len(),
            queued,
            minutes,
        })
    }

    /// The sender: each delivered message (id, body) claimed and carried now, concurrently;
    /// then the events relayed. A message that is no ticket is dropped (logged), not retried.
    pub async fn send(&self, messages: Vec<(String, String)>) -> Vec<Sent> {
        let mut running = tokio::task::JoinSet::new();
        for (id, body) in messages {
            let (deps, options, instance) = (
                self.deps.clone(),
                self.options.clone(),
                self.instance.clone(),
            );
            running.spawn(async move {
                let outcome = send_one(&deps, &options, &instance, &body).await;
                (id, outcome)
            });
        }
        let mut sent = Vec::new();
        while let Some(done) = running.join_next().await {
            match done {
                Ok(s) => sent.push(s),
                Err(e) => tracing::error!(error = %e, "a send task ended abnormally"),
            }
        }
        if let Err(e) = events::relay(&self.deps, 10_000).await {
            tracing::warn!(error = %e, "events not relayed; the relay will");
        }
        sent
    }
}

async fn send_one(
    deps: &crate::Deps,
    options: &PublishOptions,
    instance: &str,
    body: &str,
) -> Result<Outcome, AppError> {
    let Some((key, _)) = Ticket::parse(body) else {
        tracing::warn!(body, "a send that names no target: dropped");
        return Ok(Outcome::Skipped);
    };
    let Some(item) = deps.table.get(&key).await? else {
        return Ok(Outcome::Skipped);
    };
    let record = records::target_from(&item)?;
    let now_options = PublishOptions {
        lookahead: Duration::zero(),
        ..options.clone()
    };
    // Published, failed, cancelled or back in draft: nothing to do.
    let Some(from) = claimable_from(&record, &now_options, instance) else {
        return Ok(Outcome::Skipped);
    };
    if from > deps.clock.now() + EARLY {
        return Ok(Outcome::Skipped);
    }
    sleep_until(deps, from).await;
    process_item(deps, options, instance, &item).await
}
