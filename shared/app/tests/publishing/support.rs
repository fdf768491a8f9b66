use chrono::Duration;
use chrono::{DateTime, Utc};
use herald_adapters::{FsBlobStore, InProcessBus, ManualClock};
use herald_app::auth::Principal;
use herald_app::posts::{NewPost, PostView};
use herald_app::publish::{Dispatcher, PublishOptions};
use herald_app::{Deps, accounts, posts, workspaces};
use herald_domain::limits::RateLimit;
use herald_domain::{AccountId, Platform, PostId, WorkspaceId};
use herald_networks::crypto::Sealer;
use herald_networks::sandbox::{OutboxEntry, SandboxConnector};
use herald_ports::{
    BusEvent, Clock, Connector, Connectors, DelayedSend, Table, WakeError, WakeJob, WakeUps,
};
use herald_storage::embedded::EmbeddedTable;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc::UnboundedReceiver;

pub struct World {
    pub deps: Deps,
    pub clock: Arc<ManualClock>,
    /// What the engine asked of its wake-ups.
    pub wakes: Arc<Wakes>,
    pub sandbox: Arc<SandboxConnector>,
    pub ws: WorkspaceId,
    events: UnboundedReceiver<BusEvent>,
}

impl World {
    pub async fn new() -> World {
        let table = Arc::new(EmbeddedTable::in_memory().unwrap());
        World::on(table.clone(), table).await
    }

    /// A world with a send queue, as deployed on AWS: writes arrange wakes, runs hand off.
    pub async fn queued() -> World {
        World::queued_with(None).await
    }

    /// A queued world whose sandbox allows only `limits`.
    pub async fn queued_with(limits: Option<&'static [RateLimit]>) -> World {
        let table = Arc::new(EmbeddedTable::in_memory().unwrap());
        World::build_with(table.clone(), table, limits, None, true, None).await
    }

    /// A world with one more network beside the sandbox (a scripted double, say).
    pub async fn with_network(extra: Arc<dyn Connector>) -> World {
        let table = Arc::new(EmbeddedTable::in_memory().unwrap());
        World::build_with(table.clone(), table, None, None, false, Some(extra)).await
    }

    /// A queued world (as deployed) with one more network beside the sandbox.
    pub async fn with_network_queued(extra: Arc<dyn Connector>) -> World {
        let table = Arc::new(EmbeddedTable::in_memory().unwrap());
        World::build_with(table.clone(), table, None, None, true, Some(extra)).await
    }

    /// A world whose sandbox allows only `limits`.
    pub async fn with_sandbox_limits(limits: &'static [RateLimit]) -> World {
        let table = Arc::new(EmbeddedTable::in_memory().unwrap());
        World::build(table.clone(), table, Some(limits), None).await
    }

    /// A world whose sandbox takes `latency` for every call (in real time).
    pub async fn with_sandbox_latency(latency: std::time::Duration) -> World {
        let table = Arc::new(EmbeddedTable::in_memory().unwrap());
        World::build(table.clone(), table, None, Some(latency)).await
    }

    /// A world whose table is `table` (a fault-injecting wrapper, say); the sandbox network
    /// keeps its posts in `network_table`, so the network itself stays healthy.
    pub async fn on(table: Arc<dyn Table>, network_table: Arc<dyn Table>) -> World {
        World::build(table, network_table, None, None).await
    }

    async fn build(
        table: Arc<dyn Table>,
        network_table: Arc<dyn Table>,
        limits: Option<&'static [RateLimit]>,
        latency: Option<std::time::Duration>,
    ) -> World {
        World::build_with(table, network_table, limits, latency, false, None).await
    }

    async fn build_with(
        table: Arc<dyn Table>,
        network_table: Arc<dyn Table>,
        limits: Option<&'static [RateLimit]>,
        latency: Option<std::time::Duration>,
        queued: bool,
        extra: Option<Arc<dyn Connector>>,
    ) -> World {
        let wakes = Arc::new(Wakes {
            queued,
            ..Wakes::default()
        });
        let clock = Arc::new(ManualClock::new(
            chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
                .unwrap()
                .to_utc(),
        ));
        let mut sandbox = SandboxConnector::new(network_table, clock.clone());
        if let Some(limits) = limits {
            sandbox = sandbox.with_publish_limits(limits);
        }
        if let Some(latency) = latency {
            sandbox = sandbox.with_latency(latency);
        }
        let sandbox = Arc::new(sandbox);
        let mut connectors = Connectors::new();
        connectors.insert(Platform::Sandbox, sandbox.clone() as Arc<dyn Connector>);
        if let Some(extra) = extra {
            connectors.insert(extra.platform(), extra);
        }
        let bus = Arc::new(InProcessBus::new());
        let events = bus.subscribe();
        let blobs = FsBlobStore::new(
            std::env::temp_dir().join(format!("herald-test-{}", rand_suffix())),
            "http://127.0.0.1:9",
            vec![1; 32],
            clock.clone(),
        )
        .unwrap();
        let deps = Deps {
            table,
            blobs: Arc::new(blobs),
            bus,
            clock: clock.clone() as Arc<dyn Clock>,
            random: Arc::new(herald_adapters::SeededRandom::new(9)),
            connectors: Arc::new(connectors),
            sealer: Arc::new(Sealer::new([7; 32])),
            guard: Arc::new(herald_networks::guard::Guard::new(false)),
            oauth: Default::default(),
            wakeups: wakes.clone(),
            video: Arc::new(herald_adapters::Ffmpeg::new(None)),
        };
        let ws = workspaces::create(&deps, &Principal::Admin, "Agency client")
            .await
            .unwrap()
            .id;
        World {
            deps,
            clock,
            wakes,
            sandbox,
            ws,
            events,
        }
    }

    pub async fn account(&self, handle: &str) -> AccountId {
        let new = accounts::NewAccount {
            platform: "sandbox".into(),
            handle: handle.into(),
            credentials: None,
        };
        accounts::create(&self.deps, &self.ws, new)
            .await
            .unwrap()
            .id
    }

    pub async fn post(&self, text: &str, to: &[&AccountId], in_: Duration) -> PostId {
        let new = NewPost {
            text: text.into(),
            accounts: to.iter().map(|a| (*a).clone()).collect(),
            scheduled_at: Some(self.clock.now() + in_),
            variants: Default::default(),
            media: vec![],
            tags: vec![],
            kind: Default::default(),
            recurrence: None,
            queue: false,
        };
        posts::create(&self.deps, &self.ws, &trusted(), new, None)
            .await
            .unwrap()
            .post
            .id
    }

    pub fn dispatcher(&self) -> Dispatcher {
        Dispatcher::new(
            self.deps.clone(),
            PublishOptions {
                lookahead: Duration::zero(),
                ..PublishOptions::default()
            },
        )
    }

    pub async fn view(&self, post: &PostId) -> PostView {
        posts::get(&self.deps, &self.ws, post).await.unwrap()
    }

    /// The calendar window `[from, to)` whole, read page by page as a client would.
    pub async fn calendar(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<PostView>, herald_app::AppError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let request = herald_app::page::PageRequest { limit: 500, cursor };
            let page = herald_app::calendar::page(&self.deps, &self.ws, from, to, &request).await?;
            all.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    pub async fn outbox(&self, acct: &AccountId) -> Vec<OutboxEntry> {
        herald_networks::sandbox::outbox(self.deps.table.as_ref(), &self.ws, acct, None)
            .await
            .unwrap()
    }

    pub async fn texts(&self, acct: &AccountId) -> Vec<String> {
        self.outbox(acct)
            .await
            .into_iter()
            .map(|e| e.text)
            .collect()
    }

    /// Every one of `count` distinct texts arrived exactly once.
    pub async fn assert_each_once(&self, acct: &AccountId, count: usize) {
        let mut texts = self.texts(acct).await;
        let total = texts.len();
        texts.sort();
        texts.dedup();
        assert_eq!(total, texts.len(), "duplicates on {acct}");
        assert_eq!(total, count, "losses on {acct}");
    }

    /// Waits (briefly, in real time) for a concurrent task to reach the network.
    pub async fn wait_for_outbox(&self, acct: &AccountId, n: usize) {
        for _ in 0..500 {
            if self.outbox(acct).await.len() >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the network never received {n} posts");
    }

    pub fn events(&mut self) -> Vec<BusEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

/// Wake-ups as a test sees them: every minute ensured and every send queued, in order. With
/// `queued` it stands for AWS's schedules and send queue; it can be told to fail, as a
/// Scheduler or queue outage would.
#[derive(Default)]
pub struct Wakes {
    pub queued: bool,
    minutes: Mutex<Vec<(WakeJob, DateTime<Utc>)>>,
    sends: Mutex<Vec<DelayedSend>>,
    pub failing: AtomicBool,
}

impl Wakes {
    /// The publisher's minutes ensured, in order.
    pub fn minutes(&self) -> Vec<DateTime<Utc>> {
        self.minutes_of(WakeJob::Publisher)
    }

    /// One job's minutes ensured, in order.
    pub fn minutes_of(&self, job: WakeJob) -> Vec<DateTime<Utc>> {
        let minutes = self.minutes.lock().unwrap();
        minutes
            .iter()
            .filter(|(j, _)| *j == job)
            .map(|(_, m)| *m)
            .collect()
    }

    /// The sends queued since the last call, taken.
    pub fn take_sends(&self) -> Vec<DelayedSend> {
        std::mem::take(&mut *self.sends.lock().unwrap())
    }

    /// Waits (briefly, in real time) for a wake arranged beside a send (a lease's end).
    pub async fn wait_for_minute(&self, minute: DateTime<Utc>) {
        for _ in 0..500 {
            if self.minutes().contains(&minute) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("no wake for {minute}: {:?}", self.minutes());
    }
}

#[async_trait::async_trait]
impl WakeUps for Wakes {
    fn wakes(&self, job: WakeJob) -> bool {
        self.queued && matches!(job, WakeJob::Publisher | WakeJob::Polls)
    }

    async fn ensure_minute(&self, job: WakeJob, minute: DateTime<Utc>) -> Result<(), WakeError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(WakeError::Service("the scheduler is down".into()));
        }
        self.minutes.lock().unwrap().push((job, minute));
        Ok(())
    }

    async fn queue_sends(&self, _job: WakeJob, sends: &[DelayedSend]) -> Result<(), WakeError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(WakeError::Service("the queue is down".into()));
        }
        self.sends.lock().unwrap().extend_from_slice(sends);
        Ok(())
    }
}

/// The messages SQS would deliver for `sends`, with ids.
pub fn messages(sends: &[DelayedSend]) -> Vec<(String, String)> {
    sends
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("msg-{i}"), s.body.clone()))
        .collect()
}

fn rand_suffix() -> String {
    format!("{:x}", rand::random::<u64>())
}

/// An author whose scheduling needs no review (the engine's tests run with approvals off).
pub fn trusted() -> posts::Author {
    posts::Author::approver(herald_domain::Actor::WorkspaceKey)
}
