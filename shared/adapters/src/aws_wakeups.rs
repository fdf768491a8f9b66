//! Wake-ups on AWS: a one-time EventBridge Scheduler schedule per job and due minute, named by
//! both (`herald-due-2026-12-01T15-07` for the publisher, `herald-hooks-...` for webhook
//! retries), so making it twice is harmless; it invokes the job's function with
//! `{"wake": "<minute>"}` and deletes itself once it has. The minute's run hands each item to
//! the job's SQS queue with a delay (DelaySeconds), and SQS wakes the function at the item's
//! second.

use async_trait::async_trait;
use aws_sdk_scheduler::error::DisplayErrorContext;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target,
};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use chrono::{DateTime, Utc};
use herald_ports::wake::{MAX_SEND_DELAY, WAKE_LEAD};
use herald_ports::{DelayedSend, WakeError, WakeJob, WakeUps};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// SQS takes at most ten messages per SendMessageBatch.
const BATCH: usize = 10;
/// Batches in flight at once: a minute of 10,000 targets is 1,000 batches.
const IN_FLIGHT: usize = 16;
/// Minutes remembered as ensured by this process, so a burst asks the Scheduler once.
const REMEMBERED: usize = 4096;

/// Where the schedules are made and the role the Scheduler assumes to invoke a job's function.
#[derive(Clone, Debug)]
pub struct WakeTarget {
    pub group: String,
    pub role_arn: String,
}

/// One job's function (what its schedules invoke) and its delayed queue, if it reaches
/// seconds.
#[derive(Clone, Debug)]
pub struct JobTarget {
    pub function_arn: String,
    pub queue_url: Option<String>,
}

#[derive(Clone)]
pub struct AwsWakeUps {
    scheduler: aws_sdk_scheduler::Client,
    target: WakeTarget,
    sqs: aws_sdk_sqs::Client,
    jobs: BTreeMap<WakeJob, JobTarget>,
    ensured: Arc<Mutex<BTreeSet<(WakeJob, i64)>>>,
}

/// The schedule of a job's minute's wake: its name and its `at(...)` expression (UTC),
/// `WAKE_LEAD` before the minute.
pub fn schedule_of(job: WakeJob, minute: DateTime<Utc>) -> (String, String) {
    let name = format!(
        "{}{}",
        job.schedule_prefix(),
        minute.format("%Y-%m-%dT%H-%M")
    );
    let at = format!("at({})", (minute - WAKE_LEAD).format("%Y-%m-%dT%H:%M:%S"));
    (name, at)
}

/// What the schedule hands the job's function (each reads its minute from it).
pub fn wake_input(minute: DateTime<Utc>) -> String {
    serde_json::json!({ "wake": minute.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) })
        .to_string()
}

impl AwsWakeUps {
    /// Wakes for the jobs named in `jobs`; another job is not woken here (its host ticks).
    pub fn new(
        scheduler: aws_sdk_scheduler::Client,
        target: WakeTarget,
        sqs: aws_sdk_sqs::Client,
        jobs: BTreeMap<WakeJob, JobTarget>,
    ) -> Self {
        AwsWakeUps {
            scheduler,
            target,
            sqs,
            jobs,
            ensured: Arc::default(),
        }
    }

    fn job(&self, job: WakeJob) -> Result<&JobTarget, WakeError> {
        self.jobs.get(&job).ok_or(WakeError::NoQueue(job))
    }

    fn remember(&self, minute: (WakeJob, i64)) {
        let mut ensured = self.ensured.lock().expect("ensured lock");
        ensured.insert(minute);
        while ensured.len() > REMEMBERED {
            ensured.pop_first();
        }
    }
}

#[async_trait]
impl WakeUps for AwsWakeUps {
    fn wakes(&self, job: WakeJob) -> bool {
        self.jobs.contains_key(&job)
    }

    async fn ensure_minute(&self, job: WakeJob, minute: DateTime<Utc>) -> Result<(), WakeError> {
        let function_arn = &self.job(job)?.function_arn;
        let stamp = (job, minute.timestamp());
        if self.ensured.lock().expect("ensured lock").contains(&stamp) {
            return Ok(());
        }
        let (name, at) = schedule_of(job, minute);
        let target = Target::builder()
            .arn(function_arn)
            .role_arn(&self.target.role_arn)
            .input(wake_input(minute))
            // A wake that cannot be delivered within its lead is late anyway; the hourly
            // sweep catches what it would have found.
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(3)
                    .maximum_event_age_in_seconds(60)
                    .build(),
            )
            .build()
            .map_err(|e| WakeError::Service(e.to_string()))?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| WakeError::Service(e.to_string()))?;
        let created = self
            .scheduler
            .create_schedule()
            .name(&name)
            .group_name(&self.target.group)
            .schedule_expression(at)
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target)
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Named by the minute: it is there already, made by this or another process.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) => {}
            Err(e) => {
                return Err(WakeError::Service(format!(
                    "schedule {name}: {}",
                    DisplayErrorContext(e)
                )));
            }
        }
        self.remember(stamp);
        Ok(())
    }

    async fn queue_sends(&self, job: WakeJob, sends: &[DelayedSend]) -> Result<(), WakeError> {
        let url = self
            .job(job)?
            .queue_url
            .as_ref()
            .ok_or(WakeError::NoQueue(job))?;
        let mut batches = sends.chunks(BATCH).map(|batch| {
            let entries: Vec<SendMessageBatchRequestEntry> = batch
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&s.body)
                        .delay_seconds(s.delay_seconds.min(MAX_SEND_DELAY) as i32)
                        .build()
                        .expect("id and body are set")
                })
                .collect();
            (entries.len(), entries)
        });
        let mut running = tokio::task::JoinSet::new();
        let (mut failed, mut message) = (0, String::new());
        loop {
            while running.len() < IN_FLIGHT {
                let Some((n, entries)) = batches.next() else {
                    break;
                };
                let (sqs, url) = (self.sqs.clone(), url.clone());
                running.spawn(async move {
                    let out = sqs
                        .send_message_batch()
                        .queue_url(url)
                        .set_entries(Some(entries))
                        .send()
                        .await;
                    match out {
                        Ok(out) => (
                            out.failed().len(),
                            out.failed()
                                .first()
                                .map(|f| f.message().unwrap_or(f.code()).to_owned()),
                        ),
                        Err(e) => (
                            n,
                            Some(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()),
                        ),
                    }
                });
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            let (n, why) = done.unwrap_or_else(|e| (BATCH, Some(e.to_string())));
            failed += n;
            if let Some(why) = why
                && message.is_empty()
            {
                message = why;
            }
        }
        if failed == 0 {
            Ok(())
        } else {
            Err(WakeError::NotQueued {
                failed,
                total: sends.len(),
                message,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minutes_schedule_is_named_by_it_and_fires_its_lead_before() {
        let minute = DateTime::parse_from_rfc3339("2026-12-01T15:07:00Z")
            .unwrap()
            .to_utc();
        let (name, at) = schedule_of(WakeJob::Publisher, minute);
        assert_eq!(name, "herald-due-2026-12-01T15-07");
        assert_eq!(at, "at(2026-12-01T15:05:00)");
        let (name, at) = schedule_of(WakeJob::Webhooks, minute);
        assert_eq!(name, "herald-hooks-2026-12-01T15-07");
        assert_eq!(at, "at(2026-12-01T15:05:00)");
        let (name, _) = schedule_of(WakeJob::Polls, minute);
        assert_eq!(name, "herald-polls-2026-12-01T15-07");
        assert_eq!(wake_input(minute), r#"{"wake":"2026-12-01T15:07:00Z"}"#);
    }
}
