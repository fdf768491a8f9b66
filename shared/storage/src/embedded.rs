//! The embedded backend of the `Table` port: one redb file, durable on every acknowledged write.
//!
//! Writes go to one writer thread, which takes every request waiting, applies each in turn to
//! one write transaction (each sees the ones before it), commits once with an fsync, then
//! answers them all: group commit, so concurrent writers share the cost of the fsync. Reads are
//! redb read transactions (MVCC snapshots) on the blocking pool; a write is answered only after
//! its commit, so every read begun afterwards sees it.
//!
//! Layout: `items` maps `pk NUL sk` to the encoded item; `gsi1` / `gsi2` map
//! `gsipk NUL gsisk NUL pk NUL sk` to nothing (sparse: only items with both attributes); `ttl`
//! maps `expiry NUL-free key` to nothing, so expired items are found without a scan.

use crate::codec;
use async_trait::async_trait;
use herald_ports::table::{PK, SK, TTL};
use herald_ports::{
    Condition, Item, Key, Page, Query, SortCondition, Table, TableError, TxOp, Update, Value,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
const GSI1: TableDefinition<&[u8], ()> = TableDefinition::new("gsi1");
const GSI2: TableDefinition<&[u8], ()> = TableDefinition::new("gsi2");
const TTL_INDEX: TableDefinition<&[u8], ()> = TableDefinition::new("ttl");

/// The secondary indexes: name, partition-key attribute, sort-key attribute.
const INDEXES: [(&str, &str, &str); 2] =
    [("gsi1", "gsi1pk", "gsi1sk"), ("gsi2", "gsi2pk", "gsi2sk")];

/// DynamoDB's item size limit; the encoded size here is close to DynamoDB's own count.
const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's limit on the operations of one transaction.
const MAX_TX_OPS: usize = 100;
/// Requests applied in one commit at most, so one huge burst does not delay its first answers.
const MAX_BATCH: usize = 512;

/// A `Table` stored in one redb database file (or in memory, for tests).
#[derive(Clone)]
pub struct EmbeddedTable {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Database>,
    writer: Mutex<Option<mpsc::Sender<Request>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel stops the writer; joining it releases the file before we return,
        // so the same path can be opened again at once.
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

enum WriteOp {
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    Update {
        key: Key,
        update: Update,
        condition: Option<Condition>,
    },
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    Transact(Vec<TxOp>),
    Purge {
        now: i64,
    },
}

enum Outcome {
    Done,
    Item(Item),
    Old(Option<Item>),
    Purged(usize),
}

struct Request {
    op: WriteOp,
    reply: oneshot::Sender<Result<Outcome, TableError>>,
}

fn storage<E: Into<redb::Error>>(e: E) -> TableError {
    TableError::Unavailable(format!("embedded store: {}", e.into()))
}

fn corrupt(e: String) -> TableError {
    TableError::Unavailable(format!("embedded store: corrupt data: {e}"))
}

impl EmbeddedTable {
    /// Opens (or creates) the database file at `path`.
    /// Opens (or creates) the store at `path`, readable by its owner only (0600): it holds
    /// key hashes and sealed credentials.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, TableError> {
        let db = Database::create(path.as_ref()).map_err(storage)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path.as_ref(), std::fs::Permissions::from_mode(0o600))
                .map_err(|e| {
                    TableError::Unavailable(format!("cannot make the store private: {e}"))
                })?;
        }
        Self::start(db)
    }

    /// A table held in memory only: for tests and throwaway runs.
    pub fn in_memory() -> Result<Self, TableError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(storage)?;
        Self::start(db)
    }

    fn start(db: Database) -> Result<Self, TableError> {
        // Create every table up front so readers never meet a missing one.
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(ITEMS).map_err(storage)?;
        txn.open_table(GSI1).map_err(storage)?;
        txn.open_table(GSI2).map_err(storage)?;
        txn.open_table(TTL_INDEX).map_err(storage)?;
        txn.commit().map_err(storage)?;

        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel();
        let writer_db = db.clone();
        let thread = std::thread::Builder::new()
            .name("herald-table-writer".into())
            .spawn(move || writer_loop(&writer_db, &rx))
            .map_err(|e| TableError::Unavailable(format!("cannot start writer: {e}")))?;
        Ok(EmbeddedTable {
            inner: Arc::new(Inner {
                db,
                writer: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// Deletes every item whose `ttl` attribute (epoch seconds) is before `now_epoch_seconds`,
    /// found through the ttl index. Returns how many were deleted.
    pub async fn purge_expired(&self, now_epoch_seconds: i64) -> Result<usize, TableError> {
        match self
            .write(WriteOp::Purge {
                now: now_epoch_seconds,
            })
            .await?
        {
            Outcome::Purged(n) => Ok(n),
            _ => Err(unexpected()),
        }
    }

    async fn write(&self, op: WriteOp) -> Result<Outcome, TableError> {
        let (reply, answer) = oneshot::channel();
        {
            let writer = self.inner.writer.lock().map_err(|_| writer_gone())?;
            writer
                .as_ref()
                .ok_or_else(writer_gone)?
                .send(Request { op, reply })
                .map_err(|_| writer_gone())?;
        }
        answer.await.map_err(|_| writer_gone())?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, TableError> + Send + 'static,
    ) -> Result<T, TableError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner.db))
            .await
            .map_err(|e| TableError::Unavailable(format!("read task failed: {e}")))?
    }
}

fn writer_gone() -> TableError {
    TableError::Unavailable("embedded store writer stopped".into())
}

fn unexpected() -> TableError {
    TableError::Unavailable("embedded store: unexpected answer".into())
}

#[async_trait]
impl Table for EmbeddedTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        check_key(key)?;
        let key = key.clone();
        self.read(move |db| {
            let txn = db.begin_read().map_err(storage)?;
            let items = txn.open_table(ITEMS).map_err(storage)?;
            load(&items, &key)
        })
        .await
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
        let key = Key::of(&item)
            .ok_or_else(|| TableError::Invalid("an item needs string pk and sk".into()))?;
        check_key(&key)?;
        self.write(WriteOp::Put { item, condition })
            .await
            .map(|_| ())
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError> {
        check_key(key)?;
        check_update(&update)?;
        match self
            .write(WriteOp::Update {
                key: key.clone(),
                update,
                condition,
            })
            .await?
        {
            Outcome::Item(item) => Ok(item),
            _ => Err(unexpected()),
        }
    }

    async fn delete(
        &self,
        key: &Key,
        condition: Option<Condition>,
    ) -> Result<Option<Item>, TableError> {
        check_key(key)?;
        match self
            .write(WriteOp::Delete {
                key: key.clone(),
                condition,
            })
            .await?
        {
            Outcome::Old(old) => Ok(old),
            _ => Err(unexpected()),
        }
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        let plan = QueryPlan::new(&query)?;
        self.read(move |db| run_query(&db.begin_read().map_err(storage)?, &plan))
            .await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        check_transaction(&ops)?;
        self.write(WriteOp::Transact(ops)).await.map(|_| ())
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        for k in keys {
            check_key(k)?;
        }
        let keys = keys.to_vec();
        self.read(move |db| {
            let txn = db.begin_read().map_err(storage)?;
            let items = txn.open_table(ITEMS).map_err(storage)?;
            let mut out = Vec::with_capacity(keys.len());
            for k in &keys {
                if let Some(item) = load(&items, k)? {
                    out.push(item);
                }
            }
            Ok(out)
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Validation, shared by both paths so bad requests never reach the writer.

fn check_key_part(what: &str, s: &str) -> Result<(), TableError> {
    if s.is_empty() {
        return Err(TableError::Invalid(format!("{what} may not be empty")));
    }
    if s.as_bytes().contains(&0) {
        return Err(TableError::Invalid(format!("{what} may not contain NUL")));
    }
    if s.len() > 1024 {
        return Err(TableError::Invalid(format!(
            "{what} longer than 1024 bytes"
        )));
    }
    Ok(())
}

fn check_key(key: &Key) -> Result<(), TableError> {
    check_key_part("pk", &key.pk)?;
    check_key_part("sk", &key.sk)
}

fn check_update(update: &Update) -> Result<(), TableError> {
    let mut seen = HashSet::new();
    let names = update
        .set
        .iter()
        .map(|(n, _)| n)
        .chain(update.remove.iter())
        .chain(update.add.iter().map(|(n, _)| n));
    for n in names {
        if n == PK || n == SK {
            return Err(TableError::Invalid(format!("an update may not change {n}")));
        }
        if !seen.insert(n.as_str()) {
            return Err(TableError::Invalid(format!(
                "attribute {n} appears twice in one update"
            )));
        }
    }
    Ok(())
}

fn check_transaction(ops: &[TxOp]) -> Result<(), TableError> {
    if ops.is_empty() || ops.len() > MAX_TX_OPS {
        return Err(TableError::Invalid(format!(
            "a transaction holds 1 to {MAX_TX_OPS} operations, not {}",
            ops.len()
        )));
    }
    let mut keys = HashSet::new();
    for op in ops {
        let key = match op {
            TxOp::Put { item, .. } => Key::of(item)
                .ok_or_else(|| TableError::Invalid("an item needs string pk and sk".into()))?,
            TxOp::Update { key, update, .. } => {
                check_update(update)?;
                key.clone()
            }
            TxOp::Delete { key, .. } | TxOp::Check { key, .. } => key.clone(),
        };
        check_key(&key)?;
        if !keys.insert(key) {
            return Err(TableError::Invalid(
                "a transaction may touch each item only once".into(),
            ));
        }
    }
    Ok(())
}

/// Checks an item about to be stored: index keys are non-empty strings, size within limits.
fn check_item(item: &Item, encoded_len: usize) -> Result<(), TableError> {
    for (_, ipk, isk) in INDEXES {
        for attr in [ipk, isk] {
            match item.get(attr) {
                None => {}
                Some(Value::S(s)) => check_key_part(attr, s)?,
                Some(_) => {
                    return Err(TableError::Invalid(format!("{attr} must be a string")));
                }
            }
        }
    }
    if encoded_len > MAX_ITEM_BYTES {
        return Err(TableError::Invalid(format!(
            "item of {encoded_len} bytes is over the {MAX_ITEM_BYTES}-byte limit"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reads.

fn load(
    items: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &Key,
) -> Result<Option<Item>, TableError> {
    let k = codec::table_key(key);
    match items.get(k.as_slice()).map_err(storage)? {
        None => Ok(None),
        Some(bytes) => codec::decode_item(key, bytes.value())
            .map(Some)
            .map_err(corrupt),
    }
}

struct QueryPlan {
    /// None: the table; Some(0): gsi1; Some(1): gsi2.
    index: Option<usize>,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    forward: bool,
    limit: Option<usize>,
}

impl QueryPlan {
    fn new(q: &Query) -> Result<Self, TableError> {
        let index = match q.index.as_deref() {
            None => None,
            Some(name) => Some(
                INDEXES
                    .iter()
                    .position(|(n, _, _)| *n == name)
                    .ok_or_else(|| TableError::Invalid(format!("no index named {name}")))?,
            ),
        };
        check_key_part("query partition key", &q.pk)?;
        if q.limit == Some(0) {
            return Err(TableError::Invalid(
                "a query limit must be at least 1".into(),
            ));
        }
        // Everything in the partition lies in [pk NUL, pk \x01): no key byte is NUL.
        let mut part = q.pk.as_bytes().to_vec();
        part.push(0);
        let with = |s: &str| {
            let mut k = part.clone();
            k.extend_from_slice(s.as_bytes());
            k
        };
        let mut part_end = q.pk.as_bytes().to_vec();
        part_end.push(1);
        use Bound::*;
        // Index keys carry the table key after the sort key, so a bound on the sort key alone
        // must cover every entry that starts with it (`sk NUL ...`).
        let is_index = index.is_some();
        let at_most = |s: &str| {
            if is_index {
                let mut k = with(s);
                k.push(1);
                Excluded(k)
            } else {
                Included(with(s))
            }
        };
        let at_least = |s: &str| Included(with(s));
        let above = |s: &str| {
            if is_index {
                let mut k = with(s);
                k.push(1);
                Included(k)
            } else {
                Excluded(with(s))
            }
        };
        let below = |s: &str| Excluded(with(s));
        let (lower, upper) = match &q.sk {
            None => (Included(part.clone()), Excluded(part_end.clone())),
            Some(SortCondition::Eq(v)) => (at_least(v), at_most(v)),
            Some(SortCondition::BeginsWith(p)) => (
                at_least(p),
                match codec::prefix_end(&with(p)) {
                    Some(end) => Excluded(end),
                    None => Excluded(part_end.clone()),
                },
            ),
            Some(SortCondition::Between(a, b)) => {
                if a.as_bytes() > b.as_bytes() {
                    return Err(TableError::Invalid(
                        "BETWEEN needs its lower bound first".into(),
                    ));
                }
                (at_least(a), at_most(b))
            }
            Some(SortCondition::Lt(v)) => (Included(part.clone()), below(v)),
            Some(SortCondition::Le(v)) => (Included(part.clone()), at_most(v)),
            Some(SortCondition::Gt(v)) => (above(v), Excluded(part_end.clone())),
            Some(SortCondition::Ge(v)) => (at_least(v), Excluded(part_end.clone())),
        };
        let mut plan = QueryPlan {
            index,
            lower,
            upper,
            forward: q.forward,
            limit: q.limit,
        };
        if let Some(start) = &q.start_after {
            let start = start_key(start, index)?;
            if q.forward {
                plan.lower = Excluded(start);
            } else {
                plan.upper = Excluded(start);
            }
        }
        Ok(plan)
    }
}

/// The stored key of the item a page ended on, from the page's `next`.
fn start_key(next: &Item, index: Option<usize>) -> Result<Vec<u8>, TableError> {
    let s = |name: &str| {
        next.get(name)
            .and_then(Value::as_s)
            .ok_or_else(|| TableError::Invalid(format!("start_after lacks {name}")))
    };
    Ok(match index {
        None => codec::join(&[s(PK)?, s(SK)?]),
        Some(i) => {
            let (_, ipk, isk) = INDEXES[i];
            codec::join(&[s(ipk)?, s(isk)?, s(PK)?, s(SK)?])
        }
    })
}

/// The key attributes a page's `next` holds: the table key, and the index key on an index.
fn next_of(item: &Item, index: Option<usize>) -> Item {
    let mut names = vec![PK, SK];
    if let Some(i) = index {
        let (_, ipk, isk) = INDEXES[i];
        names.extend([ipk, isk]);
    }
    names
        .into_iter()
        .filter_map(|n| item.get(n).map(|v| (n.to_owned(), v.clone())))
        .collect()
}

/// One entry of a range over a table keyed by bytes.
type Entry<'a, V> = Result<
    (
        redb::AccessGuard<'a, &'static [u8]>,
        redb::AccessGuard<'a, V>,
    ),
    redb::StorageError,
>;

fn run_query(txn: &redb::ReadTransaction, plan: &QueryPlan) -> Result<Page, TableError> {
    let bounds = (as_slice_bound(&plan.lower), as_slice_bound(&plan.upper));
    if is_empty_range(&bounds) {
        return Ok(Page::default());
    }
    let items = txn.open_table(ITEMS).map_err(storage)?;
    match plan.index {
        None => {
            let range = items.range::<&[u8]>(bounds).map_err(storage)?;
            let decode = |e: Entry<&[u8]>| {
                let (k, v) = e.map_err(storage)?;
                let key = codec::key_from_tail(k.value()).map_err(corrupt)?;
                codec::decode_item(&key, v.value()).map_err(corrupt)
            };
            if plan.forward {
                collect_page(range.map(decode), plan)
            } else {
                collect_page(range.rev().map(decode), plan)
            }
        }
        Some(i) => {
            let index = txn
                .open_table(if i == 0 { GSI1 } else { GSI2 })
                .map_err(storage)?;
            let range = index.range::<&[u8]>(bounds).map_err(storage)?;
            let fetch = |e: Entry<()>| {
                let (k, _) = e.map_err(storage)?;
                let key = codec::key_from_tail(k.value()).map_err(corrupt)?;
                load(&items, &key)?.ok_or_else(|| {
                    corrupt(format!(
                        "index entry for missing item {}/{}",
                        key.pk, key.sk
                    ))
                })
            };
            if plan.forward {
                collect_page(range.map(fetch), plan)
            } else {
                collect_page(range.rev().map(fetch), plan)
            }
        }
    }
}

fn collect_page(
    mut entries: impl Iterator<Item = Result<Item, TableError>>,
    plan: &QueryPlan,
) -> Result<Page, TableError> {
    let limit = plan.limit.unwrap_or(usize::MAX);
    let mut page = Page::default();
    for item in entries.by_ref() {
        page.items.push(item?);
        if page.items.len() == limit {
            break;
        }
    }
    // `next` only when something follows, so callers stop without an extra empty page.
    if page.items.len() == limit && entries.next().is_some() {
        page.next = page.items.last().map(|i| next_of(i, plan.index));
    }
    Ok(page)
}

fn as_slice_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// redb panics on a range whose start is above its end: answer such ranges with nothing.
fn is_empty_range(b: &(Bound<&[u8]>, Bound<&[u8]>)) -> bool {
    use Bound::*;
    match b {
        (Included(l), Included(u)) => l > u,
        (Included(l), Excluded(u)) | (Excluded(l), Included(u)) | (Excluded(l), Excluded(u)) => {
            l >= u
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// The writer: group commit.

fn writer_loop(db: &Database, rx: &mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Blocks for the first request, then takes whatever else is already waiting.
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let answers = apply_batch(db, &batch);
        match answers {
            Ok(answers) => {
                for (req, answer) in batch.drain(..).zip(answers) {
                    let _ = req.reply.send(answer);
                }
            }
            Err(e) => {
                // Nothing of the batch was committed: every request gets the same error.
                for req in batch.drain(..) {
                    let _ = req.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

struct Tables<'t> {
    items: redb::Table<'t, &'static [u8], &'static [u8]>,
    gsi: [redb::Table<'t, &'static [u8], ()>; 2],
    ttl: redb::Table<'t, &'static [u8], ()>,
    buf: Vec<u8>,
}

/// Applies every request in order in one write transaction and commits it. Returns each
/// request's answer; an error means the whole transaction was dropped.
fn apply_batch(
    db: &Database,
    batch: &[Request],
) -> Result<Vec<Result<Outcome, TableError>>, TableError> {
    let txn = db.begin_write().map_err(storage)?;
    let answers = {
        let mut t = Tables {
            items: txn.open_table(ITEMS).map_err(storage)?,
            gsi: [
                txn.open_table(GSI1).map_err(storage)?,
                txn.open_table(GSI2).map_err(storage)?,
            ],
            ttl: txn.open_table(TTL_INDEX).map_err(storage)?,
            buf: Vec::with_capacity(256),
        };
        let mut answers = Vec::with_capacity(batch.len());
        for req in batch {
            answers.push(match apply(&mut t, &req.op) {
                Err(Fatal(e)) => return Err(e),
                Ok(answer) => answer,
            });
        }
        answers
    };
    txn.commit().map_err(storage)?;
    Ok(answers)
}

/// A storage failure in the middle of a batch: the transaction can no longer be trusted.
struct Fatal(TableError);

impl From<TableError> for Fatal {
    fn from(e: TableError) -> Self {
        Fatal(e)
    }
}

fn fatal<E: Into<redb::Error>>(e: E) -> Fatal {
    Fatal(storage(e))
}

/// Applies one request. The outer error aborts the batch; the inner one is this request's
/// answer, and a request that fails has written nothing.
fn apply(t: &mut Tables, op: &WriteOp) -> Result<Result<Outcome, TableError>, Fatal> {
    Ok(match op {
        WriteOp::Put { item, condition } => {
            // Checked before sending; refuse just this request if it ever slips through.
            let Some(key) = Key::of(item) else {
                return Ok(Err(no_key()));
            };
            let old = current(t, &key)?;
            if let Some(c) = condition
                && !c.holds(old.as_ref())
            {
                return Ok(Err(condition_failed(old)));
            }
            match store(t, &key, old.as_ref(), item)? {
                Ok(()) => Ok(Outcome::Done),
                Err(e) => Err(e),
            }
        }
        WriteOp::Update {
            key,
            update,
            condition,
        } => {
            let old = current(t, key)?;
            if let Some(c) = condition
                && !c.holds(old.as_ref())
            {
                return Ok(Err(condition_failed(old)));
            }
            let new = match updated(key, update, old.as_ref()) {
                Ok(new) => new,
                Err(e) => return Ok(Err(e)),
            };
            match store(t, key, old.as_ref(), &new)? {
                Ok(()) => Ok(Outcome::Item(new)),
                Err(e) => Err(e),
            }
        }
        WriteOp::Delete { key, condition } => {
            let old = current(t, key)?;
            if let Some(c) = condition
                && !c.holds(old.as_ref())
            {
                return Ok(Err(condition_failed(old)));
            }
            if let Some(old) = &old {
                unstore(t, key, old)?;
            }
            Ok(Outcome::Old(old))
        }
        WriteOp::Transact(ops) => transact(t, ops)?,
        WriteOp::Purge { now } => Ok(Outcome::Purged(purge(t, *now)?)),
    })
}

fn no_key() -> TableError {
    TableError::Invalid("an item needs string pk and sk".into())
}

fn condition_failed(old: Option<Item>) -> TableError {
    TableError::ConditionFailed {
        current: old.map(Box::new),
    }
}

fn updated(key: &Key, update: &Update, old: Option<&Item>) -> Result<Item, TableError> {
    // ADD to something that is not a number is refused, as DynamoDB does.
    for (n, _) in &update.add {
        if let Some(v) = old.and_then(|o| o.get(n))
            && !matches!(v, Value::N(_))
        {
            return Err(TableError::Invalid(format!(
                "ADD needs a number, and {n} is not one"
            )));
        }
    }
    for (n, by) in &update.add {
        let now = old
            .and_then(|o| o.get(n))
            .and_then(Value::as_n)
            .unwrap_or(0);
        if now.checked_add(*by).is_none() {
            return Err(TableError::Invalid(format!("ADD to {n} overflows")));
        }
    }
    Ok(update.apply(key, old.cloned()))
}

fn transact(t: &mut Tables, ops: &[TxOp]) -> Result<Result<Outcome, TableError>, Fatal> {
    // First every check against the state before the transaction; then, only if all hold,
    // every write. Ops touch distinct items, so the order of the writes does not matter.
    let mut olds = Vec::with_capacity(ops.len());
    let mut failed = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let (key, condition) = match op {
            TxOp::Put { item, condition } => match Key::of(item) {
                Some(key) => (key, condition.as_ref()),
                None => return Ok(Err(no_key())),
            },
            TxOp::Update { key, condition, .. } | TxOp::Delete { key, condition } => {
                (key.clone(), condition.as_ref())
            }
            TxOp::Check { key, condition } => (key.clone(), Some(condition)),
        };
        let old = current(t, &key)?;
        if condition.is_some_and(|c| !c.holds(old.as_ref())) {
            failed.push(i);
        }
        olds.push((key, old));
    }
    if !failed.is_empty() {
        return Ok(Err(TableError::TransactionCancelled { failed }));
    }
    // Compute every new item before writing any, so a refused one leaves nothing half done.
    let mut news = Vec::with_capacity(ops.len());
    for (op, (key, old)) in ops.iter().zip(&olds) {
        news.push(match op {
            TxOp::Put { item, .. } => Some(item.clone()),
            TxOp::Update { update, .. } => match updated(key, update, old.as_ref()) {
                Ok(new) => Some(new),
                Err(e) => return Ok(Err(e)),
            },
            TxOp::Delete { .. } | TxOp::Check { .. } => None,
        });
    }
    for item in news.iter().flatten() {
        t.buf.clear();
        codec::encode_item(item, &mut t.buf);
        if let Err(e) = check_item(item, t.buf.len()) {
            return Ok(Err(e));
        }
    }
    for ((op, (key, old)), new) in ops.iter().zip(&olds).zip(&news) {
        match (op, new) {
            (_, Some(new)) => {
                if let Err(e) = store(t, key, old.as_ref(), new)? {
                    // Checked just above: reaching this would be a bug, and the batch is
                    // dropped rather than half applied.
                    return Err(Fatal(e));
                }
            }
            (TxOp::Delete { .. }, None) => {
                if let Some(old) = old {
                    unstore(t, key, old)?;
                }
            }
            _ => {}
        }
    }
    Ok(Ok(Outcome::Done))
}

fn current(t: &Tables, key: &Key) -> Result<Option<Item>, Fatal> {
    Ok(load(&t.items, key)?)
}

fn index_entry(item: &Item, i: usize, key: &Key) -> Option<Vec<u8>> {
    let (_, ipk, isk) = INDEXES[i];
    let gpk = item.get(ipk)?.as_s()?;
    let gsk = item.get(isk)?.as_s()?;
    Some(codec::join(&[gpk, gsk, &key.pk, &key.sk]))
}

fn ttl_entry(item: &Item, key: &Key) -> Option<Vec<u8>> {
    item.get(TTL)?.as_n().map(|ttl| codec::ttl_key(ttl, key))
}

/// Writes `new` in place of `old`, keeping the indexes in step. The inner error refuses the
/// item (nothing written).
fn store(
    t: &mut Tables,
    key: &Key,
    old: Option<&Item>,
    new: &Item,
) -> Result<Result<(), TableError>, Fatal> {
    let mut buf = std::mem::take(&mut t.buf);
    buf.clear();
    codec::encode_item(new, &mut buf);
    if let Err(e) = check_item(new, buf.len()) {
        t.buf = buf;
        return Ok(Err(e));
    }
    let k = codec::table_key(key);
    t.items
        .insert(k.as_slice(), buf.as_slice())
        .map_err(fatal)?;
    t.buf = buf;
    for i in 0..INDEXES.len() {
        let before = old.and_then(|o| index_entry(o, i, key));
        let after = index_entry(new, i, key);
        if before != after {
            if let Some(b) = before {
                t.gsi[i].remove(b.as_slice()).map_err(fatal)?;
            }
            if let Some(a) = after {
                t.gsi[i].insert(a.as_slice(), ()).map_err(fatal)?;
            }
        }
    }
    let before = old.and_then(|o| ttl_entry(o, key));
    let after = ttl_entry(new, key);
    if before != after {
        if let Some(b) = before {
            t.ttl.remove(b.as_slice()).map_err(fatal)?;
        }
        if let Some(a) = after {
            t.ttl.insert(a.as_slice(), ()).map_err(fatal)?;
        }
    }
    Ok(Ok(()))
}

fn unstore(t: &mut Tables, key: &Key, old: &Item) -> Result<(), Fatal> {
    t.items
        .remove(codec::table_key(key).as_slice())
        .map_err(fatal)?;
    for i in 0..INDEXES.len() {
        if let Some(e) = index_entry(old, i, key) {
            t.gsi[i].remove(e.as_slice()).map_err(fatal)?;
        }
    }
    if let Some(e) = ttl_entry(old, key) {
        t.ttl.remove(e.as_slice()).map_err(fatal)?;
    }
    Ok(())
}

fn purge(t: &mut Tables, now: i64) -> Result<usize, Fatal> {
    let bound = codec::ttl_bound(now);
    let mut expired = Vec::new();
    for entry in t.ttl.range::<&[u8]>(..bound.as_slice()).map_err(fatal)? {
        let (k, _) = entry.map_err(fatal)?;
        let key = codec::key_from_tail(&k.value()[8..]).map_err(|e| Fatal(corrupt(e)))?;
        expired.push(key);
    }
    let mut n = 0;
    for key in expired {
        if let Some(old) = current(t, &key)? {
            unstore(t, &key, &old)?;
            n += 1;
        }
    }
    Ok(n)
}
