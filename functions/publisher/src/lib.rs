//! The publisher function. On AWS it wakes only for minutes that hold work: a one-time
//! schedule per due minute invokes it with `{"wake": "<minute>"}`, and the run hands each
//! target due in that minute to the send queue, delayed to its second; the queue then invokes
//! this same function with the messages (the sender), which claims and publishes each. An
//! hourly schedule (`{"sweep": true}`) routes what the due index holds for the hour ahead, so
//! a lost wake costs lateness, never a post. Without a send queue a run sends inline what is
//! due within its minute, waiting for each second; `herald serve` calls the same handler on
//! a fast tick, where each call only starts what is due.
//!
//! The send queue is every job's delayed queue (one poller, paid once): a message naming a
//! webhook delivery is that delivery's retry at its second, attempted here through
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
    /// The send queue's messages (id, body), each a target at its second.
    Send(Vec<(String, String)>),
    /// A tick of a long-lived host: starts what is due and answers at once.
    Tick,
}

impl Invocation {
    /// The invocation a Lambda event is: an SQS batch, a wake, the sweep, or any other
    /// scheduled event (a run of the minute ahead).
    pub fn from_event(event: &Value) -> Result<Invocation, AppError> {
        if let Some(messages) = herald_platform::sqs::messages(event) {
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
    /// An inline run (no send queue), or a tick.
    Ran(RunReport),
    /// A run that handed its targets to the send queue (a wake, the sweep).
    HandedOff(HandOff),
    /// The sender's batch: messages whose processing failed, for the queue to deliver again.
    Sent {
        outcomes: Vec<Outcome>,
        /// Webhook retries in the batch that were attempted.
        webhook_attempts: usize,
        failed: Vec<String>,
    },
}

impl Answer {
    /// The invocation's answer as Lambda returns it: an SQS batch answers its partial
    /// failures (`ReportBatchItemFailures`), the others their report.
    pub fn to_json(&self) -> Value {
        match self {
            Answer::Ran(r) => json!(r),
            Answer::HandedOff(h) => json!(h),
            Answer::Sent {
                outcomes,
                webhook_attempts,
                failed,
            } => json!({
                "outcomes": outcomes,
                "webhook_attempts": webhook_attempts,
                "batchItemFailures": failed
                    .iter()
                    .map(|id| json!({"itemIdentifier": id}))
                    .collect::<Vec<_>>(),
            }),
        }
    }
}

/// The publisher of one process: its dispatcher remembers what is in flight, so overlapping
/// invocations (a warm Lambda, a local tick) never start a target twice.
pub struct Publisher {
    deps: Deps,
    dispatcher: Dispatcher,
    /// How webhook retries that come through the send queue are sent.
    webhooks: Option<Arc<dyn WebhookSender>>,
}

impl Publisher {
    /// As deployed: a run without a send queue covers the minute until the next one.
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

    /// Attempts the webhook retries the send queue brings with `sender`.
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
            // No send queue: every run sends inline what is due within its minute.
            Invocation::Run { .. } | Invocation::Sweep => {
                let report = self.dispatcher.run_once().await?;
                tracing::info!(?report, "publisher run");
                Ok(Answer::Ran(report))
            }
            Invocation::Send(messages) => {
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
                            // Kept for the dead-letter queue (and its alarm), not dropped.
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
                            tracing::warn!(message = %id, error = %e, "send not carried; the queue delivers it again");
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
        let sqs = json!({"Records": [
            {"messageId": "m1", "body": "{}", "eventSource": "aws:sqs"},
            {"messageId": "m2", "body": "x", "eventSource": "aws:sqs"}]});
        assert_eq!(
            Invocation::from_event(&sqs).unwrap(),
            Invocation::Send(vec![("m1".into(), "{}".into()), ("m2".into(), "x".into())])
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
        assert!(Invocation::from_event(&json!({"Records": [{"body": "x"}]})).is_err());
    }

    #[test]
    fn a_batchs_failures_are_answered_for_the_queue() {
        let answer = Answer::Sent {
            outcomes: vec![Outcome::Published],
            webhook_attempts: 0,
            failed: vec!["m2".into()],
        };
        assert_eq!(
            answer.to_json()["batchItemFailures"],
            json!([{"itemIdentifier": "m2"}])
        );
    }
}
