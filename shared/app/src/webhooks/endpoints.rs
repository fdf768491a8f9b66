//! Outbound webhook endpoints: a URL, the event kinds it takes, and a signing secret shown
//! once. The URL passes the SSRF guard when saved (and again on every delivery).

use super::{endpoint_binding, new_secret};
use crate::page::{self, Page, PageRequest, Scope};
use crate::records::{from_json, json_item};
use crate::{AppError, Deps, new_id};
use chrono::{DateTime, Utc};
use herald_domain::webhook::Secret;
use herald_domain::{EndpointId, EventKind, WorkspaceId};
use herald_ports::{Condition, Item, TableError, Value};
use herald_storage::keys;
use serde::{Deserialize, Serialize};

/// Endpoints a workspace may have.
pub const MAX_ENDPOINTS: usize = 20;
/// The longest URL accepted.
const MAX_URL: usize = 2048;

/// The endpoint item's state attribute: `enabled` or `disabled`.
pub const STATE: &str = "state";
/// Since when every attempt to the endpoint has failed (epoch ms), absent after a success.
pub const FAILING_SINCE: &str = "failing_since";
/// The sealed signing secret.
const SECRET: &str = "secret";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<String>,
}

/// An endpoint as the API shows it (never with its secret, but in the answer that made it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointView {
    pub id: EndpointId,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// `enabled`, or `disabled` (after 410 Gone or 5 days of failures).
    #[serde(default = "enabled")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

fn enabled() -> String {
    "enabled".into()
}

#[derive(Debug, Serialize)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    pub secret: String,
}

/// The stored endpoint, with its secret opened, for the delivery engine.
pub struct Endpoint {
    pub view: EndpointView,
    pub secret: Secret,
    pub failing_since: Option<DateTime<Utc>>,
}

fn check(deps: &Deps, new: &NewEndpoint) -> Result<Vec<String>, AppError> {
    let mut errors = vec![];
    if new.url.len() > MAX_URL {
        errors.push(herald_domain::FieldError::new(
            "url",
            format!("at most {MAX_URL} characters"),
        ));
    } else if let Err(reason) = deps.guard.check_url(&new.url) {
        errors.push(herald_domain::FieldError::new("url", reason));
    }
    let mut events: Vec<String> = vec![];
    if new.events.is_empty() {
        errors.push(herald_domain::FieldError::new(
            "events",
            "name at least one event type",
        ));
    }
    for (i, e) in new.events.iter().enumerate() {
        if !EventKind::NAMES.contains(&e.as_str()) {
            errors.push(herald_domain::FieldError::new(
                format!("events[{i}]"),
                format!("not an event type; one of {}", EventKind::NAMES.join(", ")),
            ));
        } else if !events.contains(e) {
            events.push(e.clone());
        }
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(AppError::Invalid(errors))
    }
}

pub async fn create(
    deps: &Deps,
    ws: &WorkspaceId,
    new: NewEndpoint,
) -> Result<CreatedEndpoint, AppError> {
    let events = check(deps, &new)?;
    let (pk, prefix) = keys::webhook_endpoints_of(ws);
    let existing = deps
        .table
        .query(
            herald_ports::Query::table(pk)
                .sk(prefix)
                .limit(MAX_ENDPOINTS),
        )
        .await?;
    if existing.items.len() >= MAX_ENDPOINTS {
        return Err(AppError::Conflict(format!(
            "a workspace has at most {MAX_ENDPOINTS} webhook endpoints; delete one first"
        )));
    }
    let id = new_id!(deps, EndpointId);
    let view = EndpointView {
        id: id.clone(),
        url: new.url,
        events,
        created_at: deps.clock.now(),
        status: enabled(),
        disabled_reason: None,
    };
    let secret = new_secret(deps);
    let mut item = json_item(&keys::webhook_endpoint(ws, &id), "webhook_endpoint", &view);
    item.insert(
        SECRET.into(),
        Value::S(
            deps.sealer
                .seal(secret.encode().as_bytes(), &endpoint_binding(ws, &id)),
        ),
    );
    item.insert(STATE.into(), "enabled".into());
    deps.table.put(item, Some(Condition::item_absent())).await?;
    tracing::info!(workspace = %ws, endpoint = %id, "webhook endpoint created");
    Ok(CreatedEndpoint {
        endpoint: view,
        secret: secret.encode(),
    })
}

fn view_of(item: &Item) -> Result<EndpointView, AppError> {
    let mut view: EndpointView = from_json(item)?;
    if item.get(STATE).and_then(Value::as_s) == Some("disabled") {
        view.status = "disabled".into();
        view.disabled_reason = item
            .get("disabled_reason")
            .and_then(Value::as_s)
            .map(str::to_owned);
    }
    Ok(view)
}

pub async fn list(
    deps: &Deps,
    ws: &WorkspaceId,
    request: &PageRequest,
) -> Result<Page<EndpointView>, AppError> {
    let (pk, prefix) = keys::webhook_endpoints_of(ws);
    let page = page::query(
        deps,
        &Scope::new(ws, "webhook_endpoints"),
        herald_ports::Query::table(pk).sk(prefix),
        request,
    )
    .await?;
    let items = page.items.iter().map(view_of).collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        next: page.next,
    })
}

pub async fn delete(deps: &Deps, ws: &WorkspaceId, id: &EndpointId) -> Result<(), AppError> {
    match deps
        .table
        .delete(
            &keys::webhook_endpoint(ws, id),
            Some(Condition::item_present()),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(TableError::ConditionFailed { .. }) => Err(AppError::NotFound("webhook endpoint")),
        Err(e) => Err(e.into()),
    }
}

/// The endpoint with its secret, or None when it is gone.
pub async fn load(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &EndpointId,
) -> Result<Option<Endpoint>, AppError> {
    let Some(item) = deps.table.get(&keys::webhook_endpoint(ws, id)).await? else {
        return Ok(None);
    };
    Ok(Some(endpoint_of(deps, ws, &item)?))
}

fn endpoint_of(deps: &Deps, ws: &WorkspaceId, item: &Item) -> Result<Endpoint, AppError> {
    let view = view_of(item)?;
    let sealed = item
        .get(SECRET)
        .and_then(Value::as_s)
        .ok_or_else(|| AppError::Corrupt("endpoint secret".into()))?;
    let plain = deps
        .sealer
        .open(sealed, &endpoint_binding(ws, &view.id))
        .map_err(|e| AppError::Corrupt(format!("endpoint secret: {e}")))?;
    let secret = std::str::from_utf8(&plain)
        .ok()
        .and_then(Secret::parse)
        .ok_or_else(|| AppError::Corrupt("endpoint secret".into()))?;
    Ok(Endpoint {
        view,
        secret,
        failing_since: crate::records::time(item, FAILING_SINCE),
    })
}

/// Every enabled endpoint of the workspace that takes events of `kind`.
pub async fn subscribed(
    deps: &Deps,
    ws: &WorkspaceId,
    kind: &str,
) -> Result<Vec<EndpointView>, AppError> {
    let (pk, prefix) = keys::webhook_endpoints_of(ws);
    let items = deps
        .table
        .query_all(herald_ports::Query::table(pk).sk(prefix))
        .await?;
    let mut out = vec![];
    for item in &items {
        let view = view_of(item)?;
        if view.status == "enabled" && view.events.iter().any(|e| e == kind) {
            out.push(view);
        }
    }
    Ok(out)
}
