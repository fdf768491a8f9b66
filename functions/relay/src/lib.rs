//! The relay function: hands pending outbox events to the bus. On AWS the table's stream wakes
//! it whenever an event item is written (the event source mapping's filter passes only those),
//! so an event leaves within about a second of the change it reports, whoever wrote it. The
//! publisher still relays at the end of each run; relaying twice is safe (consumers drop
//! repeats by event id).

use herald_app::{AppError, Deps};
use serde::{Deserialize, Serialize};

/// Events relayed per table read; a wake-up drains the outbox in rounds of this size.
const ROUND: usize = 500;
/// Rounds per invocation, so one invocation stays well inside its timeout; what is left is
/// taken by the next wake-up or the next publisher run.
const MAX_ROUNDS: usize = 20;

/// A batch of the table's stream records. Only their number is read: a record is a wake-up,
/// and what is relayed is the table's pending-event index, so a record lost, repeated or out
/// of order changes nothing.
#[derive(Debug, Default, Deserialize)]
pub struct StreamBatch {
    #[serde(rename = "Records", default)]
    pub records: Vec<serde::de::IgnoredAny>,
}

#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    /// Stream records that woke this invocation.
    pub records: usize,
    /// Events handed to the bus.
    pub relayed: usize,
}

/// One invocation: relays until the outbox is empty or the round budget is spent. An error
/// fails the invocation, and Lambda hands the batch again.
pub async fn handle(deps: &Deps, batch: StreamBatch) -> Result<RelayReport, AppError> {
    let mut relayed = 0;
    for _ in 0..MAX_ROUNDS {
        let sent = herald_app::events::relay(deps, ROUND).await?;
        relayed += sent;
        if sent < ROUND {
            break;
        }
    }
    let report = RelayReport {
        records: batch.records.len(),
        relayed,
    };
    tracing::info!(?report, "relay run");
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_batch_is_counted_whatever_its_records_hold() {
        let batch: StreamBatch = serde_json::from_value(serde_json::json!({
            "Records": [
                {"eventName": "INSERT", "dynamodb": {"NewImage": {"kind": {"S": "event"}}}},
                {"eventName": "MODIFY"},
                "not even an object"
            ]
        }))
        .unwrap();
        assert_eq!(batch.records.len(), 3);
        // A manual invocation with no records still relays.
        let empty: StreamBatch = serde_json::from_str("{}").unwrap();
        assert!(empty.records.is_empty());
    }
}
