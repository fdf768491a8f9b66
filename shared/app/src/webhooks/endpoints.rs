//! Outbound webhook endpoints: a URL, the event kinds it takes, and a signing secret shown
//! once. The URL passes the SSRF guard when saved (and again on every delivery). A secret
//! rotates with a 24 h overlap (each delivery signed with the new one and every one still
//! within its overlap), and a disabled endpoint can be enabled again.

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
/// Secrets rotated out and still signing: a JSON list of `{sealed, until}` (epoch ms).
const PREVIOUS: &str = "previous_secrets";
/// Bumped by every rotation: two at once cannot both win.
const SECRET_VERSION: &str = "secret_version";
/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);
/// Rotated-out secrets signing at once: a delivery carries at most one more signature.
pub const MAX_PREVIOUS: usize = 3;

/// A secret rotated out, sealed, and until when it still signs.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Previous {
    sealed: String,
    until: i64,
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    pub url: String,
    #[schema(value_type = Vec<herald_domain::event::EventName>)]
    pub events: Vec<String>,
}

/// An endpoint as the API shows it (never with its secret, but in the answer that made it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointView {
    pub id: EndpointId,
    pub url: String,
    #[schema(value_type = Vec<herald_domain::event::EventName>)]
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    pub secret: String,
}

/// The stored endpoint, with its secret opened, for the delivery engine.
pub struct Endpoint {
    pub view: EndpointView,
    pub secret: Secret,
    /// Secrets rotated out within their overlap, newest first: they sign too.
    pub previous: Vec<Secret>,
    pub failing_since: Option<DateTime<Utc>>,
}

impl Endpoint {
    /// Every secret a delivery is signed with now: the current one first.
    pub fn signing(&self) -> impl Iterator<Item = &Secret> {
        std::iter::once(&self.secret).chain(&self.previous)
    }
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

fn open_secret(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &EndpointId,
    sealed: &str,
) -> Result<Secret, AppError> {
    let plain = deps
        .sealer
        .open(sealed, &endpoint_binding(ws, id))
        .map_err(|e| AppError::Corrupt(format!("endpoint secret: {e}")))?;
    std::str::from_utf8(&plain)
        .ok()
        .and_then(Secret::parse)
        .ok_or_else(|| AppError::Corrupt("endpoint secret".into()))
}

fn previous_of(item: &Item) -> Result<Vec<Previous>, AppError> {
    match item.get(PREVIOUS).and_then(Value::as_s) {
        None => Ok(vec![]),
        Some(json) => serde_json::from_str(json)
            .map_err(|e| AppError::Corrupt(format!("endpoint's previous secrets: {e}"))),
    }
}

fn endpoint_of(deps: &Deps, ws: &WorkspaceId, item: &Item) -> Result<Endpoint, AppError> {
    let view = view_of(item)?;
    let sealed = item
        .get(SECRET)
        .and_then(Value::as_s)
        .ok_or_else(|| AppError::Corrupt("endpoint secret".into()))?;
    let secret = open_secret(deps, ws, &view.id, sealed)?;
    let now = deps.clock.now().timestamp_millis();
    let previous = previous_of(item)?
        .iter()
        .filter(|p| p.until > now)
        .map(|p| open_secret(deps, ws, &view.id, &p.sealed))
        .collect::<Result<_, _>>()?;
    Ok(Endpoint {
        view,
        secret,
        previous,
        failing_since: crate::records::time(item, FAILING_SINCE),
    })
}

/// A new signing secret for the endpoint, answered once. The one it replaces keeps signing
/// for `ROTATION_OVERLAP` beside it (each delivery carries a signature per secret), so a
/// receiver moves to the new one at its own pace. Rotating again within an overlap keeps the
/// earlier ones to their own ends; a fourth rotation within 24 h is refused (409), nothing
/// changed.
pub async fn rotate_secret(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &EndpointId,
) -> Result<String, AppError> {
    let key = keys::webhook_endpoint(ws, id);
    let item = deps
        .table
        .get(&key)
        .await?
        .ok_or(AppError::NotFound("webhook endpoint"))?;
    let now = deps.clock.now();
    let mut previous: Vec<Previous> = previous_of(&item)?
        .into_iter()
        .filter(|p| p.until > now.timestamp_millis())
        .collect();
    if previous.len() >= MAX_PREVIOUS {
        let free_at = previous.iter().map(|p| p.until).min().unwrap_or_default();
        let free_at = DateTime::from_timestamp_millis(free_at).unwrap_or(now);
        return Err(AppError::Conflict(format!(
            "this endpoint's secret was rotated {MAX_PREVIOUS} times within 24 hours; the next              rotation is possible from {}",
            free_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )));
    }
    let current = item
        .get(SECRET)
        .and_then(Value::as_s)
        .ok_or_else(|| AppError::Corrupt("endpoint secret".into()))?;
    previous.insert(
        0,
        Previous {
            sealed: current.to_owned(),
            until: (now + ROTATION_OVERLAP).timestamp_millis(),
        },
    );
    let secret = new_secret(deps);
    let sealed = deps
        .sealer
        .seal(secret.encode().as_bytes(), &endpoint_binding(ws, id));
    let version = item.get(SECRET_VERSION).and_then(Value::as_n);
    let unchanged = match version {
        Some(v) => Condition::eq(SECRET_VERSION, v),
        None => Condition::item_present().and(Condition::NotExists(SECRET_VERSION.into())),
    };
    let update = herald_ports::Update::new()
        .set(SECRET, sealed)
        .set(
            PREVIOUS,
            serde_json::to_string(&previous).expect("secrets serialize"),
        )
        .set(SECRET_VERSION, Value::N(version.unwrap_or(0) + 1));
    match deps.table.update(&key, update, Some(unchanged)).await {
        Ok(_) => {}
        Err(TableError::ConditionFailed { .. }) => {
            // Deleted meanwhile, or rotated by another request at the same moment.
            return match deps.table.get(&key).await? {
                None => Err(AppError::NotFound("webhook endpoint")),
                Some(_) => Err(AppError::Conflict(
                    "the endpoint's secret was rotated at the same moment; send again".into(),
                )),
            };
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(workspace = %ws, endpoint = %id, "webhook endpoint secret rotated");
    Ok(secret.encode())
}

/// Enables a disabled endpoint again, its failure streak cleared (5 more days of failures
/// before it is disabled again); deliveries it missed while disabled are not sent (each can
/// be redelivered). An endpoint already enabled is left as it is, its streak standing.
pub async fn enable(
    deps: &Deps,
    ws: &WorkspaceId,
    id: &EndpointId,
) -> Result<EndpointView, AppError> {
    let key = keys::webhook_endpoint(ws, id);
    let update = herald_ports::Update::new()
        .set(STATE, "enabled")
        .remove("disabled_reason")
        .remove("disabled_at")
        .remove(FAILING_SINCE);
    match deps
        .table
        .update(&key, update, Some(Condition::eq(STATE, "disabled")))
        .await
    {
        Ok(item) => {
            tracing::info!(workspace = %ws, endpoint = %id, "webhook endpoint enabled again");
            view_of(&item)
        }
        Err(TableError::ConditionFailed { .. }) => match deps.table.get(&key).await? {
            None => Err(AppError::NotFound("webhook endpoint")),
            Some(item) => view_of(&item),
        },
        Err(e) => Err(e.into()),
    }
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
