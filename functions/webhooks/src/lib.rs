//! The webhook function: Herald's events delivered to the endpoints that take them, signed per
//! the Standard Webhooks spec. On AWS the bus rule hands it each event (every delivery is
//! recorded, then attempted at once) and a schedule wakes it every minute for the retries due;
//! `herald serve` records on its bus rule and sweeps on its own tick, through this handler.

use herald_app::webhooks::deliver;
use herald_app::{AppError, Deps};
use herald_ports::{BusEvent, WebhookSender};
use serde::Serialize;
use std::sync::Arc;

/// Deliveries due that one sweep takes per index partition; the next sweep takes the rest.
const SWEEP_MAX: usize = 200;

/// What woke the function.
#[derive(Debug, PartialEq)]
pub enum Invocation {
    /// An event from the bus: its deliveries recorded and attempted.
    Event(BusEvent),
    /// The schedule: every delivery whose retry is due.
    Sweep,
}

impl Invocation {
    /// A Lambda payload: an EventBridge envelope from the bus rule (`source: herald`, the event
    /// in `detail`), or anything else (the scheduler's tick) as a sweep.
    pub fn from_payload(payload: serde_json::Value) -> Result<Invocation, AppError> {
        if payload.get("source").and_then(|s| s.as_str()) != Some("herald") {
            return Ok(Invocation::Sweep);
        }
        let detail = payload.get("detail").cloned().unwrap_or_default();
        serde_json::from_value(detail)
            .map(Invocation::Event)
            .map_err(|e| AppError::Corrupt(format!("a herald event of another shape: {e}")))
    }
}

#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Deliveries the event made (0 for a repeated event or a sweep).
    pub recorded: usize,
    /// Attempts made.
    pub attempted: usize,
}

/// Records the deliveries an event makes, attempting none: what `herald serve`'s bus rule
/// does, leaving the attempts to its sweep so a slow endpoint never holds the bus.
pub async fn record(deps: &Deps, event: &BusEvent) -> Result<usize, AppError> {
    Ok(deliver::accept(deps, event).await?.len())
}

pub async fn handle(
    deps: &Deps,
    sender: &Arc<dyn WebhookSender>,
    invocation: Invocation,
) -> Result<Report, AppError> {
    let report = match invocation {
        Invocation::Event(event) => {
            let made = deliver::accept(deps, &event).await?;
            let recorded = made.len();
            let attempted = deliver::attempt_all(deps, sender, made).await?;
            Report {
                recorded,
                attempted,
            }
        }
        Invocation::Sweep => Report {
            recorded: 0,
            attempted: deliver::sweep(deps, sender, SWEEP_MAX).await?,
        },
    };
    if report != Report::default() {
        tracing::info!(?report, "webhooks run");
    }
    Ok(report)
}

/// The sender every host uses: HTTPS through the SSRF guard, no redirects, 15 s.
pub fn sender(allow_loopback: bool) -> Arc<dyn WebhookSender> {
    Arc::new(herald_networks::webhook::HttpWebhookSender::new(
        herald_networks::guard::Guard::new(allow_loopback),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bus_envelope_is_an_event_and_a_schedule_tick_is_a_sweep() {
        let envelope = json!({"source": "herald", "detail-type": "post.published", "detail": {
            "id": "evt_1", "kind": "post.published", "workspace": "ws_1",
            "time": "2026-12-01T12:00:00Z", "data": {"post": "p"}}});
        match Invocation::from_payload(envelope).unwrap() {
            Invocation::Event(e) => assert_eq!(e.kind, "post.published"),
            other => panic!("{other:?}"),
        }
        let tick =
            json!({"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}});
        assert_eq!(Invocation::from_payload(tick).unwrap(), Invocation::Sweep);
        assert_eq!(
            Invocation::from_payload(json!({})).unwrap(),
            Invocation::Sweep
        );
        let odd = json!({"source": "herald", "detail": {"id": 5}});
        assert!(Invocation::from_payload(odd).is_err());
    }
}
