//! Events leave Herald through a table outbox: an event item is written in the same
//! transaction as the state change it reports, so a crash can neither drop nor invent one,
//! and the relay hands pending events to the bus. Delivery is at least once; consumers drop
//! repeats by event id.

use crate::records::{from_json, json_item};
use crate::{AppError, Deps, new_id};
use chrono::{DateTime, Utc};
use herald_domain::{Event, EventId, EventKind, WorkspaceId};
use herald_ports::{BusEvent, Condition, Key, Query, TxOp, Update, Value};
use herald_storage::keys;

/// How long relayed events stay readable in the table.
const KEEP_DAYS: i64 = 30;

/// The write that records an event, to put in the state change's transaction.
pub fn record(deps: &Deps, ws: &WorkspaceId, kind: EventKind, now: DateTime<Utc>) -> TxOp {
    let id = new_id!(deps, EventId);
    let event = BusEvent::of(&Event {
        id: id.clone(),
        workspace: ws.clone(),
        time: now,
        kind,
    });
    let id = id.to_string();
    let mut item = json_item(&keys::event(ws, now, &id), "event", &event);
    let (qpk, qsk) = keys::event_queue_entry(ws, now, &id);
    item.insert(keys::GSI2_PK.into(), qpk.into());
    item.insert(keys::GSI2_SK.into(), qsk.into());
    item.insert(
        herald_ports::table::TTL.into(),
        Value::N((now + chrono::Duration::days(KEEP_DAYS)).timestamp()),
    );
    TxOp::Put {
        item,
        condition: Some(Condition::item_absent()),
    }
}

/// Sends up to `max` pending events to the bus, oldest first per shard; answers how many.
pub async fn relay(deps: &Deps, max: usize) -> Result<usize, AppError> {
    let mut sent = 0;
    for shard in 0..keys::EVENT_SHARDS {
        if sent >= max {
            break;
        }
        let page = deps
            .table
            .query(Query::index(keys::GSI2, keys::event_queue(shard)).limit(max - sent))
            .await?;
        if page.items.is_empty() {
            continue;
        }
        let mut events = Vec::with_capacity(page.items.len());
        let mut item_keys = Vec::with_capacity(page.items.len());
        for item in &page.items {
            events.push(from_json::<BusEvent>(item)?);
            item_keys.push(Key::of(item).ok_or_else(|| AppError::Corrupt("event key".into()))?);
        }
        deps.bus.publish(&events).await?;
        for key in item_keys {
            // Only now leave the queue: a crash before this sends the event again, never loses it.
            let done = Update::new()
                .remove(keys::GSI2_PK)
                .remove(keys::GSI2_SK)
                .set("relayed_at", Value::N(deps.clock.now_ms()));
            match deps
                .table
                .update(&key, done, Some(Condition::item_present()))
                .await
            {
                Ok(_) | Err(herald_ports::TableError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        sent += events.len();
    }
    Ok(sent)
}
