//! The agency burst: N posts across M accounts all due at the same instant. Prints the time
//! until the last one is out, lateness p50/p99/max, table operations per published target,
//! duplicates and losses.
//!
//!   cargo bench -p herald-app --bench scale -- [embedded|moto] [POSTS] [ACCOUNTS]
//!   (defaults: embedded 10000 100; moto 1000 20)

use async_trait::async_trait;
use chrono::{Duration, Utc};
use herald_adapters::{FsBlobStore, InProcessBus, SystemClock};
use herald_app::auth::Principal;
use herald_app::posts::NewPost;
use herald_app::publish::{Dispatcher, PublishOptions};
use herald_app::{Deps, Settings, accounts, posts, workspaces};
use herald_domain::{AccountId, Platform};
use herald_networks::crypto::Sealer;
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
}

impl Counting {
    fn tick(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl Table for Counting {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.tick();
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, c: Option<Condition>) -> Result<(), TableError> {
        self.tick();
        self.inner.put(item, c).await
    }
    async fn update(&self, k: &Key, u: Update, c: Option<Condition>) -> Result<Item, TableError> {
        self.tick();
        self.inner.update(k, u, c).await
    }
    async fn delete(&self, k: &Key, c: Option<Condition>) -> Result<Option<Item>, TableError> {
        self.tick();
        self.inner.delete(k, c).await
    }
    async fn query(&self, q: Query) -> Result<Page, TableError> {
        self.tick();
        self.inner.query(q).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        self.tick();
        self.inner.transact(ops).await
    }
}

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

    let dir = std::env::temp_dir().join(format!("herald-scale-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let inner: Arc<dyn Table> = match backend.as_str() {
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
    let table = Arc::new(Counting {
        inner,
        calls: AtomicU64::new(0),
    });
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sandbox = Arc::new(SandboxConnector::new(table.clone(), clock.clone()));
    let mut connectors = Connectors::new();
    connectors.insert(Platform::Sandbox, sandbox as Arc<dyn Connector>);
    let deps = Deps {
        table: table.clone(),
        blobs: Arc::new(
            FsBlobStore::new(
                dir.join("blobs"),
                "http://127.0.0.1:9",
                vec![1; 32],
                clock.clone(),
            )
            .unwrap(),
        ),
        bus: Arc::new(InProcessBus::new()),
        clock: clock.clone(),
        random: Arc::new(herald_adapters::SystemRandom),
        connectors: Arc::new(connectors),
        sealer: Arc::new(Sealer::new([7; 32])),
        guard: Arc::new(herald_networks::guard::Guard::new(false)),
        settings: Settings::default(),
        oauth: Default::default(),
    };
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
    let due = Utc::now() + Duration::milliseconds(3_000 + per_post_ms * n as i64);
    eprintln!("scheduling {n} posts across {m} accounts on {backend}, all due at {due}");
    let scheduling = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let next = Arc::new(AtomicU64::new(0));
    // moto serves one request at a time and answers 500 under concurrent transactions.
    let creators = if backend == "moto" { 1 } else { 32 };
    for _ in 0..creators {
        let (deps, ws, accts, next) = (deps.clone(), ws.clone(), accts.clone(), next.clone());
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
                    match posts::create(&deps, &ws, new.clone(), Some(&key)).await {
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
    let ops_before = table.calls.load(Ordering::Relaxed);

    // The local host's loop: a tick every 100 ms looking 200 ms ahead.
    let dispatcher = Dispatcher::new(
        deps.clone(),
        PublishOptions {
            lookahead: Duration::milliseconds(200),
            exclusive: true,
            // Sandbox calls take milliseconds; a short lease lets a claim whose record failed
            // (moto's 500s) be resolved within the run.
            lease: Duration::seconds(20),
            // moto serves one request at a time and copies the whole table for every write of
            // a transaction; requests in flight only queue up there, each holding a copy.
            concurrency: if backend == "moto" { 2 } else { 64 },
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
        // Counting the outbox is a query per account: on moto, where a query walks the whole
        // table, counting every 100 ms would slow the publisher it measures.
        if backend == "moto" && last_progress.elapsed() < std::time::Duration::from_secs(5) {
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
        if last_progress.elapsed() > std::time::Duration::from_secs(2) {
            eprintln!("  {total}/{n} out");
            last_progress = std::time::Instant::now();
        }
        if total >= n {
            break;
        }
    }
    dispatcher.drain().await;
    while herald_app::events::relay(&deps, 10_000).await.unwrap_or(0) > 0 {}
    let ops_publishing = table.calls.load(Ordering::Relaxed) - ops_before;

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
    println!("scale bench: backend={backend} posts={n} accounts={m}");
    println!(
        "  scheduling:          {:.1} s ({:.0} posts/s)",
        scheduled_in.as_secs_f64(),
        n as f64 / scheduled_in.as_secs_f64()
    );
    println!(
        "  last one out after:  {:.2} s",
        (last_out - due).num_milliseconds() as f64 / 1000.0
    );
    println!(
        "  lateness p50/p99/max: {} / {} / {} ms",
        percentile(&lateness, 0.5),
        percentile(&lateness, 0.99),
        lateness.last().copied().unwrap_or(0)
    );
    println!(
        "  table ops per target (publishing, incl. index reads and event relay): {:.1}",
        ops_publishing as f64 / n.max(1) as f64
    );
    println!("  duplicates: {duplicates}   lost: {lost}");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(duplicates, 0, "duplicates");
    assert_eq!(lost, 0, "losses");
}
