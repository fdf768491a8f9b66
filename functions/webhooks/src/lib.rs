//! The webhook function: Herald's events delivered to the endpoints that take them, signed per
//! the Standard Webhooks spec. On AWS the bus rule hands it each event (every delivery is
//! recorded, then attempted at once), and nothing runs again unless a retry is due: a failed
//! attempt hands over a message delayed to its retry's second (within 3 minutes; the send
//! state machine, whose sender attempts it, see `herald_app::webhooks::wake`) or ensures its minute's
//! one-time schedule, whose run here queues the minute's retries; an hourly sweep routes what
//! a lost wake left. `herald serve` records on its bus rule and sweeps on its own tick,
//! through this handler.

use chrono::{DateTime, Utc};
use herald_app::webhooks::{deliver, wake};
use herald_app::{AppError, Deps};
use herald_ports::{BusEvent, WebhookSender};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// Deliveries due that one sweep takes per index partition; the next sweep takes the rest.
const SWEEP_MAX: usize = 200;
/// How far ahead the hourly sweep routes: its hour, and a little over.
const SWEEP_HORIZON: chrono::Duration = chrono::Duration::minutes(65);

/// What woke the function.
#[derive(Debug, PartialEq)]
pub enum Invocation {
    /// An event from the bus: its deliveries recorded and attempted.
    Event(BusEvent),
    /// A minute's wake: the retries due by the end of `minute`, attempted or queued to their
    /// second.
    Wake { minute: DateTime<Utc> },
    /// Sends (place, body) from a state machine, each a delivery due at its second: for a
    /// deployment that gives the webhook job a state machine of its own invoking this
    /// function (the template shares the publisher's).
    Retries(Vec<(String, String)>),
    /// The hourly safety sweep (and a local host's tick): what is due attempted, the hour
    /// ahead routed where wakes are on demand.
    Sweep,
}

impl Invocation {
    /// A Lambda payload: an EventBridge envelope from the bus rule (`source: herald`, the event
    /// in `detail`), a state machine's sends (`{"sends": [...]}`), a minute's wake (`{"wake": ...}`), or
    /// anything else (the hourly schedule) as a sweep.
    pub fn from_payload(payload: Value) -> Result<Invocation, AppError> {
        if let Some(messages) = herald_platform::sends::messages(&payload) {
            return Ok(Invocation::Retries(messages?));
        }
        if let Some(w) = payload.get("wake") {
            let minute = w
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .ok_or_else(|| AppError::invalid("wake", "an RFC 3339 minute"))?;
            return Ok(Invocation::Wake {
                minute: herald_ports::wake::minute_of(minute.to_utc()),
            });
        }
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
    /// Retries handed over, delayed to their second.
    pub queued: usize,
    /// Minutes whose wake was ensured.
    pub minutes: usize,
}

/// Records the deliveries an event makes, attempting none: what `herald serve`'s bus rule
/// does, leaving the attempts to its sweep so a slow endpoint never holds the bus.
pub async fn record(deps: &Deps, event: &BusEvent) -> Result<usize, AppError> {
    Ok(deliver::accept(deps, event).await?.made.len())
}

pub async fn handle(
    deps: &Deps,
    sender: &Arc<dyn WebhookSender>,
    invocation: Invocation,
) -> Result<Report, AppError> {
    let report = match invocation {
        Invocation::Event(event) => {
            let accepted = deliver::accept(deps, &event).await?;
            let recorded = accepted.made.len();
            // A repeat's deliveries too: one an earlier run recorded but never attempted is
            // due now (an attempt of one that is not due claims nothing).
            let attempted = deliver::attempt_all(deps, sender, accepted.all()).await?;
            Report {
                recorded,
                attempted,
                ..Report::default()
            }
        }
        Invocation::Wake { minute } => {
            // The minute ends just before the next one starts (that one has its own wake).
            let until = minute + chrono::Duration::milliseconds(59_999);
            swept(deliver::sweep(deps, sender, until, SWEEP_MAX).await?)
        }
        Invocation::Sweep => {
            let until = deps.clock.now() + SWEEP_HORIZON;
            swept(deliver::sweep(deps, sender, until, SWEEP_MAX).await?)
        }
        Invocation::Retries(messages) => retries(deps, sender, messages).await?,
    };
    if report.attempted + report.queued + report.minutes + report.recorded > 0 {
        tracing::info!(?report, "webhooks run");
    }
    Ok(report)
}

fn swept(s: deliver::Swept) -> Report {
    Report {
        attempted: s.attempted,
        queued: s.routed.queued,
        minutes: s.routed.minutes,
        ..Report::default()
    }
}

/// A batch of the webhook job's own state machine (where it has one): an attempt that failed
/// to record fails the invocation, so the batch is handed over again.
async fn retries(
    deps: &Deps,
    sender: &Arc<dyn WebhookSender>,
    messages: Vec<(String, String)>,
) -> Result<Report, AppError> {
    let total = messages.len();
    let done = wake::retry(deps, sender, messages).await;
    if !done.failed.is_empty() {
        return Err(herald_platform::sends::unfinished(&done.failed, total));
    }
    Ok(Report {
        attempted: done.attempted,
        ..Report::default()
    })
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
    fn each_trigger_is_read_as_its_invocation() {
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
        assert_eq!(
            Invocation::from_payload(json!({"sweep": true})).unwrap(),
            Invocation::Sweep
        );
        match Invocation::from_payload(json!({"wake": "2026-12-01T15:07:00Z"})).unwrap() {
            Invocation::Wake { minute } => {
                assert_eq!(minute.to_rfc3339(), "2026-12-01T15:07:00+00:00")
            }
            other => panic!("{other:?}"),
        }
        assert!(Invocation::from_payload(json!({"wake": "soon"})).is_err());
        assert_eq!(
            Invocation::from_payload(json!({"sends": ["{}"]})).unwrap(),
            Invocation::Retries(vec![("0".into(), "{}".into())])
        );
        assert!(Invocation::from_payload(json!({"sends": [{"body": "x"}]})).is_err());
    }
}
