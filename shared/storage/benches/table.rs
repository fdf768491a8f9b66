//! Table throughput: put, conditional update, get, query and transact, one at a time and from
//! 32 concurrent tasks, on the embedded store (file-backed, fsync on every commit) and on moto.
//!
//! `cargo bench -p herald-storage --bench table` (add `-- embedded` or `-- dynamo` for one
//! backend; `HERALD_MOTO_ENDPOINT` reuses a running moto server).

use herald_ports::{Condition, Item, Key, Query, Table, TableError, TxOp, Update, Value};
use herald_storage::{DynamoTable, EmbeddedTable};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Each measurement stops at this many operations or after this long, whichever comes first.
const MAX_OPS: usize = 20_000;
const MAX_TIME: Duration = Duration::from_secs(3);
const CONCURRENCY: usize = 32;
const COUNTERS: usize = 500;
const PARTITIONS: usize = 50;
const PER_PARTITION: usize = 20;

#[derive(Clone, Copy, Debug)]
enum Op {
    Put,
    ConditionalUpdate,
    Get,
    Query,
    Transact,
}

fn item(pk: &str, sk: &str, attrs: &[(&str, Value)]) -> Item {
    let mut item = Key::new(pk, sk).item();
    for (n, v) in attrs {
        item.insert((*n).to_owned(), v.clone());
    }
    item
}

/// A body like a post target's: a few strings and numbers, about 300 bytes.
fn body(i: usize) -> Vec<(&'static str, Value)> {
    vec![
        ("status", Value::S("scheduled".into())),
        ("account", Value::S(format!("acct_01J9ZQ3V7W{i:08}"))),
        ("platform", Value::S("mastodon".into())),
        ("text", Value::S("x".repeat(200))),
        ("due_at", Value::N(1_800_000_000_000 + i as i64)),
        ("attempts", Value::N(0)),
    ]
}

async fn one(table: &dyn Table, op: Op, run: usize, i: usize) -> Result<(), TableError> {
    match op {
        Op::Put => table
            .put(
                item(
                    &format!("PUT#{run}#{}", i % 1000),
                    &format!("{i}"),
                    &body(i),
                ),
                None,
            )
            .await
            .map(|_| ()),
        Op::ConditionalUpdate => table
            .update(
                &Key::new(format!("CTR#{}", i % COUNTERS), "C"),
                Update::new().add("n", 1).set("by", "bench"),
                Some(Condition::item_present().and(Condition::Ge("n".into(), Value::N(0)))),
            )
            .await
            .map(|_| ()),
        Op::Get => table
            .get(&Key::new(format!("CTR#{}", i % COUNTERS), "C"))
            .await
            .map(|got| assert!(got.is_some())),
        Op::Query => table
            .query(Query::table(format!("Q#{}", i % PARTITIONS)).limit(10))
            .await
            .map(|page| assert_eq!(page.items.len(), 10)),
        Op::Transact => {
            table
                .transact(vec![
                    TxOp::Put {
                        item: item(&format!("TX#{run}#{}", i % 1000), &format!("{i}"), &body(i)),
                        condition: Some(Condition::item_absent()),
                    },
                    TxOp::Update {
                        key: Key::new(format!("CTR#{}", i % COUNTERS), "C"),
                        update: Update::new().add("tx", 1),
                        condition: Some(Condition::item_present()),
                    },
                ])
                .await
        }
    }
}

struct Measured {
    ops: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn measure(table: Arc<dyn Table>, op: Op, tasks: usize, run: usize) -> Measured {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + MAX_TIME;
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (table, next) = (table.clone(), next.clone());
            tokio::spawn(async move {
                let (mut lat, mut errors) = (Vec::new(), Vec::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= MAX_OPS || Instant::now() >= deadline {
                        return (lat, errors);
                    }
                    let t = Instant::now();
                    // Failed operations are counted, not timed: an emulator may fail under load.
                    match one(table.as_ref(), op, run, i).await {
                        Ok(()) => lat.push(t.elapsed()),
                        Err(e) => errors.push(e),
                    }
                }
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), Vec::new());
    for h in handles {
        let (l, e) = h.await.unwrap();
        latencies.extend(l);
        errors.extend(e);
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    Measured {
        ops: latencies.len(),
        errors: errors.len(),
        first_error: errors.first().map(|e| {
            let text = e.to_string();
            text.chars().take(120).collect()
        }),
        elapsed,
        latencies,
    }
}

fn pct(l: &[Duration], p: f64) -> f64 {
    if l.is_empty() {
        return 0.0;
    }
    let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
    l[i].as_secs_f64() * 1000.0
}

async fn seed(table: &dyn Table) {
    let mut pending = Vec::new();
    for c in 0..COUNTERS {
        pending.push(item(&format!("CTR#{c}"), "C", &[("n", Value::N(0))]));
    }
    for p in 0..PARTITIONS {
        for s in 0..PER_PARTITION {
            pending.push(item(&format!("Q#{p}"), &format!("{s:04}"), &body(s)));
        }
    }
    for chunk in pending.chunks(64) {
        futures::future::join_all(chunk.iter().map(|i| table.put(i.clone(), None)))
            .await
            .into_iter()
            .for_each(|r| r.unwrap());
    }
}

async fn bench(name: &str, table: Arc<dyn Table>) {
    seed(table.as_ref()).await;
    println!("\n{name}");
    println!(
        "{:<20} {:>5} {:>8} {:>11} {:>9} {:>9} {:>7}",
        "operation", "tasks", "ops", "ops/s", "p50 ms", "p99 ms", "errors"
    );
    let mut run = 0;
    for op in [
        Op::Put,
        Op::ConditionalUpdate,
        Op::Get,
        Op::Query,
        Op::Transact,
    ] {
        for tasks in [1, CONCURRENCY] {
            run += 1;
            let m = measure(table.clone(), op, tasks, run).await;
            println!(
                "{:<20} {:>5} {:>8} {:>11.0} {:>9.3} {:>9.3} {:>7}",
                format!("{op:?}"),
                tasks,
                m.ops,
                m.ops as f64 / m.elapsed.as_secs_f64(),
                pct(&m.latencies, 0.5),
                pct(&m.latencies, 0.99),
                m.errors,
            );
            if let Some(e) = m.first_error {
                println!("    first error: {e}");
            }
        }
    }
}

/// What one 4 KiB write plus fsync costs on this disk: the floor under a durable commit.
fn fsync_baseline(path: &std::path::Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let mut lat = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        f.write_all(&[7u8; 4096]).unwrap();
        f.sync_data().unwrap();
        lat.push(t.elapsed());
    }
    lat.sort_unstable();
    println!(
        "raw 4 KiB write + fdatasync on this disk: p50 {:.3} ms, p99 {:.3} ms",
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if wants("embedded") {
            let dir =
                std::env::temp_dir().join(format!("herald-table-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            fsync_baseline(&dir.join("fsync.probe"));
            let table = EmbeddedTable::open(dir.join("bench.redb")).unwrap();
            bench(
                "embedded (redb file, fsync per commit, group commit)",
                Arc::new(table),
            )
            .await;
            let _ = std::fs::remove_dir_all(&dir);
        }
        if wants("dynamo") {
            let endpoint = herald_testkit::moto_endpoint().await;
            let config = herald_testkit::aws_sdk_config(&endpoint).await;
            let client = aws_sdk_dynamodb::Client::new(&config);
            let name = format!("bench-{}", std::process::id());
            DynamoTable::create_table(&client, &name).await.unwrap();
            bench(
                "dynamo (moto server on loopback)",
                Arc::new(DynamoTable::new(client, name)),
            )
            .await;
        }
    });
}
