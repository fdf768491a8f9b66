//! The dispatcher: one per process, it reads the due index each tick and starts every target
//! due within the lookahead, waiting for its second.

use super::due::due_entries;
use super::{Outcome, PublishOptions, process};
use crate::{AppError, Deps, events};
use chrono::{DateTime, Duration, Utc};
use herald_ports::Key;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Runs the due index and the targets it names. One per process: it remembers what it has in
/// flight so overlapping ticks do not start the same target twice.
pub struct Dispatcher {
    deps: Deps,
    options: PublishOptions,
    in_flight: Arc<Mutex<HashSet<Key>>>,
    /// Prefixes this process's claims, so an exclusive publisher knows its own.
    instance: Arc<str>,
    permits: Arc<Semaphore>,
    /// Started targets already due and waiting for a permit.
    backlog: Arc<AtomicUsize>,
    tasks: tokio::sync::Mutex<JoinSet<Outcome>>,
}

/// What a tick found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TickReport {
    pub due: usize,
    pub started: usize,
    /// Due targets already waiting for a permit when the tick began. While they fill every
    /// permit the tick does not read the index: what it would find could only queue behind
    /// them, and on a busy store the reads would slow the sends.
    pub backlog: usize,
}

impl Dispatcher {
    pub fn new(deps: Deps, options: PublishOptions) -> Self {
        let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
        let instance = format!("{:016x}", deps.random.u64()).into();
        Dispatcher {
            deps,
            options,
            in_flight: Arc::default(),
            instance,
            permits,
            backlog: Arc::default(),
            tasks: tokio::sync::Mutex::new(JoinSet::new()),
        }
    }

    /// Finds targets due within the lookahead and starts each not already in flight; each
    /// waits for its second, then is claimed and published.
    pub async fn tick(&self) -> Result<TickReport, AppError> {
        let now = self.deps.clock.now();
        self.start_due(now, now + self.options.lookahead, false)
            .await
    }

    /// At the start of an exclusive publisher: resolves what an earlier process left claimed
    /// (killed mid-publish), without waiting for its leases to run out.
    pub async fn recover(&self) -> Result<TickReport, AppError> {
        let now = self.deps.clock.now();
        let until = now + self.options.lease + Duration::seconds(1);
        self.start_due(now, until, self.options.exclusive).await
    }

    async fn start_due(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        recovering: bool,
    ) -> Result<TickReport, AppError> {
        let backlog = self.backlog.load(Ordering::Relaxed);
        if !recovering && backlog >= self.options.concurrency.max(1) {
            return Ok(TickReport {
                backlog,
                ..TickReport::default()
            });
        }
        let due = due_entries(&self.deps, now, until).await?;
        let mut report = TickReport {
            due: due.len(),
            started: 0,
            backlog,
        };
        let mut tasks = self.tasks.lock().await;
        while tasks.try_join_next().is_some() {}
        for (due_at, key) in due {
            if !self
                .in_flight
                .lock()
                .expect("in-flight lock")
                .insert(key.clone())
            {
                continue;
            }
            report.started += 1;
            let deps = self.deps.clone();
            let options = self.options.clone();
            let in_flight = self.in_flight.clone();
            let permits = self.permits.clone();
            let instance = self.instance.clone();
            let backlog = self.backlog.clone();
            // A claimed entry sits at its lease's end; recovery need not wait for it.
            let foreign_claim = recovering && due_at > now;
            tasks.spawn(async move {
                let wait = due_at - deps.clock.now();
                if wait > Duration::zero() && !foreign_claim {
                    tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
                }
                backlog.fetch_add(1, Ordering::Relaxed);
                let permit = permits.acquire().await;
                backlog.fetch_sub(1, Ordering::Relaxed);
                let outcome = match permit {
                    Ok(_permit) => process(&deps, &options, &instance, &key).await,
                    Err(_) => Ok(Outcome::Skipped),
                };
                in_flight.lock().expect("in-flight lock").remove(&key);
                match outcome {
                    Ok(o) => o,
                    Err(e) => {
                        tracing::warn!(pk = %key.pk, sk = %key.sk, error = %e, "target not processed; the due index will offer it again");
                        Outcome::Skipped
                    }
                }
            });
        }
        Ok(report)
    }

    /// Waits until everything started has finished; answers the outcomes.
    pub async fn drain(&self) -> Vec<Outcome> {
        let mut tasks = self.tasks.lock().await;
        let mut outcomes = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(o) = done {
                outcomes.push(o);
            }
        }
        outcomes
    }

    /// One complete run, as the scheduled Lambda does it: tick, wait for all, relay events.
    pub async fn run_once(&self) -> Result<RunReport, AppError> {
        let tick = self.tick().await?;
        let outcomes = self.drain().await;
        let events = events::relay(&self.deps, 10_000).await?;
        let count = |o: Outcome| outcomes.iter().filter(|x| **x == o).count();
        Ok(RunReport {
            due: tick.due,
            published: count(Outcome::Published),
            confirmed: count(Outcome::Confirmed),
            failed: count(Outcome::Failed),
            retrying: count(Outcome::Retrying),
            unconfirmed: count(Outcome::Unconfirmed),
            deferred: count(Outcome::Deferred),
            skipped: count(Outcome::Skipped),
            events,
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub due: usize,
    pub published: usize,
    pub confirmed: usize,
    pub failed: usize,
    pub retrying: usize,
    pub unconfirmed: usize,
    pub deferred: usize,
    pub skipped: usize,
    pub events: usize,
}
