//! The delivery engine: an event becomes one delivery per endpoint that takes it (`accept`),
//! and each delivery due is attempted (`attempt`, `sweep`) under a lease, signed afresh each
//! time with the same `webhook-id`. An attempt's log entry and the delivery's next state are
//! one transaction; the endpoint's failure clock and disabling follow it, and a retry's wake
//! (`super::wake`) is arranged once it has committed.

use super::deliveries::{self, AttemptView, DeliveryRecord, attr, delivery_id, due_updates};
use super::endpoints::{self, FAILING_SINCE, STATE};
use super::wake::{self, DueDelivery, Routed};
use crate::records::{from_json, ms};
use crate::{AppError, Deps, events};
use chrono::{DateTime, Duration, Utc};
use herald_domain::event::{EndpointDisabled, EventKind};
use herald_domain::webhook::retry::{Outcome, next_attempt};
use herald_domain::webhook::sign;
use herald_domain::{DeliveryId, EndpointId, WorkspaceId};
use herald_ports::{BusEvent, Condition, Query, TableError, TxOp, Update, Value, WebhookSender};
use herald_storage::keys;
use std::sync::Arc;

/// An endpoint failing this long, with no success between, is disabled.
pub const DISABLE_AFTER: Duration = Duration::days(5);
/// A claimed delivery is left to its attempt this long (the answer's 15 s and some margin);
/// after a crash it is due again then.
const LEASE: Duration = Duration::seconds(60);
/// Attempts made at once by one sweep or one event.
const CONCURRENCY: usize = 16;

/// An event's deliveries: those it made now, and those an earlier delivery of the same event
/// made (the bus delivers at least once; a run that died after recording them left them due).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    pub made: Vec<(WorkspaceId, DeliveryId)>,
    pub existing: Vec<(WorkspaceId, DeliveryId)>,
}

impl Accepted {
    /// Every delivery of the event, made now or before.
    pub fn all(self) -> Vec<(WorkspaceId, DeliveryId)> {
        self.made.into_iter().chain(self.existing).collect()
    }
}

/// The deliveries an event makes: one per enabled endpoint of its workspace that takes its
/// kind. A repeated event makes none again.
pub async fn accept(deps: &Deps, event: &BusEvent) -> Result<Accepted, AppError> {
    let Some(ws) = WorkspaceId::parse(&event.workspace) else {
        tracing::warn!(event = %event.id, "an event names no workspace; nothing to deliver");
        return Ok(Accepted::default());
    };
    let now = deps.clock.now();
    let mut accepted = Accepted::default();
    for endpoint in endpoints::subscribed(deps, &ws, &event.kind).await? {
        let record = DeliveryRecord {
            id: delivery_id(event, &endpoint.id),
            endpoint: endpoint.id.clone(),
            event: event.clone(),
            created_at: now,
        };
        if deliveries::create(deps, &ws, &record, now).await? {
            accepted.made.push((ws.clone(), record.id));
        } else {
            accepted.existing.push((ws.clone(), record.id));
        }
    }
    Ok(accepted)
}

/// Attempts each of `due` (at most `CONCURRENCY` at once), tagged with what the caller knows
/// it by; answers each one's result in the order they finished.
pub async fn attempt_each<T: Send + 'static>(
    deps: &Deps,
    sender: &Arc<dyn WebhookSender>,
    due: Vec<(T, WorkspaceId, DeliveryId)>,
) -> Vec<(T, Result<Option<Outcome>, AppError>)> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut results = Vec::with_capacity(due.len());
    let mut collect =
        |r: Result<(T, Result<Option<Outcome>, AppError>), tokio::task::JoinError>| {
            match r {
                Ok(done) => results.push(done),
                // A panicked attempt: its lease runs out and the sweep finds it again.
                Err(e) => tracing::error!(error = %e, "a webhook attempt task died"),
            }
        };
    for (tag, ws, id) in due {
        while tasks.len() >= CONCURRENCY {
            if let Some(r) = tasks.join_next().await {
                collect(r);
            }
        }
        let deps = deps.clone();
        let sender = sender.clone();
        tasks.spawn(async move { (tag, attempt(&deps, sender.as_ref(), &ws, &id).await) });
    }
    while let Some(r) = tasks.join_next().await {
        collect(r);
    }
    results
}

/// Attempts each of `due`; answers how many were attempted, or the first error.
pub async fn attempt_all(
    deps: &Deps,
    sender: &Arc<dyn WebhookSender>,
    due: Vec<(WorkspaceId, DeliveryId)>,
) -> Result<usize, AppError> {
    let tagged = due.into_iter().map(|(ws, id)| ((), ws, id)).collect();
    let mut attempted = 0;
    let mut first_error = None;
    for (_, r) in attempt_each(deps, sender, tagged).await {
        match r {
            Ok(Some(_)) => attempted += 1,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "a webhook attempt failed to record");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(attempted),
    }
}

/// What a sweep did: attempts made of what was due, and the wakes arranged for what is due
/// later within its horizon.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    pub attempted: usize,
    #[serde(flatten)]
    pub routed: Routed,
}

/// Every delivery due by now, attempted; those due later, up to `until`, routed to their
/// wakes (where wakes are on demand). At most `max` per index partition: the next sweep
/// takes the rest.
pub async fn sweep(
    deps: &Deps,
    sender: &Arc<dyn WebhookSender>,
    until: DateTime<Utc>,
    max: usize,
) -> Result<Swept, AppError> {
    let now = deps.clock.now();
    let until = if wake::on_demand(deps) {
        until.max(now)
    } else {
        now
    };
    let (mut due, mut later) = (vec![], vec![]);
    for shard in 0..keys::DELIVERY_SHARDS {
        let items = deps
            .table
            .query(
                Query::index(keys::GSI1, keys::delivery_due_partition(shard))
                    .sk(keys::due_until(until))
                    .limit(max),
            )
            .await?
            .items;
        for item in items {
            if let Some((at, workspace, delivery)) = item
                .get(keys::GSI1_SK)
                .and_then(Value::as_s)
                .and_then(keys::parse_delivery_due)
            {
                if at <= now {
                    due.push((workspace, delivery));
                } else {
                    later.push(DueDelivery {
                        workspace,
                        delivery,
                        at,
                    });
                }
            }
        }
    }
    // Routed first: an attempt failing to record must not leave the later ones unwoken.
    let routed = match wake::route(deps, &later).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, deliveries = later.len(), "webhook wake-ups not arranged; the hourly sweep will route them again");
            Routed::default()
        }
    };
    let attempted = attempt_all(deps, sender, due).await?;
    Ok(Swept { attempted, routed })
}

/// One attempt of one delivery, if it is due and nobody else holds it. Answers its outcome,
/// or None when there was nothing to do.
pub async fn attempt(
    deps: &Deps,
    sender: &dyn WebhookSender,
    ws: &WorkspaceId,
    id: &DeliveryId,
) -> Result<Option<Outcome>, AppError> {
    let now = deps.clock.now();
    let key = keys::delivery(ws, id);
    let claim = format!("{:032x}", deps.random_u128());
    let free = Condition::NotExists(attr::LEASE_UNTIL.into())
        .or(Condition::Lt(attr::LEASE_UNTIL.into(), ms(now)));
    let claimable = Condition::eq(attr::STATUS, "pending")
        .and(Condition::Le(attr::DUE_AT.into(), ms(now)))
        .and(free);
    let item = match deps
        .table
        .update(
            &key,
            Update::new()
                .set(attr::LEASE_UNTIL, ms(now + LEASE))
                .set(attr::CLAIM, claim.clone()),
            Some(claimable),
        )
        .await
    {
        Ok(item) => item,
        Err(TableError::ConditionFailed { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let record: DeliveryRecord = from_json(&item)?;
    let attempt = item.get(attr::ATTEMPTS).and_then(Value::as_n).unwrap_or(0) as u32 + 1;
    let mut view = AttemptView {
        id: id.clone(),
        event_id: record.event.id.clone(),
        event: record.event.kind.clone(),
        attempt,
        status: "failed".into(),
        response_code: None,
        error: None,
        at: now,
        next_attempt_at: None,
    };
    let endpoint = endpoints::load(deps, ws, &record.endpoint).await?;
    let outcome = match &endpoint {
        None => {
            view.error = Some("the endpoint was deleted".into());
            None
        }
        Some(ep) if ep.view.status != "enabled" => {
            view.error = Some("the endpoint is disabled".into());
            None
        }
        Some(ep) => Some(send(deps, sender, ep, &record, &mut view).await),
    };
    let next = outcome
        .as_ref()
        .and_then(|o| next_attempt(attempt, o, deps.random.unit()))
        .map(|d| now + Duration::from_std(d).unwrap_or(Duration::hours(10)));
    view.next_attempt_at = next;
    view.status = match outcome {
        Some(Outcome::Delivered) => "delivered",
        Some(Outcome::Gone) => "gone",
        _ => "failed",
    }
    .into();
    let mut update = Update::new()
        .set(attr::ATTEMPTS, Value::N(i64::from(attempt)))
        .remove(attr::LEASE_UNTIL)
        .remove(attr::CLAIM);
    update = match next {
        Some(due) => due_updates(update, ws, id, due),
        None => update
            .set(
                attr::STATUS,
                if outcome == Some(Outcome::Delivered) {
                    "delivered"
                } else {
                    "failed"
                },
            )
            .remove(attr::DUE_AT)
            .remove(keys::GSI1_PK)
            .remove(keys::GSI1_SK),
    };
    let ops = vec![
        TxOp::Update {
            key,
            update,
            condition: Some(Condition::eq(attr::CLAIM, claim)),
        },
        deliveries::log_op(ws, &record.endpoint, &view),
    ];
    match deps.table.transact(ops).await {
        Ok(()) => {}
        // The lease ran out and another attempt took over: its record stands.
        Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(workspace = %ws, delivery = %id, attempt, status = %view.status, code = ?view.response_code, "webhook attempt");
    if let Some(at) = next {
        let due = DueDelivery {
            workspace: ws.clone(),
            delivery: id.clone(),
            at,
        };
        wake::after_commit(deps, &[due]).await;
    }
    crate::observe::webhook_attempt(outcome == Some(Outcome::Delivered));
    if let (Some(outcome), Some(ep)) = (&outcome, &endpoint) {
        endpoint_health(deps, ws, &ep.view.id, ep.failing_since, outcome, now).await?;
    }
    Ok(outcome.or(Some(Outcome::Failed { retry_after: None })))
}

/// Signs and sends one attempt, filling in the log entry; answers its outcome.
async fn send(
    deps: &Deps,
    sender: &dyn WebhookSender,
    endpoint: &endpoints::Endpoint,
    record: &DeliveryRecord,
    view: &mut AttemptView,
) -> Outcome {
    if let Err(reason) = deps.guard.check_url(&endpoint.view.url) {
        view.error = Some(format!("refused by the SSRF guard: {reason}"));
        return Outcome::Failed { retry_after: None };
    }
    let body = serde_json::to_vec(&record.event).expect("events serialize");
    let timestamp = view.at.timestamp();
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("webhook-id", record.id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        // One `v1,` entry per secret signing now (two or more within a rotation's overlap),
        // space-separated as the spec has it: a receiver accepts any that matches.
        (
            "webhook-signature",
            endpoint
                .signing()
                .map(|secret| sign(secret, record.id.as_str(), timestamp, &body))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ];
    match sender.send(&endpoint.view.url, &headers, body).await {
        Ok(answer) => {
            view.response_code = Some(answer.status);
            let outcome = Outcome::of_status(answer.status, answer.retry_after.as_deref(), view.at);
            if outcome != Outcome::Delivered && (300..400).contains(&answer.status) {
                view.error = Some("redirects are not followed".into());
            }
            outcome
        }
        Err(reason) => {
            view.error = Some(reason);
            Outcome::Failed { retry_after: None }
        }
    }
}

/// A success clears the endpoint's failure clock; a failure starts it, and one still running
/// after 5 days, or a 410, disables the endpoint.
async fn endpoint_health(
    deps: &Deps,
    ws: &WorkspaceId,
    ep: &EndpointId,
    failing_since: Option<DateTime<Utc>>,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let key = keys::webhook_endpoint(ws, ep);
    let ignore_gone = |r: Result<_, TableError>| match r {
        Ok(_) | Err(TableError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(AppError::from(e)),
    };
    match outcome {
        Outcome::Delivered => {
            if failing_since.is_some() {
                ignore_gone(
                    deps.table
                        .update(
                            &key,
                            Update::new().remove(FAILING_SINCE),
                            Some(Condition::item_present()),
                        )
                        .await,
                )?;
            }
            Ok(())
        }
        Outcome::Gone => disable(deps, ws, ep, "the endpoint answered 410 Gone", now).await,
        Outcome::Failed { .. } => match failing_since {
            None => ignore_gone(
                deps.table
                    .update(
                        &key,
                        Update::new().set(FAILING_SINCE, ms(now)),
                        Some(
                            Condition::item_present()
                                .and(Condition::NotExists(FAILING_SINCE.into())),
                        ),
                    )
                    .await,
            ),
            Some(since) if now - since >= DISABLE_AFTER => {
                disable(deps, ws, ep, "every attempt failed for 5 days", now).await
            }
            Some(_) => Ok(()),
        },
    }
}

/// Disables an endpoint and records `endpoint.disabled` in the same transaction; once only.
async fn disable(
    deps: &Deps,
    ws: &WorkspaceId,
    ep: &EndpointId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let ops = vec![
        TxOp::Update {
            key: keys::webhook_endpoint(ws, ep),
            update: Update::new()
                .set(STATE, "disabled")
                .set("disabled_reason", reason)
                .set("disabled_at", ms(now)),
            condition: Some(Condition::eq(STATE, "enabled")),
        },
        events::record(
            deps,
            ws,
            EventKind::EndpointDisabled(EndpointDisabled {
                endpoint: ep.to_string(),
                reason: reason.into(),
            }),
            now,
        ),
    ];
    match deps.table.transact(ops).await {
        Ok(()) => {
            tracing::warn!(workspace = %ws, endpoint = %ep, reason, "webhook endpoint disabled");
            Ok(())
        }
        Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
