//! The agency burst: N posts across M accounts all due at the same instant, once per sandbox
//! latency (each call to the network taking that long, as a real round trip does). Prints, per
//! latency, the time until the last one is out, lateness p50/p99/max, table operations per
//! published target, duplicates and losses.
//!
//!   cargo bench -p herald-app --bench scale -- [embedded|moto] [POSTS] [ACCOUNTS] [LATENCIES_MS]
//!   (defaults: embedded 10000 100 0,300; moto 1000 20 0,300)

mod support;

use async_trait::async_trait;
use chrono::{Duration, Utc};
use herald_adapters::SystemClock;
use herald_app::auth::Principal;
use herald_app::posts::NewPost;
use herald_app::publish::{Dispatcher, PublishOptions};
use herald_app::{accounts, posts, workspaces};
use herald_domain::{AccountId, Platform};
use herald_networks::sandbox::SandboxConnector;
use herald_ports::{
    Clock, Condition, Connector, Connectors, Item, Key, Page, Query, Table, TableError, TxOp,
    Update,
};
use herald_storage::embedded::EmbeddedTable;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts every call that reaches the table.
struct Counting {
    inner: Arc<dyn Table>,
    calls: AtomicU64,
    /// By kind, for the cost model (docs/cost.md): what DynamoDB bills as read and write
    /// request units.
    reads: AtomicU64,
    writes: AtomicU64,
    transaction_items: AtomicU64,
}

impl Counting {
    fn new(inner: Arc<dyn Table>) -> Self {
        Counting {
            inner,
            calls: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            transaction_items: AtomicU64::new(0),
        }
    }
    fn tick(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
    fn read(&self) {
        self.tick();
        self.reads.fetch_add(1, Ordering::Relaxed);
    }
    fn write(&self) {
        self.tick();
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
    fn counts(&self) -> [u64; 4] {
        [
            self.calls.load(Ordering::Relaxed),
            self.reads.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
            self.transaction_items.load(Ordering::Relaxed),
        ]
    }
}

#[async_trait]
impl Table for Counting {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.read();
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, c: Option<Condition>) -> Result<(), TableError> {
        self.write();
        self.inner.put(item, c).await
    }
    async fn update(&self, k: &Key, u: Update, c: Option<Condition>) -> Result<Item, TableError> {
        self.write();
        self.inner.update(k, u, c).await
    }
    async fn delete(&self, k: &Key, c: Option<Condition>) -> Result<Option<Item>, TableError> {
        self.write();
        self.inner.delete(k, c).await
    }
    async fn query(&self, q: Query) -> Result<Page, TableError> {
        self.read();
        self.inner.query(q).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        self.tick();
        self.transaction_items
            .fetch_add(ops.len() as u64, Ordering::Relaxed);
        self.inner.transact(ops).await
    }
}

/// How far ahead the bench's publisher claims and prepares (`herald serve` should look as far).
const LOOKAHEAD_S: i64 = 10;

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let backend = args
        .first()
        .map(String::as_str)
        .unwrap_or("embedded")
        .to_owned();
    let (default_posts, default_accounts) = if backend == "moto" {
        (1000, 20)
    } else {
        (10_000, 100)
    };
    let n: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_posts);
    let m: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_accounts);

    let latencies: Vec<u64> = args
        .get(3)
        .map(|s| s.split(',').filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![0, 300]);
    let mut figures = Vec::new();
    for latency in latencies {
        figures.push(burst(&backend, n, m, latency).await);
    }
    println!("scale bench: backend={backend} posts={n} accounts={m}");
    for f in &figures {
        println!("{f}");
    }
    for f in &figures {
        assert_eq!(f.duplicates, 0, "duplicates at {} ms", f.latency_ms);
        assert_eq!(f.lost, 0, "losses at {} ms", f.latency_ms);
    }
}

/// What one burst came to.
struct Figures {
    latency_ms: u64,
    scheduled_in: std::time::Duration,
    n: usize,
    last_out_ms: i64,
    p50: i64,
    p99: i64,
    max: i64,
    ops_per_target: f64,
    /// Per target: reads (gets and queries), single writes, items written in transactions.
    reads_per_target: f64,
    writes_per_target: f64,
    transaction_items_per_target: f64,
    /// Per post scheduled (one target each): table calls, reads, single writes, items in
    /// transactions.
    scheduling_ops: [f64; 4],
    duplicates: usize,
    lost: usize,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "  sandbox latency {} ms:", self.latency_ms)?;
        writeln!(
            f,
            "    scheduling:          {:.1} s ({:.0} posts/s)",
            self.scheduled_in.as_secs_f64(),
            self.n as f64 / self.scheduled_in.as_secs_f64()
        )?;
        writeln!(
            f,
            "    last one out after:  {:.2} s",
            self.last_out_ms as f64 / 1000.0
        )?;
        writeln!(
            f,
            "    lateness p50/p99/max: {} / {} / {} ms",
            self.p50, self.p99, self.max
        )?;
        writeln!(
            f,
            "    table ops per target (publishing, incl. index reads and event relay): {:.1}",
            self.ops_per_target
        )?;
        writeln!(
            f,
            "    of which per target: {:.2} reads, {:.2} single writes, {:.2} items in transactions",
            self.reads_per_target, self.writes_per_target, self.transaction_items_per_target
        )?;
        let [calls, reads, writes, items] = self.scheduling_ops;
        writeln!(
            f,
            "    scheduling, per post: {calls:.2} table ops: {reads:.2} reads, {writes:.2} single writes, {items:.2} items in transactions",
        )?;
        write!(
            f,
            "    duplicates: {}   lost: {}",
            self.duplicates, self.lost
        )
    }
}

async fn burst(backend: &str, n: usize, m: usize, latency_ms: u64) -> Figures {
    let dir = std::env::temp_dir().join(format!("herald-scale-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let inner: Arc<dyn Table> = match backend {
        "moto" => {
            let endpoint = herald_testkit::moto_endpoint().await;
            let sdk = herald_testkit::aws_sdk_config(&endpoint).await;
            let client = aws_sdk_dynamodb::Client::new(&sdk);
            let name = format!("scale-{:x}", rand::random::<u32>());
            herald_storage::dynamo::DynamoTable::create_table(&client, &name)
                .await
                .unwrap();
            Arc::new(herald_storage::dynamo::DynamoTable::new(client, name))
        }
        _ => Arc::new(EmbeddedTable::open(dir.join("herald.redb")).unwrap()),
    };
    let table = Arc::new(Counting::new(inner));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sandbox = Arc::new(
        SandboxConnector::new(table.clone(), clock.clone())
            .with_latency(std::time::Duration::from_millis(latency_ms)),
    );
    let mut connectors = Connectors::new();
    connectors.insert(Platform::Sandbox, sandbox as Arc<dyn Connector>);
    let deps = support::deps(table.clone(), &dir, clock.clone(), connectors);
    let by = posts::Author::approver(herald_domain::Actor::Admin);
    let ws = workspaces::create(&deps, &Principal::Admin, "Agency")
        .await
        .unwrap()
        .id;
    let mut accts: Vec<AccountId> = Vec::new();
    for i in 0..m {
        let new = accounts::NewAccount {
            platform: "sandbox".into(),
            handle: format!("client{i}"),
            credentials: None,
        };
        accts.push(accounts::create(&deps, &ws, new).await.unwrap().id);
    }

    // Schedule everything for one instant, far enough ahead that scheduling finishes first.
    let per_post_ms: i64 = if backend == "moto" { 200 } else { 2 };
    let due = Utc::now()
        + Duration::milliseconds(3_000 + per_post_ms * n as i64)
        + Duration::seconds(LOOKAHEAD_S);
    eprintln!(
        "scheduling {n} posts across {m} accounts on {backend}, all due at {due}, the network taking {latency_ms} ms a call"
    );
    let scheduling = std::time::Instant::now();
    let at_scheduling = table.counts();
    let mut tasks = tokio::task::JoinSet::new();
    let next = Arc::new(AtomicU64::new(0));
    // moto serves one request at a time and answers 500 under concurrent transactions.
    let creators = if backend == "moto" { 1 } else { 32 };
    for _ in 0..creators {
        let (deps, ws, accts, next, by) = (
            deps.clone(),
            ws.clone(),
            accts.clone(),
            next.clone(),
            by.clone(),
        );
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= n {
                    return;
                }
                let new = NewPost {
                    text: format!("burst post {i}"),
                    accounts: vec![accts[i % accts.len()].clone()],
                    scheduled_at: Some(due),
                    variants: Default::default(),
                    media: vec![],
                    tags: vec![],
                    kind: Default::default(),
                    recurrence: None,
                    queue: false,
                };
                // A 500 from the store may or may not have written: the retry carries the same
                // Idempotency-Key, as a careful client's would, so it cannot double the post.
                let key = format!("burst-{i}");
                let mut tries = 0;
                loop {
                    match posts::create(&deps, &ws, &by, new.clone(), Some(&key)).await {
                        Ok(_) => break,
                        Err(e) if tries < 20 => {
                            tries += 1;
                            if tries == 1 {
                                eprintln!("  post {i}: {e}; retrying");
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
                        }
                        Err(e) => panic!("post {i} could not be created: {e}"),
                    }
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let scheduled_in = scheduling.elapsed();
    if Utc::now() >= due {
        eprintln!("warning: scheduling took {scheduled_in:?} and ran past the due time");
    }
    let before = table.counts();
    let scheduling_ops =
        [0, 1, 2, 3].map(|i| (before[i] - at_scheduling[i]) as f64 / n.max(1) as f64);

    // The local host's loop: a tick every 100 ms, claiming and preparing what is due within
    // the lookahead, so at the second only the sends and their records remain.
    let dispatcher = Dispatcher::new(
        deps.clone(),
        PublishOptions {
            lookahead: Duration::seconds(LOOKAHEAD_S),
            exclusive: true,
            // Sandbox calls take milliseconds; a short lease lets a claim whose record failed
            // (moto's 500s) be resolved within the run.
            lease: Duration::seconds(20),
            // moto serves one request at a time and copies the whole table for every write of
            // a transaction; requests in flight only queue up there, each holding a copy.
            concurrency: if backend == "moto" { Some(2) } else { None },
            ..PublishOptions::default()
        },
    );
    let mut last_count = 0;
    let mut last_change = std::time::Instant::now();
    let mut last_progress = std::time::Instant::now();
    // Give up only when nothing has moved for longer than a lease and a retry.
    while last_change.elapsed() < std::time::Duration::from_secs(90) {
        if let Err(e) = dispatcher.tick().await {
            eprintln!("  tick: {e}");
        }
        if let Err(e) = herald_app::events::relay(&deps, 10_000).await {
            eprintln!("  relay: {e}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if Utc::now() <= due {
            last_change = std::time::Instant::now();
            continue;
        }
        // Counting the outbox is a query per account (and reads every post out so far): on
        // moto, where a query walks the whole table, and during the burst anywhere, counting
        // every 100 ms would slow the publisher it measures.
        let every = if backend == "moto" { 5 } else { 1 };
        if last_progress.elapsed() < std::time::Duration::from_secs(every) {
            continue;
        }
        let mut total = 0;
        for a in &accts {
            total += herald_networks::sandbox::outbox(table.inner.as_ref(), &ws, a, None)
                .await
                .unwrap()
                .len();
        }
        if total != last_count {
            last_count = total;
            last_change = std::time::Instant::now();
        }
        eprintln!("  {total}/{n} out");
        last_progress = std::time::Instant::now();
        if total >= n {
            break;
        }
    }
    dispatcher.drain().await;
    while herald_app::events::relay(&deps, 10_000).await.unwrap_or(0) > 0 {}
    let after = table.counts();
    let per_target = |i: usize| (after[i] - before[i]) as f64 / n.max(1) as f64;

    // Count what the network got, per text: duplicates and losses.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut lateness = Vec::new();
    let mut last_out = due;
    for a in &accts {
        for e in herald_networks::sandbox::outbox(table.inner.as_ref(), &ws, a, None)
            .await
            .unwrap()
        {
            *seen.entry(e.text).or_default() += 1;
            lateness.push((e.received_at - due).num_milliseconds());
            last_out = last_out.max(e.received_at);
        }
    }
    let duplicates: usize = seen.values().map(|c| c.saturating_sub(1)).sum();
    let lost = n - seen.len();
    lateness.sort();
    let _ = std::fs::remove_dir_all(&dir);
    Figures {
        latency_ms,
        scheduled_in,
        n,
        last_out_ms: (last_out - due).num_milliseconds(),
        p50: percentile(&lateness, 0.5),
        p99: percentile(&lateness, 0.99),
        max: lateness.last().copied().unwrap_or(0),
        ops_per_target: per_target(0),
        reads_per_target: per_target(1),
        writes_per_target: per_target(2),
        transaction_items_per_target: per_target(3),
        scheduling_ops,
        duplicates,
        lost,
    }
}
