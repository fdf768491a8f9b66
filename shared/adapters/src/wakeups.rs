//! Wake-ups for a host that ticks on its own (`herald serve`, tests): nothing to schedule, no
//! queue; the publisher's runs send inline what is due, the webhook sweep attempts what is.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_ports::{DelayedSend, WakeError, WakeJob, WakeUps};

#[derive(Clone, Copy, Debug, Default)]
pub struct InlineWakeUps;

#[async_trait]
impl WakeUps for InlineWakeUps {
    fn wakes(&self, _job: WakeJob) -> bool {
        false
    }

    async fn ensure_minute(&self, _job: WakeJob, _minute: DateTime<Utc>) -> Result<(), WakeError> {
        Ok(())
    }

    async fn queue_sends(&self, job: WakeJob, _sends: &[DelayedSend]) -> Result<(), WakeError> {
        Err(WakeError::NoQueue(job))
    }
}
