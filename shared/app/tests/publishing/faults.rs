//! Faults of the stores: a table that throttles (DynamoDB refuses requests under load, and every
//! write path must survive a refusal at any step), and a network slow enough to back work up.

use crate::support::World;
use async_trait::async_trait;
use chrono::Duration;
use herald_app::publish::{Dispatcher, PublishOptions};
use herald_ports::{Condition, Item, Key, Page, Query, Table, TableError, TxOp, Update};
use herald_storage::embedded::EmbeddedTable;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// An embedded table with two faults a test can switch on: refusing every `every`-th write
/// with Throttled before it takes effect (DynamoDB under load), and holding puts until the
/// test opens `gate` (a network slow to answer, holding the publisher's permits).
struct FaultyTable {
    inner: EmbeddedTable,
    every: u64,
    calls: AtomicU64,
    on: AtomicBool,
    gate: Option<tokio::sync::Semaphore>,
}

impl FaultyTable {
    fn new(inner: EmbeddedTable) -> FaultyTable {
        FaultyTable {
            inner,
            every: u64::MAX,
            calls: AtomicU64::new(0),
            on: AtomicBool::new(false),
            gate: None,
        }
    }

    fn refuse(&self) -> Result<(), TableError> {
        if self.on.load(Ordering::SeqCst)
            && self.calls.fetch_add(1, Ordering::SeqCst) % self.every == self.every - 1
        {
            Err(TableError::Throttled)
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Table for FaultyTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
        let _pass = match &self.gate {
            Some(gate) => Some(gate.acquire().await.expect("gate open")),
            None => None,
        };
        self.refuse()?;
        self.inner.put(item, condition).await
    }
    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError> {
        self.refuse()?;
        self.inner.update(key, update, condition).await
    }
    async fn delete(
        &self,
        key: &Key,
        condition: Option<Condition>,
    ) -> Result<Option<Item>, TableError> {
        self.refuse()?;
        self.inner.delete(key, condition).await
    }
    async fn query(&self, query: Query) -> Result<Page, TableError> {
        self.inner.query(query).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        self.refuse()?;
        self.inner.transact(ops).await
    }
}

#[tokio::test]
async fn a_throttling_table_delays_posts_but_never_loses_or_doubles_one() {
    let table = Arc::new(FaultyTable {
        every: 3,
        ..FaultyTable::new(EmbeddedTable::in_memory().unwrap())
    });
    let network = Arc::new(table.inner.clone());
    let w = World::on(table.clone(), network).await;
    let accounts = [w.account("a").await, w.account("b").await];
    let refs: Vec<_> = accounts.iter().collect();
    let mut posts = Vec::new();
    for i in 0..30 {
        posts.push(
            w.post(&format!("throttled {i}"), &refs, Duration::zero())
                .await,
        );
    }
    table.on.store(true, Ordering::SeqCst);
    for _ in 0..30 {
        let _ = w.dispatcher().run_once().await;
        w.clock.advance(Duration::minutes(6));
    }
    table.on.store(false, Ordering::SeqCst);
    w.dispatcher().run_once().await.unwrap();
    for post in &posts {
        let view = w.view(post).await;
        assert_eq!(
            view.status,
            herald_domain::PostStatus::Published,
            "{view:?}"
        );
    }
    for acct in &accounts {
        w.assert_each_once(acct, 30).await;
    }
}

#[tokio::test]
async fn ticks_skip_the_index_while_due_targets_wait_for_permits_and_none_is_lost() {
    let inner = EmbeddedTable::in_memory().unwrap();
    let network = Arc::new(FaultyTable {
        gate: Some(tokio::sync::Semaphore::new(0)),
        ..FaultyTable::new(inner.clone())
    });
    let w = World::on(Arc::new(inner), network.clone()).await;
    let acct = w.account("slow").await;
    for i in 0..5 {
        w.post(&format!("queued {i}"), &[&acct], Duration::minutes(1))
            .await;
    }
    w.clock.advance(Duration::minutes(1));
    let d = Dispatcher::new(
        w.deps.clone(),
        PublishOptions {
            lookahead: Duration::zero(),
            concurrency: Some(1),
            ..PublishOptions::default()
        },
    );
    let first = d.tick().await.unwrap();
    assert_eq!((first.due, first.started, first.backlog), (5, 5, 0));
    // One target holds the only permit at the network; the other four queue for it.
    let mut busy = None;
    for _ in 0..500 {
        let report = d.tick().await.unwrap();
        if report.backlog == 4 {
            busy = Some(report);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let busy = busy.expect("four targets never queued for the permit");
    assert_eq!(
        (busy.due, busy.started),
        (0, 0),
        "a saturated tick reads no index"
    );
    network.gate.as_ref().expect("gated").add_permits(100);
    d.drain().await;
    w.assert_each_once(&acct, 5).await;
    let after = d.tick().await.unwrap();
    assert_eq!((after.due, after.backlog), (0, 0));
}
