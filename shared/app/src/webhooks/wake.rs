//! Waking for webhook retries, on demand: no run unless a delivery is due. A delivery that
//! becomes due at T (a failed attempt's retry, a redelivery, a sweep's find) is routed:
//! within the hand-off's longest delay (`MAX_SEND_DELAY`, 3 minutes), a message naming it is
//! handed over delayed to T's second, and its consumer attempts the delivery then (`retry`);
//! later, the webhook job's wake for T's minute is ensured (one schedule per minute, made
//! twice it is one), and that minute's run queues what is due in it. A lost wake costs
//! lateness, never a delivery: the hourly sweep finds the delivery in the due index and
//! routes it again.
//!
//! As deployed the webhook job's hand-off is the publisher's: one state machine for every
//! job, whose executions invoke the publisher binary (the sender), which hands each webhook
//! message here.

use crate::Deps;
use chrono::{DateTime, Utc};
use herald_domain::{DeliveryId, WorkspaceId};
use herald_ports::wake::{MAX_SEND_DELAY, arrange, minute_of, send_delay};
use herald_ports::{DelayedSend, WakeError, WakeJob};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A delivery due at `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueDelivery {
    pub workspace: WorkspaceId,
    pub delivery: DeliveryId,
    pub at: DateTime<Utc>,
}

/// The webhook queue's message: which delivery, and the time it was queued for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub workspace: String,
    pub delivery: String,
    /// Milliseconds since the epoch.
    pub at: i64,
}

impl Ticket {
    fn of(d: &DueDelivery) -> Ticket {
        Ticket {
            workspace: d.workspace.to_string(),
            delivery: d.delivery.to_string(),
            at: d.at.timestamp_millis(),
        }
    }

    /// The delivery a message names; None for a message that is not a ticket.
    pub fn parse(body: &str) -> Option<(WorkspaceId, DeliveryId)> {
        let t: Ticket = serde_json::from_str(body).ok()?;
        Some((
            WorkspaceId::parse(&t.workspace)?,
            DeliveryId::parse(&t.delivery)?,
        ))
    }
}

pub use herald_ports::wake::Routed;

/// Whether this host wakes the webhook function on demand (else its own tick sweeps).
pub fn on_demand(deps: &Deps) -> bool {
    deps.wakeups.wakes(WakeJob::Webhooks)
}

/// Routes each due delivery: queued with its delay when that is within the queue's longest,
/// its minute's wake ensured otherwise.
pub async fn route(deps: &Deps, due: &[DueDelivery]) -> Result<Routed, WakeError> {
    if !on_demand(deps) || due.is_empty() {
        return Ok(Routed::default());
    }
    let now = deps.clock.now();
    let mut sends = Vec::new();
    let mut minutes = BTreeSet::new();
    for d in due {
        let wait = send_delay(now, d.at);
        if wait <= MAX_SEND_DELAY {
            sends.push(DelayedSend {
                body: serde_json::to_string(&Ticket::of(d)).expect("a ticket serializes"),
                delay_seconds: wait,
            });
        } else {
            minutes.insert(minute_of(d.at));
        }
    }
    arrange(deps.wakeups.as_ref(), WakeJob::Webhooks, &minutes, &sends).await
}

/// What a batch of queue messages came to: attempts made, and the messages whose attempt
/// failed to record (for the queue to deliver again).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retried {
    pub attempted: usize,
    pub failed: Vec<String>,
}

/// Each message's delivery attempted, if it is still due (a message for one delivered,
/// redelivered later or already taken does nothing). One that names no delivery is dropped,
/// said in the log.
pub async fn retry(
    deps: &Deps,
    sender: &std::sync::Arc<dyn herald_ports::WebhookSender>,
    messages: Vec<(String, String)>,
) -> Retried {
    let mut due = Vec::with_capacity(messages.len());
    for (id, body) in messages {
        match Ticket::parse(&body) {
            Some((ws, delivery)) => due.push((id, ws, delivery)),
            None => {
                tracing::warn!(message = %id, "a webhook queue message that names no delivery; dropped")
            }
        }
    }
    let mut out = Retried::default();
    for (id, result) in super::deliver::attempt_each(deps, sender, due).await {
        match result {
            Ok(Some(_)) => out.attempted += 1,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(message = %id, error = %e, "webhook retry not recorded; the queue delivers it again");
                out.failed.push(id);
            }
        }
    }
    out
}

/// After a committed write that made these deliveries due: wakes for them. Never fails the
/// write: a wake not made is logged, and the hourly sweep makes up for it.
pub async fn after_commit(deps: &Deps, due: &[DueDelivery]) {
    if let Err(e) = route(deps, due).await {
        tracing::warn!(error = %e, deliveries = due.len(), "webhook wake-up not arranged; the hourly sweep will find these deliveries");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_round_trips_and_nonsense_is_no_ticket() {
        let d = DueDelivery {
            workspace: WorkspaceId::generate(1, 1),
            delivery: DeliveryId::generate(1, 2),
            at: DateTime::from_timestamp_millis(1_800_000_000_123).unwrap(),
        };
        let body = serde_json::to_string(&Ticket::of(&d)).unwrap();
        assert_eq!(Ticket::parse(&body), Some((d.workspace, d.delivery)));
        assert_eq!(Ticket::parse("{}"), None);
        assert_eq!(
            Ticket::parse(r#"{"workspace":"x","delivery":"y","at":1}"#),
            None
        );
    }
}
