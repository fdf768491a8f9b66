//! Fixtures: fresh tables of each backend and throwaway directories.

use herald_ports::{Item, Key, Value};
use herald_storage::{DynamoTable, EmbeddedTable};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(unique("herald-storage-test"));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A file-backed embedded table (the durable configuration, as deployed locally).
pub fn embedded() -> (EmbeddedTable, TempDir) {
    let dir = TempDir::new();
    let table = EmbeddedTable::open(dir.path("table.redb")).expect("open embedded table");
    (table, dir)
}

/// A DynamoDB table of its own on the shared moto server, so tests can run in parallel.
pub async fn dynamo(test: &str) -> DynamoTable {
    let endpoint = herald_testkit::moto_endpoint().await;
    let config = herald_testkit::aws_sdk_config(&endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let name = unique(test).replace('_', "-");
    DynamoTable::create_table(&client, &name)
        .await
        .expect("create table on moto");
    DynamoTable::new(client, name)
}

pub fn item(pk: &str, sk: &str, attrs: &[(&str, Value)]) -> Item {
    let mut item = Key::new(pk, sk).item();
    for (n, v) in attrs {
        item.insert((*n).to_owned(), v.clone());
    }
    item
}

pub fn s(v: &str) -> Value {
    Value::S(v.to_owned())
}

/// The sort keys of items, in order.
pub fn sks(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| i.get("sk").and_then(Value::as_s).unwrap_or("?").to_owned())
        .collect()
}
