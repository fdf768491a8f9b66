//! A keyed table with DynamoDB's semantics: items of named attributes under a partition key
//! (`pk`) and sort key (`sk`), conditional writes, all-or-nothing transactions, key-range queries
//! on the table and on two secondary indexes, atomic counters and TTL.
//!
//! Secondary indexes are sparse: an item appears in index `gsi1` only if it has both `gsi1pk`
//! and `gsi1sk` (strings), likewise `gsi2`. Items whose `ttl` attribute (epoch seconds) is in the
//! past are removed by the backend eventually, as DynamoDB does; readers that care check it.

use async_trait::async_trait;
use std::collections::BTreeMap;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const TTL: &str = "ttl";

/// An attribute value. Numbers are integers: Herald keeps times as epoch milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    S(String),
    N(i64),
    B(Vec<u8>),
    Bool(bool),
    Null,
    L(Vec<Value>),
    M(BTreeMap<String, Value>),
}

impl Value {
    pub fn as_s(&self) -> Option<&str> {
        match self {
            Value::S(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_n(&self) -> Option<i64> {
        match self {
            Value::N(n) => Some(*n),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::S(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::S(s)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::N(n)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// An item: attribute name to value. It always holds `pk` and `sk` when stored.
pub type Item = BTreeMap<String, Value>;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// A fresh item holding just this key.
    pub fn item(&self) -> Item {
        let mut item = Item::new();
        item.insert(PK.into(), Value::S(self.pk.clone()));
        item.insert(SK.into(), Value::S(self.sk.clone()));
        item
    }

    pub fn of(item: &Item) -> Option<Key> {
        Some(Key::new(item.get(PK)?.as_s()?, item.get(SK)?.as_s()?))
    }
}

/// A condition on the item currently stored under a key (absent items have no attributes).
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Exists(String),
    NotExists(String),
    Eq(String, Value),
    Ne(String, Value),
    Lt(String, Value),
    Le(String, Value),
    Gt(String, Value),
    Ge(String, Value),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// The usual guard for creating an item: nothing is stored under its key yet.
    pub fn item_absent() -> Condition {
        Condition::NotExists(PK.into())
    }
    pub fn item_present() -> Condition {
        Condition::Exists(PK.into())
    }
    pub fn eq(name: &str, v: impl Into<Value>) -> Condition {
        Condition::Eq(name.into(), v.into())
    }
    pub fn and(self, other: Condition) -> Condition {
        match self {
            Condition::And(mut all) => {
                all.push(other);
                Condition::And(all)
            }
            first => Condition::And(vec![first, other]),
        }
    }
    pub fn or(self, other: Condition) -> Condition {
        match self {
            Condition::Or(mut any) => {
                any.push(other);
                Condition::Or(any)
            }
            first => Condition::Or(vec![first, other]),
        }
    }

    /// Evaluates the condition against the stored item (None: nothing stored). Comparisons of
    /// different types, or with a missing attribute, are false, as in DynamoDB.
    pub fn holds(&self, item: Option<&Item>) -> bool {
        let get = |name: &str| item.and_then(|i| i.get(name));
        let cmp = |name: &str, v: &Value| -> Option<std::cmp::Ordering> {
            match (get(name)?, v) {
                (Value::S(a), Value::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
                (Value::N(a), Value::N(b)) => Some(a.cmp(b)),
                (Value::B(a), Value::B(b)) => Some(a.cmp(b)),
                _ => None,
            }
        };
        use std::cmp::Ordering::*;
        match self {
            Condition::Exists(n) => get(n).is_some(),
            Condition::NotExists(n) => get(n).is_none(),
            Condition::Eq(n, v) => get(n) == Some(v),
            Condition::Ne(n, v) => get(n) != Some(v),
            Condition::Lt(n, v) => cmp(n, v) == Some(Less),
            Condition::Le(n, v) => matches!(cmp(n, v), Some(Less | Equal)),
            Condition::Gt(n, v) => cmp(n, v) == Some(Greater),
            Condition::Ge(n, v) => matches!(cmp(n, v), Some(Greater | Equal)),
            Condition::And(all) => all.iter().all(|c| c.holds(item)),
            Condition::Or(any) => any.iter().any(|c| c.holds(item)),
            Condition::Not(c) => !c.holds(item),
        }
    }
}

/// Changes to one item's attributes, applied together. Updating an absent item creates it
/// (with its key), as DynamoDB's UpdateItem does; guard with a condition where that is wrong.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Update {
    pub set: Vec<(String, Value)>,
    pub remove: Vec<String>,
    /// Atomic counters: add to a number attribute (absent counts as 0).
    pub add: Vec<(String, i64)>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(mut self, name: &str, v: impl Into<Value>) -> Self {
        self.set.push((name.into(), v.into()));
        self
    }
    pub fn remove(mut self, name: &str) -> Self {
        self.remove.push(name.into());
        self
    }
    pub fn add(mut self, name: &str, n: i64) -> Self {
        self.add.push((name.into(), n));
        self
    }

    /// Applies the changes to a stored item (or a fresh one holding only the key).
    pub fn apply(&self, key: &Key, current: Option<Item>) -> Item {
        let mut item = current.unwrap_or_else(|| key.item());
        for (n, v) in &self.set {
            item.insert(n.clone(), v.clone());
        }
        for n in &self.remove {
            item.remove(n);
        }
        for (n, by) in &self.add {
            let now = item.get(n).and_then(Value::as_n).unwrap_or(0);
            item.insert(n.clone(), Value::N(now + by));
        }
        item
    }
}

/// The sort-key part of a query.
#[derive(Clone, Debug, PartialEq)]
pub enum SortCondition {
    Eq(String),
    BeginsWith(String),
    /// Inclusive at both ends, as DynamoDB's BETWEEN.
    Between(String, String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
}

impl SortCondition {
    pub fn matches(&self, sk: &str) -> bool {
        let sk = sk.as_bytes();
        match self {
            SortCondition::Eq(v) => sk == v.as_bytes(),
            SortCondition::BeginsWith(v) => sk.starts_with(v.as_bytes()),
            SortCondition::Between(a, b) => sk >= a.as_bytes() && sk <= b.as_bytes(),
            SortCondition::Lt(v) => sk < v.as_bytes(),
            SortCondition::Le(v) => sk <= v.as_bytes(),
            SortCondition::Gt(v) => sk > v.as_bytes(),
            SortCondition::Ge(v) => sk >= v.as_bytes(),
        }
    }
}

/// A key-range query within one partition of the table or of an index.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// None: the table; Some("gsi1") or Some("gsi2"): that index.
    pub index: Option<String>,
    pub pk: String,
    pub sk: Option<SortCondition>,
    /// Ascending sort-key order when true.
    pub forward: bool,
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub start_after: Option<Item>,
    /// Strongly consistent read (the table only; indexes are eventually consistent).
    pub consistent: bool,
}

impl Query {
    pub fn table(pk: impl Into<String>) -> Self {
        Query {
            index: None,
            pk: pk.into(),
            sk: None,
            forward: true,
            limit: None,
            start_after: None,
            consistent: true,
        }
    }
    pub fn index(index: &str, pk: impl Into<String>) -> Self {
        Query {
            index: Some(index.into()),
            consistent: false,
            ..Query::table(pk)
        }
    }
    pub fn sk(mut self, c: SortCondition) -> Self {
        self.sk = Some(c);
        self
    }
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }
}

/// One page of a query. `next` is set when more items may follow.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<Item>,
}

/// One write of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum TxOp {
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
    Check {
        key: Key,
        condition: Condition,
    },
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TableError {
    /// A write's condition did not hold. `current` is the stored item, when the backend said.
    #[error("condition failed")]
    ConditionFailed { current: Option<Box<Item>> },
    /// A transaction was refused: `failed` lists the positions of ops whose condition failed
    /// (empty when it was refused for a conflict with another transaction).
    #[error("transaction cancelled (failed ops: {failed:?})")]
    TransactionCancelled { failed: Vec<usize> },
    /// The backend asked us to slow down; retrying later is safe.
    #[error("throttled")]
    Throttled,
    /// The request was not valid for the table (an item without keys, too large, ...).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The backend could not be reached or failed; the write may or may not have happened.
    #[error("table unavailable: {0}")]
    Unavailable(String),
}

impl TableError {
    pub fn is_condition_failed(&self) -> bool {
        matches!(self, TableError::ConditionFailed { .. })
    }
}

#[async_trait]
pub trait Table: Send + Sync + 'static {
    /// A strongly consistent read of one item.
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError>;

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError>;

    /// Applies `update` and returns the item as it now is.
    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError>;

    /// Deletes and returns what was there.
    async fn delete(
        &self,
        key: &Key,
        condition: Option<Condition>,
    ) -> Result<Option<Item>, TableError>;

    async fn query(&self, query: Query) -> Result<Page, TableError>;

    /// All of `ops` or none (at most 100, each on a different item, as DynamoDB allows).
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError>;

    /// Reads many items at once; missing ones are left out. Order is not kept.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(item) = self.get(k).await? {
                out.push(item);
            }
        }
        Ok(out)
    }

    /// Every page of a query, concatenated.
    async fn query_all(&self, query: Query) -> Result<Vec<Item>, TableError> {
        let mut query = query;
        let mut out = Vec::new();
        loop {
            let page = self.query(query.clone()).await?;
            out.extend(page.items);
            match page.next {
                Some(next) if query.limit.is_none_or(|l| out.len() < l) => {
                    query.start_after = Some(next)
                }
                _ => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_on_absent_items_hold_only_for_absence() {
        let c = Condition::item_absent();
        assert!(c.holds(None));
        let item = Key::new("a", "b").item();
        assert!(!c.holds(Some(&item)));
        assert!(!Condition::eq("x", 1).holds(None));
        assert!(Condition::Ne("x".into(), Value::N(1)).holds(None));
    }

    #[test]
    fn comparisons_across_types_are_false() {
        let mut item = Key::new("a", "b").item();
        item.insert("n".into(), Value::N(5));
        assert!(Condition::Lt("n".into(), Value::N(6)).holds(Some(&item)));
        assert!(!Condition::Lt("n".into(), Value::S("6".into())).holds(Some(&item)));
    }

    #[test]
    fn updates_add_to_absent_counters_from_zero() {
        let k = Key::new("a", "b");
        let item = Update::new().add("n", 3).set("s", "x").apply(&k, None);
        assert_eq!(item.get("n"), Some(&Value::N(3)));
        assert_eq!(Key::of(&item), Some(k));
    }
}
