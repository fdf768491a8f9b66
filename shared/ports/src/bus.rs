//! The event bus: EventBridge on AWS, an in-process channel locally. Events leave Herald's
//! table outbox through it; consumers (webhook delivery, aggregator) subscribe by rule.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusEvent {
    /// Unique per event: consumers drop repeats by it.
    pub id: String,
    /// What happened, in the user's words: `post.published`, `post.failed`, ...
    pub kind: String,
    pub workspace: String,
    pub time: chrono::DateTime<chrono::Utc>,
    pub data: serde_json::Value,
}

impl BusEvent {
    /// The wire envelope of a typed event.
    pub fn of(event: &herald_domain::Event) -> BusEvent {
        serde_json::from_value(serde_json::to_value(event).expect("events serialize"))
            .expect("an event has the envelope's shape")
    }

    /// The typed event back; an unknown kind or a payload of another shape is an error.
    pub fn typed(&self) -> Result<herald_domain::Event, serde_json::Error> {
        serde_json::from_value(serde_json::to_value(self)?)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// Some events were not accepted; they are listed by id and may be sent again.
    #[error("{} events not accepted: {reason}", .failed.len())]
    Rejected { failed: Vec<String>, reason: String },
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Sends events (at most 10 at a time on EventBridge; adapters split larger batches).
    async fn publish(&self, events: &[BusEvent]) -> Result<(), BusError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_domain::event::{AccountNeedsReconnect, Event, EventKind};
    use herald_domain::{AccountId, EventId, Platform, WorkspaceId};

    #[test]
    fn a_typed_event_travels_in_the_envelope_and_comes_back() {
        let event = Event {
            id: EventId::generate(1, 4),
            workspace: WorkspaceId::generate(1, 1),
            time: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            kind: EventKind::AccountNeedsReconnect(AccountNeedsReconnect {
                account: AccountId::generate(1, 3),
                platform: Platform::Bluesky,
            }),
        };
        let wire = BusEvent::of(&event);
        assert_eq!(wire.kind, "account.needs_reconnect");
        assert_eq!(wire.id, event.id.as_str());
        assert_eq!(wire.data["platform"], "bluesky");
        assert_eq!(wire.typed().unwrap(), event);
        let mut odd = wire;
        odd.kind = "post.published".into();
        assert!(
            odd.typed().is_err(),
            "a payload of another kind does not read"
        );
    }
}
