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
