//! The dispatcher: one per process, it reads the due index each tick and starts every target
//! due within the lookahead. Each is claimed and prepared at once, then waits for its second,
//! so at the second only the send and its outcome remain.

use super::claim::{claim, claimable_from};
use super::due::due_entries;
use super::prepare::Cache;
use super::{Outcome, PublishOptions};
use crate::{AppError, Deps, events, records};
use chrono::{DateTime, Duration, Utc};
use herald_domain::Platform;
use herald_ports::{Item, Key};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Each network's send permits and their number; none for an unbounded network.
type SendPools = HashMap<Platform, Option<(Arc<Semaphore>, usize)>>;

/// Targets claimed and prepared at once: preparing is table reads and writes (and a credential
/// renewal now and then), so a burst is prepared in order of its seconds, not all at once.
const PREPARING: usize = 256;

/// Runs the due index and the targets it names. One per process: it remembers what it has in
/// flight so overlapping ticks do not start the same target twice.
pub struct Dispatcher {
    pub(super) deps: Deps,
    pub(super) options: PublishOptions,
    in_flight: Arc<Mutex<HashSet<Key>>>,
    /// Prefixes this process's claims, so an exclusive publisher knows its own.
    pub(super) instance: Arc<str>,
    /// Each bounded network's sends in flight (none for an unbounded one).
    sending: Arc<Mutex<SendPools>>,
    preparing: Arc<Semaphore>,
    /// Prepared targets already due and waiting for a send permit.
    backlog: Arc<AtomicUsize>,
    /// Started targets waiting to be prepared.
    unprepared: Arc<AtomicUsize>,
    tasks: tokio::sync::Mutex<JoinSet<Outcome>>,
}

/// What a tick found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TickReport {
    pub due: usize,
    pub started: usize,
    /// Targets already waiting (for a send permit, or to be prepared) when the tick began.
    /// While they fill every permit the tick does not read the index: what it would find
    /// could only queue behind them, and on a busy store the reads would slow the sends.
    pub backlog: usize,
}

/// What a target's task shares with the dispatcher.
#[derive(Clone)]
struct Shared {
    deps: Deps,
    options: PublishOptions,
    instance: Arc<str>,
    sending: Arc<Mutex<SendPools>>,
    preparing: Arc<Semaphore>,
    backlog: Arc<AtomicUsize>,
    unprepared: Arc<AtomicUsize>,
}

impl Dispatcher {
    pub fn new(deps: Deps, options: PublishOptions) -> Self {
        let instance = format!("{:016x}", deps.random.u64()).into();
        Dispatcher {
            deps,
            options,
            in_flight: Arc::default(),
            instance,
            sending: Arc::default(),
            preparing: Arc::new(Semaphore::new(PREPARING)),
            backlog: Arc::default(),
            unprepared: Arc::default(),
            tasks: tokio::sync::Mutex::new(JoinSet::new()),
        }
    }

    /// Finds targets due within the lookahead and starts each not already in flight; each is
    /// claimed and prepared, then waits for its second and is sent.
    pub async fn tick(&self) -> Result<TickReport, AppError> {
        let now = self.deps.clock.now();
        self.start_due(now, now + self.options.lookahead, false)
            .await
    }

    /// At the start of an exclusive publisher: resolves what an earlier process left claimed
    /// (killed mid-publish), without waiting for its leases to run out. A claim taken ahead of
    /// its second has its lease end up to a lookahead later.
    pub async fn recover(&self) -> Result<TickReport, AppError> {
        let now = self.deps.clock.now();
        let until = now + self.options.lease + self.options.lookahead + Duration::seconds(1);
        self.start_due(now, until, self.options.exclusive).await
    }

    /// Sends the bounded networks seen so far may have in flight together.
    fn bounded_capacity(&self) -> Option<usize> {
        let sending = self.sending.lock().expect("sending lock");
        let sizes: Vec<usize> = sending.values().flatten().map(|(_, n)| *n).collect();
        (!sizes.is_empty()).then(|| sizes.iter().sum())
    }

    async fn start_due(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        recovering: bool,
    ) -> Result<TickReport, AppError> {
        let backlog = self.backlog.load(Ordering::Relaxed);
        let unprepared = self.unprepared.load(Ordering::Relaxed);
        let full = self.bounded_capacity().is_some_and(|c| backlog >= c) || unprepared > 0;
        if !recovering && full {
            return Ok(TickReport {
                backlog: backlog + unprepared,
                ..TickReport::default()
            });
        }
        let due = due_entries(&self.deps, now, until).await?;
        let mut report = TickReport {
            due: due.len(),
            started: 0,
            backlog: backlog + unprepared,
        };
        let cache = Arc::new(Cache::default());
        let mut tasks = self.tasks.lock().await;
        while tasks.try_join_next().is_some() {}
        for (_, key, item) in due {
            if !self
                .in_flight
                .lock()
                .expect("in-flight lock")
                .insert(key.clone())
            {
                continue;
            }
            report.started += 1;
            let shared = self.shared();
            let in_flight = self.in_flight.clone();
            let cache = cache.clone();
            tasks.spawn(async move {
                let outcome = carry(&shared, &item, &cache).await;
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

    fn shared(&self) -> Shared {
        Shared {
            deps: self.deps.clone(),
            options: self.options.clone(),
            instance: self.instance.clone(),
            sending: self.sending.clone(),
            preparing: self.preparing.clone(),
            backlog: self.backlog.clone(),
            unprepared: self.unprepared.clone(),
        }
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
            cancelled: count(Outcome::Cancelled),
            skipped: count(Outcome::Skipped),
            events,
        })
    }
}

pub(super) async fn sleep_until(deps: &Deps, at: DateTime<Utc>) {
    let wait = at - deps.clock.now();
    if wait > Duration::zero() {
        tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
    }
}

impl Shared {
    /// The send permits of `platform`'s network, made on first use from its limits.
    fn sending(&self, platform: Platform) -> Result<Option<Arc<Semaphore>>, AppError> {
        let mut sending = self.sending.lock().expect("sending lock");
        if let Some(s) = sending.get(&platform) {
            return Ok(s.as_ref().map(|(pool, _)| pool.clone()));
        }
        let own = self.deps.connector(platform)?.limits().max_in_flight();
        let bound = match (self.options.concurrency, own) {
            (Some(cap), Some(own)) => Some(cap.min(own)),
            (cap, own) => cap.or(own),
        };
        let pool = bound.map(|n| (Arc::new(Semaphore::new(n.max(1))), n.max(1)));
        sending.insert(platform, pool.clone());
        Ok(pool.map(|(pool, _)| pool))
    }
}

/// One target's way through a tick: claimed when it may be, prepared, sent at its second.
async fn carry(shared: &Shared, item: &Item, cache: &Cache) -> Result<Outcome, AppError> {
    let deps = &shared.deps;
    let record = records::target_from(item)?;
    let Some(from) = claimable_from(&record, &shared.options, &shared.instance) else {
        return Ok(Outcome::Skipped);
    };
    sleep_until(deps, from).await;
    let platform = record.target.platform;
    let due_at = record.target.due_at;

    shared.unprepared.fetch_add(1, Ordering::Relaxed);
    let preparing = shared.preparing.acquire().await;
    shared.unprepared.fetch_sub(1, Ordering::Relaxed);
    let Ok(_preparing) = preparing else {
        return Ok(Outcome::Skipped);
    };
    let mut held = match claim(deps, &shared.options, &shared.instance, item).await? {
        Ok(held) => held,
        Err(outcome) => return Ok(outcome),
    };
    let prepared = match held.prepare(cache).await? {
        Ok(prepared) => prepared,
        Err(outcome) => return Ok(outcome),
    };
    drop(_preparing);

    if let Some(at) = due_at {
        sleep_until(deps, at).await;
    }
    let pool = shared.sending(platform)?;
    let _sending = match &pool {
        Some(pool) => {
            shared.backlog.fetch_add(1, Ordering::Relaxed);
            let permit = pool.acquire().await;
            shared.backlog.fetch_sub(1, Ordering::Relaxed);
            match permit {
                Ok(p) => Some(p),
                Err(_) => return Ok(Outcome::Skipped),
            }
        }
        None => None,
    };
    held.send(prepared).await
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
    pub cancelled: usize,
    pub skipped: usize,
    pub events: usize,
}
