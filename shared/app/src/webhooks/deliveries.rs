//! Deliveries: one event for one endpoint, tried until it is delivered or its attempts run out.
//! A delivery's id is the `webhook-id` every attempt carries; each attempt is logged and
//! listed per endpoint, and any delivery can be sent again by hand.

use crate::page::{self, Page, PageRequest, Scope};
use crate::records::{from_json, json_item, ms};
use crate::{AppError, Deps};
use chrono::{DateTime, Utc};
use herald_domain::{DeliveryId, EndpointId, WorkspaceId};
use herald_ports::{BusEvent, Condition, Item, TableError, TxOp, Update, Value};
use herald_storage::keys;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long deliveries and their attempt log stay readable.
pub const KEEP_DAYS: i64 = 30;

/// Delivery attributes conditions look at.
pub mod attr {
    /// `pending`, `delivered` or `failed`.
    pub const STATUS: &str = "status";
    pub const ATTEMPTS: &str = "attempts";
    pub const DUE_AT: &str = "due_at";
    pub const LEASE_UNTIL: &str = "lease_until";
    pub const CLAIM: &str = "claim";
}

/// What is kept of a delivery besides its state attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub endpoint: EndpointId,
    pub event: BusEvent,
    pub created_at: DateTime<Utc>,
}

/// One attempt, as `GET /v1/webhooks/endpoints/{id}/deliveries` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttemptView {
    /// The delivery (its `webhook-id`), the same for every attempt of it.
    pub id: DeliveryId,
    pub event_id: String,
    /// The event's type; its payload is that kind's in the document's `webhooks`.
    #[schema(value_type = herald_domain::event::EventName)]
    pub event: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `delivered`, `failed` (tried again at `next_attempt_at` if set) or `gone` (410).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The id of the delivery of `event` to `endpoint`: the same however often the event arrives
/// (the bus delivers at least once), so a repeat finds the delivery already made.
pub fn delivery_id(event: &BusEvent, endpoint: &EndpointId) -> DeliveryId {
    let digest = Sha256::digest(format!("{}/{endpoint}", event.id).as_bytes());
    let random = u128::from_le_bytes(digest[..16].try_into().expect("16 bytes"));
    DeliveryId::generate(event.time.timestamp_millis().max(0) as u64, random)
}

/// The writes that make `record` due at `due`.
pub(super) fn due_updates(
    update: Update,
    ws: &WorkspaceId,
    id: &DeliveryId,
    due: DateTime<Utc>,
) -> Update {
    let (pk, sk) = keys::delivery_due_entry(due, ws, id);
    update
        .set(attr::STATUS, "pending")
        .set(attr::DUE_AT, ms(due))
        .set(keys::GSI1_PK, pk)
        .set(keys::GSI1_SK, sk)
}

/// A new delivery due now; false when it was already made (a repeated event).
pub(super) async fn create(
    deps: &Deps,
    ws: &WorkspaceId,
    record: &DeliveryRecord,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let key = keys::delivery(ws, &record.id);
    let mut item = json_item(&key, "webhook_delivery", record);
    let (pk, sk) = keys::delivery_due_entry(now, ws, &record.id);
    item.insert(attr::STATUS.into(), "pending".into());
    item.insert(attr::ATTEMPTS.into(), Value::N(0));
    item.insert(attr::DUE_AT.into(), ms(now));
    item.insert(keys::GSI1_PK.into(), pk.into());
    item.insert(keys::GSI1_SK.into(), sk.into());
    item.insert(
        herald_ports::table::TTL.into(),
        Value::N((now + chrono::Duration::days(KEEP_DAYS)).timestamp()),
    );
    match deps.table.put(item, Some(Condition::item_absent())).await {
        Ok(()) => Ok(true),
        Err(TableError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The log entry of an attempt, for the attempt's transaction.
pub(super) fn log_op(ws: &WorkspaceId, endpoint: &EndpointId, view: &AttemptView) -> TxOp {
    let key = keys::delivery_attempt(ws, endpoint, view.at, &view.id, view.attempt);
    let mut item = json_item(&key, "webhook_attempt", view);
    item.insert(
        herald_ports::table::TTL.into(),
        Value::N((view.at + chrono::Duration::days(KEEP_DAYS)).timestamp()),
    );
    TxOp::Put {
        item,
        condition: None,
    }
}

/// Every attempt to an endpoint, oldest first; 404 for an endpoint that is not there.
pub async fn list(
    deps: &Deps,
    ws: &WorkspaceId,
    endpoint: &EndpointId,
    request: &PageRequest,
) -> Result<Page<AttemptView>, AppError> {
    if deps
        .table
        .get(&keys::webhook_endpoint(ws, endpoint))
        .await?
        .is_none()
    {
        return Err(AppError::NotFound("webhook endpoint"));
    }
    let page = page::query(
        deps,
        &Scope::new(ws, &format!("webhook_attempts/{endpoint}")),
        herald_ports::Query::table(keys::delivery_log(ws, endpoint)),
        request,
    )
    .await?;
    let items = page
        .items
        .iter()
        .map(from_json::<AttemptView>)
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        next: page.next,
    })
}

/// Sends a delivery again, now, whatever became of it: one more attempt with the same id
/// (and, should it fail, the schedule's remaining retries).
pub async fn redeliver(deps: &Deps, ws: &WorkspaceId, id: &DeliveryId) -> Result<(), AppError> {
    let key = keys::delivery(ws, id);
    let item: Item = deps
        .table
        .get(&key)
        .await?
        .ok_or(AppError::NotFound("delivery"))?;
    let record: DeliveryRecord = from_json(&item)?;
    let endpoint = deps
        .table
        .get(&keys::webhook_endpoint(ws, &record.endpoint))
        .await?
        .ok_or(AppError::NotFound("delivery"))?;
    if endpoint.get(super::endpoints::STATE).and_then(Value::as_s) == Some("disabled") {
        return Err(AppError::Conflict(
            "the delivery's endpoint is disabled; enable it again first \
             (POST /v1/webhooks/endpoints/{id}/enable)"
                .into(),
        ));
    }
    let now = deps.clock.now();
    let update = due_updates(Update::new(), ws, id, now).set("redelivered", true);
    deps.table
        .update(&key, update, Some(Condition::item_present()))
        .await?;
    let due = super::wake::DueDelivery {
        workspace: ws.clone(),
        delivery: id.clone(),
        at: now,
    };
    super::wake::after_commit(deps, &[due]).await;
    Ok(())
}
