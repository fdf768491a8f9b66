//! Wake-ups: how a job (the publisher, webhook delivery) is woken for the moments that hold
//! its work, and how a due second is reached without waiting for it. On AWS a one-time
//! schedule per due minute wakes the job's function, and its run hands the minute's items to
//! a Step Functions Express execution that invokes the sender at each item's second; a
//! long-lived host (`herald serve`) ticks on its own and needs neither.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

/// How long before a minute its wake may fire: EventBridge Scheduler invokes within the
/// minute it is set for (60 s precision), so a minute's wake is set for two minutes before it
/// and fires at least a minute ahead. A target due sooner than this after it is written is
/// handed over at once instead (to the send queue: on AWS, its state machine).
pub const WAKE_LEAD: Duration = Duration::seconds(120);

/// The longest a send handed over may wait for its second: a minute's run starts up to
/// `WAKE_LEAD` before it and its last second is 59 s in, so 180 s covers any minute. An
/// Express execution lasts at most five minutes; this leaves two for the sends themselves.
/// Anything later waits for its minute's wake instead.
pub const MAX_SEND_DELAY: u32 = 180;

/// One send handed over: delivered to the sender after `delay_seconds`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelayedSend {
    pub body: String,
    /// 0 to `MAX_SEND_DELAY`.
    pub delay_seconds: u32,
}

/// What a wake is for: each job has its own function, its own schedule names (so one job's
/// minute never stands in for another's) and its own delayed hand-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WakeJob {
    /// Posts' targets: the minute's run hands each over, delayed to its second.
    Publisher,
    /// Webhook deliveries whose retry is due.
    Webhooks,
    /// The aggregator's polls of the networks: insights of posts published 1 h, 24 h and
    /// 7 d before, and replies and mentions of accounts whose network sends no webhooks.
    /// Minute precision is enough: it hands nothing over.
    Polls,
}

impl WakeJob {
    pub const ALL: [WakeJob; 3] = [WakeJob::Publisher, WakeJob::Webhooks, WakeJob::Polls];

    /// The start of its minutes' schedule names (the IAM policies name the same prefix).
    pub fn schedule_prefix(self) -> &'static str {
        match self {
            WakeJob::Publisher => "herald-due-",
            WakeJob::Webhooks => "herald-hooks-",
            WakeJob::Polls => "herald-polls-",
        }
    }
}

impl std::fmt::Display for WakeJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WakeJob::Publisher => "publisher",
            WakeJob::Webhooks => "webhooks",
            WakeJob::Polls => "polls",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WakeError {
    #[error("wake-up service: {0}")]
    Service(String),
    #[error("{failed} of {total} sends were not queued: {message}")]
    NotQueued {
        failed: usize,
        total: usize,
        message: String,
    },
    #[error("no wake-ups are configured for {0}")]
    NoQueue(WakeJob),
}

#[async_trait]
pub trait WakeUps: Send + Sync + 'static {
    /// Whether `job` is woken on demand here (its minutes' schedules and its delayed
    /// hand-off, called its queue here).
    /// When not, the host runs the job on its own tick (a local host, or a deployment
    /// without the job's queue).
    fn wakes(&self, job: WakeJob) -> bool;

    /// Whether the publisher's sends go through a delayed queue to the sender. When not, the
    /// publisher's own runs send inline what is due.
    fn queues_sends(&self) -> bool {
        self.wakes(WakeJob::Publisher)
    }

    /// Makes sure `job` is woken within `WAKE_LEAD` before `minute` (a whole minute) to hand
    /// that minute's items to its queue. Idempotent: asking twice, from any process, makes
    /// one wake.
    async fn ensure_minute(&self, job: WakeJob, minute: DateTime<Utc>) -> Result<(), WakeError>;

    /// Hands messages to `job`'s queue, each delivered after its delay. All or an error
    /// naming how many were not queued (those may be queued again: claims make a repeat
    /// harmless).
    async fn queue_sends(&self, job: WakeJob, sends: &[DelayedSend]) -> Result<(), WakeError>;
}

/// The delay that delivers a send at or just after `at` (its Wait counts whole seconds).
pub fn send_delay(now: DateTime<Utc>, at: DateTime<Utc>) -> u32 {
    let ms = (at - now).num_milliseconds().max(0);
    u32::try_from((ms + 999) / 1000).unwrap_or(u32::MAX)
}

/// What arranging a job's wakes did: messages queued, minutes' wakes ensured.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Routed {
    pub queued: usize,
    pub minutes: usize,
}

/// Ensures `job`'s wake for each of `minutes` and queues `sends`: every one is tried, and
/// the first failure is answered (what was not arranged, the hourly sweep finds).
pub async fn arrange(
    wakes: &dyn WakeUps,
    job: WakeJob,
    minutes: &std::collections::BTreeSet<DateTime<Utc>>,
    sends: &[DelayedSend],
) -> Result<Routed, WakeError> {
    let mut first_error = None;
    for minute in minutes {
        if let Err(e) = wakes.ensure_minute(job, *minute).await {
            first_error.get_or_insert(e);
        }
    }
    if !sends.is_empty()
        && let Err(e) = wakes.queue_sends(job, sends).await
    {
        first_error.get_or_insert(e);
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(Routed {
            queued: sends.len(),
            minutes: minutes.len(),
        }),
    }
}

/// The whole minute `at` falls in.
pub fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    let ms = at.timestamp_millis().div_euclid(60_000) * 60_000;
    DateTime::from_timestamp_millis(ms).unwrap_or(at)
}

/// The first whole multiple of `step` (from the epoch) strictly after `at`: wakes rounded to
/// it are shared by every item due within one step, so a burst makes one schedule.
pub fn boundary_after(at: DateTime<Utc>, step: Duration) -> DateTime<Utc> {
    let step_ms = step.num_milliseconds().max(60_000);
    let ms = (at.timestamp_millis().div_euclid(step_ms) + 1) * step_ms;
    DateTime::from_timestamp_millis(ms).unwrap_or(at)
}

/// The minute whose wake fires after `due` (a wake fires up to `WAKE_LEAD` before its
/// minute), on a boundary of `step`: for jobs that poll what is due by the time they run.
pub fn wake_minute_after(due: DateTime<Utc>, step: Duration) -> DateTime<Utc> {
    boundary_after(due + WAKE_LEAD, step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delay_lands_on_or_just_after_its_second() {
        let now = DateTime::from_timestamp_millis(1_000_000_300).unwrap();
        let at = |ms: i64| DateTime::from_timestamp_millis(1_000_000_000 + ms).unwrap();
        assert_eq!(send_delay(now, at(0)), 0, "overdue: at once");
        assert_eq!(send_delay(now, at(300)), 0);
        assert_eq!(send_delay(now, at(301)), 1);
        assert_eq!(send_delay(now, at(1300)), 1);
        assert_eq!(send_delay(now, at(5_300)), 5);
        assert_eq!(send_delay(now, at(60_000)), 60);
        assert_eq!(send_delay(now, at(900_300)), 900);
        assert_eq!(send_delay(now, at(900_301)), 901);
    }

    #[test]
    fn a_minute_is_the_one_an_instant_falls_in() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T15:07:59.999Z")
            .unwrap()
            .to_utc();
        let m = minute_of(at);
        assert_eq!(m.to_rfc3339(), "2026-12-01T15:07:00+00:00");
        assert_eq!(minute_of(m), m);
        let before = DateTime::from_timestamp_millis(-1).unwrap();
        assert_eq!(minute_of(before).timestamp(), -60);
    }

    #[test]
    fn a_polls_wake_fires_after_what_it_is_for_on_a_shared_boundary() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let step = Duration::minutes(15);
        assert_eq!(
            boundary_after(t("2026-12-01T15:07:10Z"), step),
            t("2026-12-01T15:15:00Z")
        );
        assert_eq!(
            boundary_after(t("2026-12-01T15:15:00Z"), step),
            t("2026-12-01T15:30:00Z"),
            "strictly after"
        );
        // Due 15:13:30: 15:15's wake may fire at 15:13, before it; 15:30's fires at 15:28 on.
        let due = t("2026-12-01T15:13:30Z");
        let minute = wake_minute_after(due, step);
        assert_eq!(minute, t("2026-12-01T15:30:00Z"));
        assert!(minute - WAKE_LEAD > due);
        // Everything due in one step shares a wake.
        assert_eq!(
            wake_minute_after(t("2026-12-01T15:00:01Z"), step),
            wake_minute_after(t("2026-12-01T15:12:59Z"), step)
        );
        // A step under a minute is a minute (the Scheduler's precision).
        assert_eq!(
            boundary_after(t("2026-12-01T15:07:10Z"), Duration::seconds(5)),
            t("2026-12-01T15:08:00Z")
        );
    }

    #[test]
    fn each_job_has_its_own_schedule_names() {
        let prefixes: std::collections::BTreeSet<_> =
            WakeJob::ALL.iter().map(|j| j.schedule_prefix()).collect();
        assert_eq!(prefixes.len(), WakeJob::ALL.len());
        // None is the start of another: a policy on one prefix never covers another job's.
        for a in WakeJob::ALL {
            for b in WakeJob::ALL {
                assert!(a == b || !a.schedule_prefix().starts_with(b.schedule_prefix()));
            }
        }
    }
}
