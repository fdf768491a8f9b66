//! Wake-ups on AWS: a one-time EventBridge Scheduler schedule per job and due minute, named by
//! both (`herald-due-2026-12-01T15-07` for the publisher, `herald-hooks-...` for webhook
//! retries), so making it twice is harmless; it invokes the job's function with
//! `{"wake": "<minute>"}` and deletes itself once it has. The minute's run hands its items to
//! the job's Step Functions Express state machine (the template's `SendDelays`) in one
//! execution: per second that holds items, a Wait of its delay, then the sender invoked with
//! up to ten of them (`{"sends": [...]}`). Nothing runs, and nothing is paid, while no
//! execution does: unlike a delayed queue, whose trigger polls it around the clock.

use async_trait::async_trait;
use aws_sdk_scheduler::error::DisplayErrorContext;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target,
};
use chrono::{DateTime, Utc};
use herald_ports::wake::{MAX_SEND_DELAY, WAKE_LEAD};
use herald_ports::{DelayedSend, WakeError, WakeJob, WakeUps};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// Sends per invocation of the sender (what a queue batch of ten held before).
const BATCH: usize = 10;
/// Items (a second's batch) per execution: an inline Map runs about 40 iterations at once,
/// and an execution's input is at most 256 KiB.
const ITEMS_PER_EXECUTION: usize = 40;
const INPUT_BYTES: usize = 200 * 1024;
/// Executions started at once: a minute of 10,000 targets is 25 of them.
const IN_FLIGHT: usize = 16;
/// Minutes remembered as ensured by this process, so a burst asks the Scheduler once.
const REMEMBERED: usize = 4096;

/// Where the schedules are made and the role the Scheduler assumes to invoke a job's function.
#[derive(Clone, Debug)]
pub struct WakeTarget {
    pub group: String,
    pub role_arn: String,
}

/// One job's function (what its schedules invoke) and, if it reaches seconds, the state
/// machine that delivers its items at theirs.
#[derive(Clone, Debug)]
pub struct JobTarget {
    pub function_arn: String,
    pub state_machine_arn: Option<String>,
}

#[derive(Clone)]
pub struct AwsWakeUps {
    scheduler: aws_sdk_scheduler::Client,
    target: WakeTarget,
    sfn: aws_sdk_sfn::Client,
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
        sfn: aws_sdk_sfn::Client,
        jobs: BTreeMap<WakeJob, JobTarget>,
    ) -> Self {
        AwsWakeUps {
            scheduler,
            target,
            sfn,
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
        let arn = self
            .job(job)?
            .state_machine_arn
            .as_ref()
            .ok_or(WakeError::NoQueue(job))?;
        let mut executions = executions(sends).into_iter();
        let mut running = tokio::task::JoinSet::new();
        let (mut failed, mut message) = (0, String::new());
        loop {
            while running.len() < IN_FLIGHT {
                let Some((n, input)) = executions.next() else {
                    break;
                };
                let (sfn, arn) = (self.sfn.clone(), arn.clone());
                running.spawn(async move {
                    let out = sfn
                        .start_execution()
                        .state_machine_arn(arn)
                        .name(execution_name())
                        .input(input)
                        .send()
                        .await;
                    match out {
                        Ok(_) => (0, None),
                        Err(e) => (
                            n,
                            Some(aws_sdk_sfn::error::DisplayErrorContext(e).to_string()),
                        ),
                    }
                });
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            let (n, why) = done.unwrap_or_else(|e| (0, Some(e.to_string())));
            failed += n;
            if let Some(why) = why
                && message.is_empty()
            {
                message = why;
            }
        }
        if failed == 0 && message.is_empty() {
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

/// A name of its own for each execution (Step Functions makes one when none is given, but an
/// emulator may not): random, as nothing else tells two hand-offs apart.
fn execution_name() -> String {
    use herald_ports::Random;
    let mut bytes = [0u8; 16];
    crate::SystemRandom.fill(&mut bytes);
    format!("sends-{}", hex::encode(bytes))
}

/// One item of an execution's input: wait `delay` seconds, then invoke the sender with
/// `bodies` (the state machine hands them over as `{"sends": bodies}`).
#[derive(serde::Serialize)]
struct Item<'a> {
    delay: u32,
    bodies: Vec<&'a str>,
}

/// The executions that deliver `sends`: each second's sends in batches of `BATCH`, earliest
/// first (a Map that runs a limited number of iterations at once starts the later ones as the
/// earlier end), at most `ITEMS_PER_EXECUTION` items and about `INPUT_BYTES` each. Answers
/// each execution's number of sends and its input.
fn executions(sends: &[DelayedSend]) -> Vec<(usize, String)> {
    let mut by_delay: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for s in sends {
        by_delay
            .entry(s.delay_seconds.min(MAX_SEND_DELAY))
            .or_default()
            .push(&s.body);
    }
    let items = by_delay.into_iter().flat_map(|(delay, bodies)| {
        bodies
            .chunks(BATCH)
            .map(|b| Item {
                delay,
                bodies: b.to_vec(),
            })
            .collect::<Vec<_>>()
    });
    let render = |items: &[Item]| serde_json::json!({ "sends": items }).to_string();
    let mut out = Vec::new();
    let (mut current, mut bytes, mut count) = (Vec::new(), 0, 0);
    for item in items {
        let size: usize = item.bodies.iter().map(|b| b.len() + 8).sum::<usize>() + 32;
        if !current.is_empty()
            && (current.len() == ITEMS_PER_EXECUTION || bytes + size > INPUT_BYTES)
        {
            out.push((count, render(&current)));
            (current, bytes, count) = (Vec::new(), 0, 0);
        }
        bytes += size;
        count += item.bodies.len();
        current.push(item);
    }
    if !current.is_empty() {
        out.push((count, render(&current)));
    }
    out
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

    fn send(body: &str, delay_seconds: u32) -> DelayedSend {
        DelayedSend {
            body: body.to_owned(),
            delay_seconds,
        }
    }

    #[test]
    fn each_second_is_one_item_of_up_to_ten_sends_earliest_first() {
        let mut sends: Vec<DelayedSend> = (0..12).map(|i| send(&format!("a{i}"), 9)).collect();
        sends.push(send("b", 3));
        sends.push(send("late", 5_000));
        let out = executions(&sends);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, 14);
        let input: serde_json::Value = serde_json::from_str(&out[0].1).unwrap();
        let items = input["sends"].as_array().unwrap();
        let shape: Vec<(u64, usize)> = items
            .iter()
            .map(|i| {
                (
                    i["delay"].as_u64().unwrap(),
                    i["bodies"].as_array().unwrap().len(),
                )
            })
            .collect();
        // The longest delay is the state machine's most; a second's twelve are two batches.
        assert_eq!(
            shape,
            [(3, 1), (9, 10), (9, 2), (u64::from(MAX_SEND_DELAY), 1)]
        );
        assert_eq!(items[1]["bodies"][0], "a0");
        assert!(executions(&[]).is_empty());
    }

    #[test]
    fn a_busy_minute_is_split_by_items_and_by_input_size() {
        // 60 seconds of one send each: 40 items, then 20.
        let sends: Vec<DelayedSend> = (0..60).map(|i| send("t", i)).collect();
        let sizes: Vec<usize> = executions(&sends).iter().map(|(n, _)| *n).collect();
        assert_eq!(sizes, [40, 20]);
        // Ten thousand sends in one second: under 256 KiB of input each, none lost.
        let big = "x".repeat(150);
        let sends: Vec<DelayedSend> = (0..10_000).map(|_| send(&big, 30)).collect();
        let out = executions(&sends);
        assert!(out.iter().all(|(_, input)| input.len() < 256 * 1024));
        assert_eq!(out.iter().map(|(n, _)| n).sum::<usize>(), 10_000);
    }
}
