//! The aggregator under a million engagement events: EVENTS events (likes, comments, shares,
//! impressions) on POSTS published posts across 10 accounts over a week, rolled up on the
//! embedded store (a redb file, every commit durable), in invocations of BATCH events each.
//! Prints, per batch size, the seconds the invocations took, the table writes (items written,
//! markers included) per event, and checks that the rollups add up to what was sent and that a
//! batch delivered again adds nothing.
//!
//!   cargo bench -p herald-app --bench aggregate -- [EVENTS] [POSTS] [BATCHES]
//!   (defaults: 1000000 10000 1000000,250000,100000)

mod support;

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use herald_adapters::SystemClock;
use herald_app::aggregate::{self, rollup};
use herald_app::auth::Principal;
use herald_app::workspaces;
use herald_domain::event::{Engagement, EngagementRecorded, Event, EventKind};
use herald_domain::{AccountId, EventId, Platform, PostId, WorkspaceId};
use herald_ports::{
    BusEvent, Clock, Condition, Item, Key, Page, Query, SortCondition, Table, TableError, TxOp,
    Update, Value,
};
use herald_storage::embedded::EmbeddedTable;
use herald_storage::keys;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts the items every write reaches (a transaction writes each of its items).
struct Counting {
    inner: Arc<dyn Table>,
    writes: AtomicU64,
}

impl Counting {
    fn wrote(&self, n: usize) {
        self.writes.fetch_add(n as u64, Ordering::Relaxed);
    }
}

#[async_trait]
impl Table for Counting {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, c: Option<Condition>) -> Result<(), TableError> {
        self.wrote(1);
        self.inner.put(item, c).await
    }
    async fn update(&self, k: &Key, u: Update, c: Option<Condition>) -> Result<Item, TableError> {
        self.wrote(1);
        self.inner.update(k, u, c).await
    }
    async fn delete(&self, k: &Key, c: Option<Condition>) -> Result<Option<Item>, TableError> {
        self.wrote(1);
        self.inner.delete(k, c).await
    }
    async fn query(&self, q: Query) -> Result<Page, TableError> {
        self.inner.query(q).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        let n = ops
            .iter()
            .filter(|op| !matches!(op, TxOp::Check { .. }))
            .count();
        let result = self.inner.transact(ops).await;
        if result.is_ok() {
            self.wrote(n);
        }
        result
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        self.inner.get_many(keys).await
    }
}

const ACCOUNTS: usize = 10;
const KINDS: [Engagement; 4] = [
    Engagement::Impression,
    Engagement::Like,
    Engagement::Comment,
    Engagement::Share,
];

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let events: usize = args
        .first()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let posts: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let batches: Vec<usize> = args
        .get(2)
        .map(|s| s.split(',').filter_map(|b| b.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000_000, 250_000, 100_000]);
    println!(
        "aggregate bench: {events} engagement events on {posts} posts, embedded store, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for batch in batches {
        run(events, posts, batch.clamp(1, events.max(1))).await;
    }
}

async fn run(n: usize, posts: usize, batch: usize) {
    let dir = std::env::temp_dir().join(format!("herald-aggregate-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let table = Arc::new(Counting {
        inner: Arc::new(EmbeddedTable::open(dir.join("herald.redb")).unwrap()),
        writes: AtomicU64::new(0),
    });
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let deps = support::deps(table.clone(), &dir, clock.clone(), Default::default());
    let ws = workspaces::create(&deps, &Principal::Admin, "Bench")
        .await
        .unwrap()
        .id;
    let accounts: Vec<AccountId> = (0..ACCOUNTS)
        .map(|i| AccountId::generate(1, i as u128))
        .collect();
    let start = Utc.with_ymd_and_hms(2026, 11, 16, 0, 0, 0).unwrap();
    // The posts as the aggregator knows them once published: tags, kind, when.
    let post_ids: Vec<PostId> = (0..posts).map(|i| PostId::generate(2, i as u128)).collect();
    for (i, post) in post_ids.iter().enumerate() {
        let mut item = keys::metrics_post(&ws, post).item();
        let tags = [format!("topic{}", i % 20), format!("series{}", i % 7)];
        item.insert(
            rollup::meta::TAGS.into(),
            Value::L(tags.into_iter().map(Value::S).collect()),
        );
        item.insert(
            rollup::meta::KIND.into(),
            Value::S(if i % 5 == 0 { "promotional" } else { "social" }.into()),
        );
        let published = start + Duration::minutes((i * 61 % (7 * 24 * 60)) as i64);
        item.insert(
            rollup::meta::PUBLISHED_AT.into(),
            Value::N(published.timestamp_millis()),
        );
        table.inner.put(item, None).await.unwrap();
    }
    let events: Vec<BusEvent> = (0..n)
        .map(|i| engagement(&ws, &accounts, &post_ids, start, i))
        .collect();
    let before = table.writes.load(Ordering::Relaxed);
    let began = std::time::Instant::now();
    let mut report = aggregate::Report::default();
    for chunk in events.chunks(batch) {
        let r = aggregate::aggregate(&deps, chunk).await.unwrap();
        report.counted += r.counted;
        report.writes += r.writes;
    }
    let took = began.elapsed();
    let writes = table.writes.load(Ordering::Relaxed) - before;
    assert_eq!(report.counted, n);
    assert_eq!(writes as usize, report.writes);

    // The rollups hold what was sent, each kind exactly.
    let days = deps
        .table
        .query_all(
            Query::table(keys::metrics_partition(&ws)).sk(SortCondition::BeginsWith("DAY#".into())),
        )
        .await
        .unwrap();
    for (k, kind) in KINDS.iter().enumerate() {
        let sent = (0..n).filter(|i| i % KINDS.len() == k).count() as i64;
        let (name, _) = rollup::counter_of(*kind);
        let counted: i64 = days
            .iter()
            .filter_map(|d| d.get(name).and_then(Value::as_n))
            .sum();
        assert_eq!(counted, sent, "{name}");
    }
    // A batch delivered again adds nothing.
    let again = aggregate::aggregate(&deps, &events[..batch]).await.unwrap();
    assert_eq!(again.writes, 0, "{again:?}");
    assert!(again.already_applied > 0);

    println!(
        "  batches of {batch:>9}: {:>6.2} s ({:>9.0} events/s), {writes:>7} table writes = {:.4} writes/event; a batch delivered again: 0 writes, {} chunks found applied",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        writes as f64 / n as f64,
        again.already_applied
    );
    drop(deps);
    drop(table);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Event `i`: a like, comment, share or impression on post `i * 7919 mod posts`, at a time in
/// the week after the posts went out.
fn engagement(
    ws: &WorkspaceId,
    accounts: &[AccountId],
    posts: &[PostId],
    start: chrono::DateTime<Utc>,
    i: usize,
) -> BusEvent {
    let p = (i * 7919) % posts.len();
    let time = start + Duration::seconds((i % (7 * 86_400)) as i64);
    BusEvent::of(&Event {
        id: EventId::generate(time.timestamp_millis() as u64, i as u128),
        workspace: ws.clone(),
        time,
        kind: EventKind::EngagementRecorded(EngagementRecorded {
            account: accounts[p % accounts.len()].clone(),
            platform: Platform::Sandbox,
            remote_id: format!("sbx_{p}"),
            post: Some(posts[p].clone()),
            engagement: KINDS[i % KINDS.len()],
            count: 1,
        }),
    })
}
