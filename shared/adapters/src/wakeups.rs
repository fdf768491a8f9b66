//! Wake-ups for a host that ticks on its own (`herald serve`, tests): nothing to schedule, no
//! send queue; the publisher's runs send inline what is due.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_ports::{DelayedSend, WakeError, WakeUps};

#[derive(Clone, Copy, Debug, Default)]
pub struct InlineWakeUps;

#[async_trait]
impl WakeUps for InlineWakeUps {
    fn queues_sends(&self) -> bool {
        false
    }

    async fn ensure_minute(&self, _minute: DateTime<Utc>) -> Result<(), WakeError> {
        Ok(())
    }

    async fn queue_sends(&self, _sends: &[DelayedSend]) -> Result<(), WakeError> {
        Err(WakeError::NoQueue)
    }
}
