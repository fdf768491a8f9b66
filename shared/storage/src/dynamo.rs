//! The DynamoDB backend of the `Table` port, through the AWS SDK.
//!
//! Conditions and updates become expressions with `#n` / `:v` placeholders (so no attribute
//! name can clash with a reserved word); failed conditions return the stored item
//! (`ReturnValuesOnConditionCheckFailure = ALL_OLD`), so callers see why without a second read.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TransactWriteItem,
};
use herald_ports::table::{PK, SK, TTL};
use herald_ports::{
    Condition, Item, Key, Page, Query, SortCondition, Table, TableError, TxOp, Update, Value,
};
use std::collections::HashMap;

type Av = HashMap<String, AttributeValue>;

/// The secondary indexes: name, partition-key attribute, sort-key attribute.
const INDEXES: [(&str, &str, &str); 2] =
    [("gsi1", "gsi1pk", "gsi1sk"), ("gsi2", "gsi2pk", "gsi2sk")];

/// BatchGetItem takes at most this many keys per call.
const BATCH_GET_MAX: usize = 100;

#[derive(Clone, Debug)]
pub struct DynamoTable {
    client: Client,
    table: String,
}

impl DynamoTable {
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        DynamoTable {
            client,
            table: table_name.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Creates Herald's table (pk/sk strings, the sparse indexes gsi1 and gsi2 projecting
    /// everything, on-demand billing, TTL on `ttl`) and waits until it is active. A table that
    /// already exists is left as it is.
    pub async fn create_table(client: &Client, name: &str) -> Result<(), TableError> {
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_error)
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .map_err(build_error)
        };
        let mut request = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PK)?)
            .attribute_definitions(attr(SK)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?);
        for (index, ipk, isk) in INDEXES {
            request = request
                .attribute_definitions(attr(ipk)?)
                .attribute_definitions(attr(isk)?)
                .global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name(index)
                        .key_schema(key(ipk, KeyType::Hash)?)
                        .key_schema(key(isk, KeyType::Range)?)
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::All)
                                .build(),
                        )
                        .build()
                        .map_err(build_error)?,
                );
        }
        match request.send().await {
            Ok(_) => {}
            Err(e) if code_of(&e) == Some("ResourceInUseException") => return Ok(()),
            Err(e) => return Err(service_error(&e)),
        }
        // A new table takes a while to become usable on AWS (at once on emulators).
        for _ in 0..120 {
            let described = client
                .describe_table()
                .table_name(name)
                .send()
                .await
                .map_err(|e| service_error(&e))?;
            let status = described.table().and_then(|t| t.table_status());
            if status == Some(&TableStatus::Active) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        // TTL is housekeeping: an emulator that lacks it must not stop the table being used.
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(TTL)
            .build()
            .map_err(build_error)?;
        if let Err(e) = client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(ttl)
            .send()
            .await
        {
            tracing::warn!(table = name, error = %service_error(&e), "could not enable TTL");
        }
        Ok(())
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_av(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| service_error(&e))?;
        out.item.map(from_map).transpose()
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
        let mut x = Expr::default();
        let cond = condition.as_ref().map(|c| x.condition(c));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_map(&item)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(x.names())
            .set_expression_attribute_values(x.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    condition_failed(c.item())?
                }
                _ => service_error(&e),
            }),
        }
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError> {
        let mut x = Expr::default();
        let expr = x.update(&update);
        let cond = condition.as_ref().map(|c| x.condition(c));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_av(key)))
            .set_update_expression(expr)
            .set_condition_expression(cond)
            .set_expression_attribute_names(x.names())
            .set_expression_attribute_values(x.values())
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes {
                Some(attrs) if !attrs.is_empty() => from_map(attrs),
                // An update that changes nothing on a new item still stores its key.
                _ => Ok(key.item()),
            },
            Err(e) => Err(match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    condition_failed(c.item())?
                }
                _ => service_error(&e),
            }),
        }
    }

    async fn delete(
        &self,
        key: &Key,
        condition: Option<Condition>,
    ) -> Result<Option<Item>, TableError> {
        let mut x = Expr::default();
        let cond = condition.as_ref().map(|c| x.condition(c));
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_av(key)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(x.names())
            .set_expression_attribute_values(x.values())
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes {
                Some(attrs) if !attrs.is_empty() => from_map(attrs).map(Some),
                _ => Ok(None),
            },
            Err(e) => Err(match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(c)) => {
                    condition_failed(c.item())?
                }
                _ => service_error(&e),
            }),
        }
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        let (ipk, isk) = match query.index.as_deref() {
            None => (PK, SK),
            Some(name) => INDEXES
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, p, s)| (*p, *s))
                .ok_or_else(|| TableError::Invalid(format!("no index named {name}")))?,
        };
        let limit = match query.limit {
            None => None,
            Some(0) => {
                return Err(TableError::Invalid(
                    "a query limit must be at least 1".into(),
                ));
            }
            Some(n) => Some(i32::try_from(n).unwrap_or(i32::MAX)),
        };
        let mut x = Expr::default();
        let p = x.name(ipk);
        let v = x.value(&Value::S(query.pk.clone()));
        let mut key_cond = format!("{p} = {v}");
        if let Some(sk) = &query.sk {
            let s = x.name(isk);
            let mut val = |v: &str| x.value(&Value::S(v.to_owned()));
            let c = match sk {
                SortCondition::Eq(v) => format!("{s} = {}", val(v)),
                SortCondition::BeginsWith(v) => format!("begins_with({s}, {})", val(v)),
                SortCondition::Between(a, b) => {
                    if a.as_bytes() > b.as_bytes() {
                        return Err(TableError::Invalid(
                            "BETWEEN needs its lower bound first".into(),
                        ));
                    }
                    format!("{s} BETWEEN {} AND {}", val(a), val(b))
                }
                SortCondition::Lt(v) => format!("{s} < {}", val(v)),
                SortCondition::Le(v) => format!("{s} <= {}", val(v)),
                SortCondition::Gt(v) => format!("{s} > {}", val(v)),
                SortCondition::Ge(v) => format!("{s} >= {}", val(v)),
            };
            key_cond = format!("{key_cond} AND {c}");
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(query.index.clone())
            .key_condition_expression(key_cond)
            .set_expression_attribute_names(x.names())
            .set_expression_attribute_values(x.values())
            .scan_index_forward(query.forward)
            .set_limit(limit)
            .set_exclusive_start_key(query.start_after.as_ref().map(to_map))
            // Indexes refuse consistent reads; they are eventually consistent by nature.
            .set_consistent_read(query.index.is_none().then_some(query.consistent))
            .send()
            .await
            .map_err(|e| service_error(&e))?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_map)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => Some(from_map(k)?),
            _ => None,
        };
        Ok(Page { items, next })
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        let mut writes = Vec::with_capacity(ops.len());
        for op in &ops {
            let mut x = Expr::default();
            let write = match op {
                TxOp::Put { item, condition } => {
                    let cond = condition.as_ref().map(|c| x.condition(c));
                    TransactWriteItem::builder().put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(to_map(item)))
                            .set_condition_expression(cond)
                            .set_expression_attribute_names(x.names())
                            .set_expression_attribute_values(x.values())
                            .build()
                            .map_err(build_error)?,
                    )
                }
                TxOp::Update {
                    key,
                    update,
                    condition,
                } => {
                    let expr = x.update(update);
                    let cond = condition.as_ref().map(|c| x.condition(c));
                    // A transaction's Update needs an expression: SET the sort key to itself
                    // when there is nothing else to do, which just makes the item exist.
                    let expr = match expr {
                        Some(e) => e,
                        None => {
                            let s = x.name(SK);
                            let v = x.value(&Value::S(key.sk.clone()));
                            format!("SET {s} = {v}")
                        }
                    };
                    TransactWriteItem::builder().update(
                        aws_sdk_dynamodb::types::Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_av(key)))
                            .update_expression(expr)
                            .set_condition_expression(cond)
                            .set_expression_attribute_names(x.names())
                            .set_expression_attribute_values(x.values())
                            .build()
                            .map_err(build_error)?,
                    )
                }
                TxOp::Delete { key, condition } => {
                    let cond = condition.as_ref().map(|c| x.condition(c));
                    TransactWriteItem::builder().delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_av(key)))
                            .set_condition_expression(cond)
                            .set_expression_attribute_names(x.names())
                            .set_expression_attribute_values(x.values())
                            .build()
                            .map_err(build_error)?,
                    )
                }
                TxOp::Check { key, condition } => {
                    let cond = x.condition(condition);
                    TransactWriteItem::builder().condition_check(
                        ConditionCheck::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_av(key)))
                            .condition_expression(cond)
                            .set_expression_attribute_names(x.names())
                            .set_expression_attribute_values(x.values())
                            .build()
                            .map_err(build_error)?,
                    )
                }
            };
            writes.push(write.build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
                    let reasons = t.cancellation_reasons();
                    let failed: Vec<usize> = reasons
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(i, _)| i)
                        .collect();
                    let invalid = reasons
                        .iter()
                        .find(|r| r.code() == Some("ValidationError"))
                        .map(|r| r.message().unwrap_or("validation error").to_owned());
                    let throttled = reasons.iter().any(|r| {
                        matches!(
                            r.code(),
                            Some(
                                "ProvisionedThroughputExceeded"
                                    | "ThrottlingError"
                                    | "RequestLimitExceeded"
                            )
                        )
                    });
                    match (failed.is_empty(), invalid) {
                        (false, _) => TableError::TransactionCancelled { failed },
                        (true, Some(m)) => TableError::Invalid(m),
                        (true, None) if throttled => TableError::Throttled,
                        // A conflict with another transaction: nothing of ours failed.
                        (true, None) => TableError::TransactionCancelled { failed },
                    }
                }
                _ if code_of(&e) == Some("TransactionConflictException") => {
                    TableError::TransactionCancelled { failed: vec![] }
                }
                _ => service_error(&e),
            }),
        }
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().map(key_av).collect()))
                    .consistent_read(true)
                    .build()
                    .map_err(build_error)?,
            );
            let mut rounds = 0u32;
            while let Some(request) = pending.take() {
                if rounds > 0 {
                    // Unprocessed keys mean the table is busy: back off before asking again.
                    let ms = 25u64 << rounds.min(6);
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                }
                rounds += 1;
                if rounds > 10 {
                    return Err(TableError::Throttled);
                }
                let answer = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| service_error(&e))?;
                if let Some(mut responses) = answer.responses
                    && let Some(items) = responses.remove(&self.table)
                {
                    for item in items {
                        out.push(from_map(item)?);
                    }
                }
                pending = answer
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
            }
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Expressions.

/// Placeholders of one request's expressions: `#nN` for names, `:vN` for values.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, n: &str) -> String {
        if let Some((p, _)) = self.names.iter().find(|(_, v)| *v == n) {
            return p.clone();
        }
        let p = format!("#n{}", self.names.len());
        self.names.insert(p.clone(), n.to_owned());
        p
    }

    fn value(&mut self, v: &Value) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), to_av(v));
        p
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<Av> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    fn condition(&mut self, c: &Condition) -> String {
        let mut cmp = |n: &str, op: &str, v: &Value| {
            let n = self.name(n);
            let v = self.value(v);
            format!("{n} {op} {v}")
        };
        match c {
            Condition::Exists(n) => format!("attribute_exists({})", self.name(n)),
            Condition::NotExists(n) => format!("attribute_not_exists({})", self.name(n)),
            Condition::Eq(n, v) => cmp(n, "=", v),
            Condition::Ne(n, v) => cmp(n, "<>", v),
            Condition::Lt(n, v) => cmp(n, "<", v),
            Condition::Le(n, v) => cmp(n, "<=", v),
            Condition::Gt(n, v) => cmp(n, ">", v),
            Condition::Ge(n, v) => cmp(n, ">=", v),
            Condition::And(all) if all.is_empty() => self.always(true),
            Condition::Or(any) if any.is_empty() => self.always(false),
            Condition::And(all) => self.join(all, " AND "),
            Condition::Or(any) => self.join(any, " OR "),
            Condition::Not(c) => format!("(NOT {})", self.condition(c)),
        }
    }

    fn join(&mut self, parts: &[Condition], op: &str) -> String {
        let parts: Vec<String> = parts.iter().map(|c| self.condition(c)).collect();
        format!("({})", parts.join(op))
    }

    /// DynamoDB has no `true` literal: an empty And / Or becomes a tautology / contradiction.
    fn always(&mut self, truth: bool) -> String {
        let p = self.name(PK);
        if truth {
            format!("(attribute_exists({p}) OR attribute_not_exists({p}))")
        } else {
            format!("(attribute_exists({p}) AND attribute_not_exists({p}))")
        }
    }

    fn update(&mut self, u: &Update) -> Option<String> {
        let mut clauses = Vec::new();
        if !u.set.is_empty() {
            let sets: Vec<String> = u
                .set
                .iter()
                .map(|(n, v)| format!("{} = {}", self.name(n), self.value(v)))
                .collect();
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        if !u.remove.is_empty() {
            let removes: Vec<String> = u.remove.iter().map(|n| self.name(n)).collect();
            clauses.push(format!("REMOVE {}", removes.join(", ")));
        }
        if !u.add.is_empty() {
            let adds: Vec<String> = u
                .add
                .iter()
                .map(|(n, by)| format!("{} {}", self.name(n), self.value(&Value::N(*by))))
                .collect();
            clauses.push(format!("ADD {}", adds.join(", ")));
        }
        (!clauses.is_empty()).then(|| clauses.join(" "))
    }
}

// ---------------------------------------------------------------------------------------------
// Values.

fn key_av(key: &Key) -> Av {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

fn to_map(item: &Item) -> Av {
    item.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()
}

fn to_av(v: &Value) -> AttributeValue {
    match v {
        Value::S(s) => AttributeValue::S(s.clone()),
        Value::N(n) => AttributeValue::N(n.to_string()),
        Value::B(b) => AttributeValue::B(Blob::new(b.clone())),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Null => AttributeValue::Null(true),
        Value::L(l) => AttributeValue::L(l.iter().map(to_av).collect()),
        Value::M(m) => AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()),
    }
}

fn from_map(m: Av) -> Result<Item, TableError> {
    m.into_iter().map(|(k, v)| Ok((k, from_av(v)?))).collect()
}

fn from_av(v: AttributeValue) -> Result<Value, TableError> {
    let number = |n: &str| {
        n.parse::<i64>().map(Value::N).map_err(|_| {
            TableError::Unavailable(format!("stored number {n} is not a 64-bit integer"))
        })
    };
    Ok(match v {
        AttributeValue::S(s) => Value::S(s),
        AttributeValue::N(n) => number(&n)?,
        AttributeValue::B(b) => Value::B(b.into_inner()),
        AttributeValue::Bool(b) => Value::Bool(b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(l) => Value::L(l.into_iter().map(from_av).collect::<Result<_, _>>()?),
        AttributeValue::M(m) => Value::M(
            m.into_iter()
                .map(|(k, v)| Ok((k, from_av(v)?)))
                .collect::<Result<_, TableError>>()?,
        ),
        // Herald never writes sets; read them, if some other writer did, as lists.
        AttributeValue::Ss(s) => Value::L(s.into_iter().map(Value::S).collect()),
        AttributeValue::Ns(ns) => Value::L(ns.iter().map(|n| number(n)).collect::<Result<_, _>>()?),
        AttributeValue::Bs(bs) => {
            Value::L(bs.into_iter().map(|b| Value::B(b.into_inner())).collect())
        }
        other => {
            return Err(TableError::Unavailable(format!(
                "unknown attribute value type {other:?}"
            )));
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Errors.

fn condition_failed(item: Option<&Av>) -> Result<TableError, TableError> {
    let current = match item {
        Some(m) if !m.is_empty() => Some(Box::new(from_map(m.clone())?)),
        _ => None,
    };
    Ok(TableError::ConditionFailed { current })
}

fn code_of<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    e.as_service_error().and_then(|s| s.code())
}

/// Maps what is left once each operation took out its own expected errors.
fn service_error<E, R>(e: &SdkError<E, R>) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match code_of(e) {
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded",
        ) => TableError::Throttled,
        Some("ValidationException") => TableError::Invalid(
            e.as_service_error()
                .and_then(|s| s.message())
                .unwrap_or("validation error")
                .to_owned(),
        ),
        Some(code) => TableError::Unavailable(format!(
            "{code}: {}",
            e.as_service_error()
                .and_then(|s| s.message())
                .unwrap_or_default()
        )),
        None => TableError::Unavailable(format!(
            "dynamodb: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(e)
        )),
    }
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> TableError {
    TableError::Invalid(format!("request: {e}"))
}
