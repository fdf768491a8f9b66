//! The publisher function. On AWS it wakes only for minutes that hold work: a one-time
//! schedule per due minute invokes it with `{"wake": "<minute>"}`, and the run hands the
//! targets due in that minute to the send state machine (one Express execution), which waits
//! for each target's second and invokes this same function with them (the sender,
//! `{"sends": [...]}`), which claims and publishes each. An hourly schedule
//! (`{"sweep": true}`) routes what the due index holds for the hour ahead, so a lost wake
//! costs lateness, never a post. Without a state machine a run sends inline what is due
//! within its minute, waiting for each second; `herald serve` calls the same handler on a
//! fast tick, where each call only starts what is due.
//!
//! The state machine is every job's delayed hand-off: a message naming a webhook delivery is
//! that delivery's retry at its second, attempted here through
//! `herald_app::webhooks::wake::retry`.

use chrono::{DateTime, Utc};
use herald_app::publish::{Dispatcher, HandOff, Outcome, PublishOptions, RunReport};
use herald_app::webhooks::wake;
use herald_app::{AppError, Deps};
use herald_ports::WebhookSender;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// How far ahead the hourly sweep routes: its hour, and a little over.
const SWEEP_HORIZON: chrono::Duration = chrono::Duration::minutes(65);

/// What an invocation asks of the publisher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// A minute's wake: the targets due by the end of `minute`. The content of any other
    /// scheduled event does not matter (a run for the minute ahead): claims make every run
    /// safe to repeat.
    Run { minute: Option<DateTime<Utc>> },
    /// The hourly safety sweep.
    Sweep,
    /// The state machine's sends (place, body), each a target (or a webhook retry) at its
    /// second.
    Send(Vec<(String, String)>),
    /// A tick of a long-lived host: starts what is due and answers at once.
    Tick,
}

impl Invocation {
    /// The invocation a Lambda event is: the state machine's sends, a wake, the sweep, or
    /// any other scheduled event (a run of the minute ahead).
    pub fn from_event(event: &Value) -> Result<Invocation, AppError> {
        if let Some(messages) = herald_platform::sends::messages(event) {
            return Ok(Invocation::Send(messages?));
        }
        if event.get("sweep").and_then(Value::as_bool) == Some(true) {
            return Ok(Invocation::Sweep);
        }
        if let Some(wake) = event.get("wake") {
            let minute = wake
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .ok_or_else(|| AppError::invalid("wake", "an RFC 3339 minute"))?;
            return Ok(Invocation::Run {
                minute: Some(herald_ports::wake::minute_of(minute.to_utc())),
            });
        }
        Ok(Invocation::Run { minute: None })
    }
}

/// What an invocation came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// An inline run (no state machine), or a tick.
    Ran(RunReport),
    /// A run that handed its targets over (a wake, the sweep).
    HandedOff(HandOff),
    /// The sender's batch, and the places of the sends that did not go through.
    Sent {
        outcomes: Vec<Outcome>,
        /// Webhook retries in the batch that were attempted.
        webhook_attempts: usize,
        failed: Vec<String>,
        total: usize,
    },
}

impl Answer {
    /// The invocation's answer as Lambda returns it: its report, or for a sender's batch
    /// with sends that did not go through, an error, so the state machine hands the batch
    /// over again.
    pub fn into_response(self) -> Result<Value, AppError> {
        match self {
            Answer::Ran(r) => Ok(json!(r)),
            Answer::HandedOff(h) => Ok(json!(h)),
            Answer::Sent { failed, total, .. } if !failed.is_empty() => {
                Err(herald_platform::sends::unfinished(&failed, total))
            }
            Answer::Sent {
                outcomes,
                webhook_attempts,
                ..
            } => Ok(json!({
                "outcomes": outcomes,
                "webhook_attempts": webhook_attempts,
            })),
        }
    }
}

/// The publisher of one process: its dispatcher remembers what is in flight, so overlapping
/// invocations (a warm Lambda, a local tick) never start a target twice.
pub struct Publisher {
    deps: Deps,
    dispatcher: Dispatcher,
    /// How webhook retries that come through the state machine are sent.
    webhooks: Option<Arc<dyn WebhookSender>>,
}

impl Publisher {
    /// As deployed: a run without a state machine covers the minute until the next one.
    pub fn scheduled(deps: Deps) -> Self {
        Self::with_options(
            deps,
            PublishOptions {
                lookahead: chrono::Duration::seconds(60),
                ..PublishOptions::default()
            },
        )
    }

    /// As `herald serve` runs it: the only publisher of its store (claims an earlier process
    /// left are dead), ticking every `tick`. It looks a second ahead (at least two ticks), so
    /// a burst is claimed and prepared before its second and only the sends remain then; a
    /// post due within that second can no longer be moved, only cancelled.
    pub fn local(deps: Deps, tick: Duration) -> Self {
        let ahead = (tick.as_millis() as i64 * 2).max(1_000);
        Self::with_options(
            deps,
            PublishOptions {
                lookahead: chrono::Duration::milliseconds(ahead),
                exclusive: true,
                ..PublishOptions::default()
            },
        )
    }

    pub fn with_options(deps: Deps, options: PublishOptions) -> Self {
        Publisher {
            dispatcher: Dispatcher::new(deps.clone(), options),
            deps,
            webhooks: None,
        }
    }

    /// Attempts the webhook retries the state machine brings with `sender`.
    pub fn with_webhooks(mut self, sender: Arc<dyn WebhookSender>) -> Self {
        self.webhooks = Some(sender);
        self
    }

    /// The handler both hosts call.
    pub async fn handle(&self, invocation: Invocation) -> Result<Answer, AppError> {
        let queued = self.deps.wakeups.queues_sends();
        match invocation {
            Invocation::Run { minute } if queued => {
                let now = self.deps.clock.now();
                let start = minute.unwrap_or(herald_ports::wake::minute_of(now));
                // The minute ends just before the next one starts (that one has its own wake).
                let until = (start + chrono::Duration::milliseconds(59_999)).max(now);
                let report = self.dispatcher.hand_off(until).await?;
                tracing::info!(?report, minute = %start, "publisher run handed off its minute");
                Ok(Answer::HandedOff(report))
            }
            Invocation::Sweep if queued => {
                let report = self.dispatcher.sweep(SWEEP_HORIZON).await?;
                tracing::info!(?report, "publisher sweep");
                Ok(Answer::HandedOff(report))
            }
            // No state machine: every run sends inline what is due within its minute.
            Invocation::Run { .. } | Invocation::Sweep => {
                let report = self.dispatcher.run_once().await?;
                tracing::info!(?report, "publisher run");
                Ok(Answer::Ran(report))
            }
            Invocation::Send(messages) => {
                let total = messages.len();
                let (hooks, messages): (Vec<_>, Vec<_>) = messages
                    .into_iter()
                    .partition(|(_, body)| wake::Ticket::parse(body).is_some());
                let mut outcomes = Vec::new();
                let mut failed = Vec::new();
                let mut webhook_attempts = 0;
                if !hooks.is_empty() {
                    match &self.webhooks {
                        Some(sender) => {
                            let done = wake::retry(&self.deps, sender, hooks).await;
                            webhook_attempts = done.attempted;
                            failed.extend(done.failed);
                        }
                        None => {
                            // Answered as a failure (the function's error alarm), not dropped.
                            tracing::error!(
                                messages = hooks.len(),
                                "webhook retries on a publisher that sends no webhooks"
                            );
                            failed.extend(hooks.into_iter().map(|(id, _)| id));
                        }
                    }
                }
                for (id, result) in self.dispatcher.send(messages).await {
                    match result {
                        Ok(o) => outcomes.push(o),
                        Err(e) => {
                            tracing::warn!(message = %id, error = %e, "send not carried; the state machine hands it over again");
                            failed.push(id);
                        }
                    }
                }
                tracing::info!(
                    ?outcomes,
                    webhook_attempts,
                    failed = failed.len(),
                    "sender batch"
                );
                Ok(Answer::Sent {
                    outcomes,
                    webhook_attempts,
                    failed,
                    total,
                })
            }
            Invocation::Tick => {
                let tick = self.dispatcher.tick().await?;
                Ok(Answer::Ran(RunReport {
                    due: tick.due,
                    ..RunReport::default()
                }))
            }
        }
    }

    /// At the start of a local host: resolves what an earlier process left in flight.
    pub async fn recover(&self) -> Result<usize, AppError> {
        Ok(self.dispatcher.recover().await?.started)
    }

    /// Waits for everything started to finish (a host shutting down).
    pub async fn drain(&self) {
        self.dispatcher.drain().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_trigger_is_read_as_its_invocation() {
        let sends = json!({"sends": ["{}", "x"]});
        assert_eq!(
            Invocation::from_event(&sends).unwrap(),
            Invocation::Send(vec![("0".into(), "{}".into()), ("1".into(), "x".into())])
        );
        let wake = json!({"wake": "2026-12-01T15:07:00Z"});
        match Invocation::from_event(&wake).unwrap() {
            Invocation::Run { minute: Some(m) } => {
                assert_eq!(m.to_rfc3339(), "2026-12-01T15:07:00+00:00")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            Invocation::from_event(&json!({"sweep": true})).unwrap(),
            Invocation::Sweep
        );
        let scheduled = json!({"detail-type": "Scheduled Event", "detail": {}});
        assert_eq!(
            Invocation::from_event(&scheduled).unwrap(),
            Invocation::Run { minute: None }
        );
        assert!(Invocation::from_event(&json!({"wake": "soon"})).is_err());
        assert!(Invocation::from_event(&json!({"sends": [{"body": "x"}]})).is_err());
    }

    #[test]
    fn a_batch_with_a_send_not_carried_fails_so_it_is_handed_over_again() {
        let sent = |failed: Vec<String>| Answer::Sent {
            outcomes: vec![Outcome::Published],
            webhook_attempts: 0,
            failed,
            total: 2,
        };
        let e = sent(vec!["1".into()]).into_response().unwrap_err();
        assert!(e.to_string().contains("1 of 2"), "{e}");
        let ok = sent(vec![]).into_response().unwrap();
        assert_eq!(ok["outcomes"], json!(["published"]));
    }
}
