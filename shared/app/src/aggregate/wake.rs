//! Waking the aggregator's polls on demand, so nothing runs when nothing is due. On AWS a
//! one-time schedule (the `Polls` job's, per minute) wakes the aggregator after the insight
//! polls it is for come due: every target published ensures the wake after its first poll,
//! and each poll the wake after the next; wakes are rounded to `INSIGHTS_STEP`, so a burst
//! of posts shares one. Notification polls wake themselves: while any account is polled,
//! each run ensures the next, `NOTIFICATIONS_EVERY` on, and connecting a polled account
//! starts the chain. A lost wake costs lateness only: the hourly sweep runs the same polls
//! and starts the chain again. A host that ticks on its own (`herald serve`) wakes nothing.

use super::insights::{self, PollReport};
use crate::engagement::poll::{self as notifications, NotificationReport};
use crate::{AppError, Deps};
use chrono::{DateTime, Duration, Utc};
use herald_ports::WakeJob;
use herald_ports::wake::{WAKE_LEAD, arrange, boundary_after, wake_minute_after};
use std::collections::BTreeSet;

/// Insight polls are due at hours and days after publishing: a quarter of an hour late is
/// on time, and one wake per quarter covers every post published in it.
pub const INSIGHTS_STEP: Duration = Duration::minutes(15);
/// How often polled accounts' replies and mentions are asked for.
pub const NOTIFICATIONS_EVERY: Duration = Duration::minutes(5);

/// What a wake (or the hourly sweep) did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PollsReport {
    pub insights: PollReport,
    pub notifications: NotificationReport,
    /// The next notification wake, when any account is polled and this host wakes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_notifications: Option<DateTime<Utc>>,
}

fn wakes(deps: &Deps) -> bool {
    deps.wakeups.wakes(WakeJob::Polls)
}

/// Ensures a wake after each of `dues` (insight polls due then). Never fails the caller:
/// what is not arranged, the hourly sweep polls.
pub async fn after_insights(deps: &Deps, dues: impl IntoIterator<Item = DateTime<Utc>>) {
    if !wakes(deps) {
        return;
    }
    let minutes: BTreeSet<_> = dues
        .into_iter()
        .map(|due| wake_minute_after(due, INSIGHTS_STEP))
        .collect();
    if minutes.is_empty() {
        return;
    }
    if let Err(e) = arrange(deps.wakeups.as_ref(), WakeJob::Polls, &minutes, &[]).await {
        tracing::warn!(error = %e, minutes = minutes.len(), "polls wake-up not arranged; the hourly sweep will run these insight polls");
    }
}

/// Ensures the notification wake after `now`, on a `NOTIFICATIONS_EVERY` boundary (every
/// process asking within one period names the same minute). Answers the minute arranged.
pub async fn next_notifications(deps: &Deps, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !wakes(deps) {
        return None;
    }
    let minute = boundary_after(now + WAKE_LEAD, NOTIFICATIONS_EVERY);
    let minutes = BTreeSet::from([minute]);
    match arrange(deps.wakeups.as_ref(), WakeJob::Polls, &minutes, &[]).await {
        Ok(_) => Some(minute),
        Err(e) => {
            tracing::warn!(error = %e, "polls wake-up not arranged; the hourly sweep will start notification polls again");
            None
        }
    }
}

/// What a wake or the hourly sweep runs: the insight polls due by `now`, every polled
/// account's notifications, then the next notification wake while there are any. One
/// failing does not stop the other; the first error is answered.
pub async fn run(deps: &Deps, now: DateTime<Utc>) -> Result<PollsReport, AppError> {
    let insights = insights::poll(deps, now).await;
    let notified = notifications::poll(deps, now).await;
    let mut report = PollsReport::default();
    let mut first_error = None;
    match insights {
        Ok(r) => report.insights = r,
        Err(e) => first_error = Some(e),
    }
    match notified {
        Ok(r) => {
            if r.accounts > 0 {
                report.next_notifications = next_notifications(deps, now).await;
            }
            report.notifications = r;
        }
        Err(e) => {
            // Unknown whether any account is polled: keep the chain alive.
            report.next_notifications = next_notifications(deps, now).await;
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}
