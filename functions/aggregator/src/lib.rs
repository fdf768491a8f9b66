//! The aggregator function: Herald's events rolled up per post, account and day, hour of week,
//! tag and kind (`herald_app::aggregate`), and the networks' polls: insights of recently
//! published posts, replies and mentions of accounts whose network sends no webhooks. On AWS it
//! is invoked by the bus's rule with one event, or by a queue with a batch of them, or by a
//! polls wake (a one-time schedule, only when a poll is due) or its hourly sweep; locally
//! `herald serve` calls the same handlers on its ticks.

use herald_app::aggregate::{self, Report, insights};
use herald_app::{AppError, Deps};
use herald_ports::BusEvent;
use serde_json::Value;

/// What one invocation carries.
#[derive(Debug)]
pub enum Invocation {
    /// Events to roll up (one from the bus's rule, many from a queue).
    Events(Vec<BusEvent>),
    /// The schedule: poll the insights that are due.
    Poll,
    /// Poll Mastodon and Bluesky accounts for replies and mentions (`{"poll":"notifications"}`).
    Notifications,
    /// A polls wake (`{"wake": "<minute>"}`) or the hourly sweep (`{"sweep": true}`): both
    /// polls, and the next notification wake.
    Wake,
}

impl Invocation {
    /// Reads a Lambda payload: an EventBridge event (`detail` is Herald's event), the
    /// schedule's (`{"poll":"insights"}` as the template sets it, or a `Scheduled Event`), or
    /// an SQS batch whose bodies are EventBridge events. Anything else is refused, never read as nothing.
    pub fn from_payload(payload: Value) -> Result<Invocation, String> {
        if let Some(records) = payload.get("Records").and_then(Value::as_array) {
            let mut events = Vec::with_capacity(records.len());
            for r in records {
                let body = r
                    .get("body")
                    .and_then(Value::as_str)
                    .ok_or("an SQS record without a body")?;
                let envelope: Value =
                    serde_json::from_str(body).map_err(|e| format!("an SQS body: {e}"))?;
                events.push(detail(envelope)?);
            }
            return Ok(Invocation::Events(events));
        }
        if payload.get("wake").and_then(Value::as_str).is_some()
            || payload.get("sweep").and_then(Value::as_bool) == Some(true)
        {
            return Ok(Invocation::Wake);
        }
        if payload.get("poll").and_then(Value::as_str) == Some("notifications") {
            return Ok(Invocation::Notifications);
        }
        if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
            || payload.get("poll").and_then(Value::as_str) == Some("insights")
        {
            return Ok(Invocation::Poll);
        }
        Ok(Invocation::Events(vec![detail(payload)?]))
    }
}

fn detail(mut envelope: Value) -> Result<BusEvent, String> {
    let detail = envelope
        .get_mut("detail")
        .map(Value::take)
        .ok_or("an event without detail")?;
    serde_json::from_value(detail).map_err(|e| format!("an event's detail: {e}"))
}

/// What an invocation did.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Outcome {
    Rolled(Report),
    Polled(insights::PollReport),
    Notified(herald_app::engagement::poll::NotificationReport),
    Woken(aggregate::wake::PollsReport),
}

pub async fn handle(deps: &Deps, invocation: Invocation) -> Result<Outcome, AppError> {
    match invocation {
        Invocation::Events(events) => {
            Ok(Outcome::Rolled(aggregate::aggregate(deps, &events).await?))
        }
        Invocation::Poll => Ok(Outcome::Polled(
            insights::poll(deps, deps.clock.now()).await?,
        )),
        Invocation::Notifications => Ok(Outcome::Notified(
            herald_app::engagement::poll::poll(deps, deps.clock.now()).await?,
        )),
        Invocation::Wake => Ok(Outcome::Woken(
            aggregate::wake::run(deps, deps.clock.now()).await?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({"id": "evt_1", "kind": "post.failed", "workspace": "ws_1",
               "time": "2026-11-23T09:00:00Z", "data": {}})
    }

    #[test]
    fn each_trigger_shape_reads_and_a_stranger_is_refused() {
        let bridge = json!({"detail-type": "post.failed", "source": "herald", "detail": event()});
        match Invocation::from_payload(bridge.clone()).unwrap() {
            Invocation::Events(e) => assert_eq!(e[0].id, "evt_1"),
            other => panic!("{other:?}"),
        }
        let sqs = json!({"Records": [{"body": bridge.to_string()}, {"body": bridge.to_string()}]});
        match Invocation::from_payload(sqs).unwrap() {
            Invocation::Events(e) => assert_eq!(e.len(), 2),
            other => panic!("{other:?}"),
        }
        let schedule =
            json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert!(matches!(
            Invocation::from_payload(schedule),
            Ok(Invocation::Poll)
        ));
        let template_input = json!({"poll": "insights"});
        assert!(matches!(
            Invocation::from_payload(template_input),
            Ok(Invocation::Poll)
        ));
        assert!(matches!(
            Invocation::from_payload(json!({"poll": "notifications"})),
            Ok(Invocation::Notifications)
        ));
        assert!(matches!(
            Invocation::from_payload(json!({"wake": "2026-12-01T15:15:00Z"})),
            Ok(Invocation::Wake)
        ));
        assert!(matches!(
            Invocation::from_payload(json!({"sweep": true})),
            Ok(Invocation::Wake)
        ));
        assert!(Invocation::from_payload(json!({"sweep": false})).is_err());
        assert!(Invocation::from_payload(json!({"hello": 1})).is_err());
        assert!(Invocation::from_payload(json!({"Records": [{"body": "{"}]})).is_err());
        assert!(Invocation::from_payload(json!({"detail": {"id": 1}})).is_err());
    }
}
