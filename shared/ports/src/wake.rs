//! Wake-ups: how the publisher is woken for the moments that hold work, and how a due second
//! is reached without waiting for it. On AWS a one-time schedule per due minute wakes the
//! publisher and a delayed queue message per target wakes the sender at its second; a
//! long-lived host (`herald serve`) ticks on its own and needs neither.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

/// How long before a minute its wake may fire: EventBridge Scheduler invokes within the
/// minute it is set for (60 s precision), so a minute's wake is set for two minutes before it
/// and fires at least a minute ahead. A target due sooner than this after it is written is
/// handed to the send queue at once instead.
pub const WAKE_LEAD: Duration = Duration::seconds(120);

/// The longest a queued send may be delayed (SQS's 15 minutes).
pub const MAX_SEND_DELAY: u32 = 900;

/// One send handed to the queue: delivered to the sender after `delay_seconds`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelayedSend {
    pub body: String,
    /// 0 to `MAX_SEND_DELAY`.
    pub delay_seconds: u32,
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
    #[error("no send queue is configured")]
    NoQueue,
}

#[async_trait]
pub trait WakeUps: Send + Sync + 'static {
    /// Whether sends go through a delayed queue to the sender. When not, the publisher's own
    /// runs send inline what is due (a local host, or a deployment without the queue).
    fn queues_sends(&self) -> bool;

    /// Makes sure the publisher is woken within `WAKE_LEAD` before `minute` (a whole minute)
    /// to hand that minute's targets to the send queue. Idempotent: asking twice, from any
    /// process, makes one wake.
    async fn ensure_minute(&self, minute: DateTime<Utc>) -> Result<(), WakeError>;

    /// Hands sends to the queue, each delivered after its delay. All or an error naming how
    /// many were not queued (those may be queued again: the claim makes a repeat harmless).
    async fn queue_sends(&self, sends: &[DelayedSend]) -> Result<(), WakeError>;
}

/// The whole minute `at` falls in.
pub fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    let ms = at.timestamp_millis().div_euclid(60_000) * 60_000;
    DateTime::from_timestamp_millis(ms).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
