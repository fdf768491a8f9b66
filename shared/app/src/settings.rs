//! A workspace's settings: name, IANA time zone, business hours, approvals (API.md, "Teams,
//! approvals, audit"). A change names only the fields it changes; every field is checked
//! before anything is written, and one bad field changes nothing.

use crate::auth::Principal;
use crate::records::{DATA, from_json};
use crate::{AppError, Deps};
use herald_domain::{Action, BusinessHours, FieldError, Workspace, WorkspaceId};
use herald_ports::{Condition, TableError, Update, Value};
use herald_storage::keys;
use serde::Serialize;

/// The settings as the API shows them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SettingsView {
    pub id: WorkspaceId,
    pub name: String,
    pub timezone: String,
    pub business_hours: BusinessHours,
    pub approvals: bool,
}

impl From<Workspace> for SettingsView {
    fn from(w: Workspace) -> Self {
        SettingsView {
            id: w.id,
            name: w.name,
            timezone: w.settings.timezone,
            business_hours: w.settings.business_hours,
            approvals: w.settings.approvals,
        }
    }
}

/// Writes that lose a race with another change are tried again this many times.
const ATTEMPTS: usize = 3;

async fn read(deps: &Deps, ws: &WorkspaceId) -> Result<(Workspace, Value), AppError> {
    let item = deps
        .table
        .get(&keys::workspace(ws))
        .await?
        .ok_or(AppError::NotFound("workspace"))?;
    let data = item
        .get(DATA)
        .cloned()
        .ok_or_else(|| AppError::Corrupt("workspace without data".into()))?;
    Ok((from_json(&item)?, data))
}

/// A workspace as stored (its settings with it).
pub async fn workspace(deps: &Deps, ws: &WorkspaceId) -> Result<Workspace, AppError> {
    Ok(read(deps, ws).await?.0)
}

/// The workspace's time zone; an unreadable name (never stored by `update`) reads as UTC.
pub fn timezone(workspace: &Workspace) -> chrono_tz::Tz {
    workspace
        .settings
        .timezone
        .parse()
        .unwrap_or(chrono_tz::UTC)
}

pub async fn get(deps: &Deps, caller: &Principal) -> Result<SettingsView, AppError> {
    let ws = caller.may(Action::Read)?;
    Ok(read(deps, ws).await?.0.into())
}

/// An IANA time zone name, as the time zone database spells it.
pub fn check_timezone(name: &str) -> Result<String, String> {
    name.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| format!("{name:?} is not an IANA time zone name, like \"Europe/Paris\""))
}

/// The body of `PATCH /v1/workspace` as the OpenAPI document shows it: the fields [`apply`]
/// reads, each optional, nothing else.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SettingsChange {
    name: Option<String>,
    /// An IANA time zone name.
    timezone: Option<String>,
    business_hours: Option<BusinessHours>,
    approvals: Option<bool>,
}

/// Applies `patch` (a JSON object of the fields to change) to `workspace`, or names every
/// field that is wrong.
pub fn apply(workspace: &mut Workspace, patch: &serde_json::Value) -> Result<(), AppError> {
    let Some(fields) = patch.as_object() else {
        return Err(AppError::invalid(
            "body",
            "must be an object of the fields to change",
        ));
    };
    let mut errors = Vec::new();
    let mut next = workspace.clone();
    for (field, value) in fields {
        let string = || {
            value
                .as_str()
                .ok_or_else(|| vec![FieldError::new(field, "must be a string")])
        };
        let outcome: Result<(), Vec<FieldError>> = match field.as_str() {
            "name" => string().and_then(|s| {
                next.name = Workspace::validate_name(s).map_err(field_errors)?;
                Ok(())
            }),
            "timezone" => string().and_then(|s| {
                next.settings.timezone =
                    check_timezone(s).map_err(|m| vec![FieldError::new(field, m)])?;
                Ok(())
            }),
            "business_hours" => BusinessHours::parse(value)
                .map(|h| next.settings.business_hours = h)
                .map_err(field_errors),
            "approvals" => match value.as_bool() {
                Some(on) => {
                    next.settings.approvals = on;
                    Ok(())
                }
                None => Err(vec![FieldError::new(field, "must be true or false")]),
            },
            _ => Err(vec![FieldError::new(
                field,
                "unknown field: name, timezone, business_hours or approvals",
            )]),
        };
        if let Err(mut e) = outcome {
            errors.append(&mut e);
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    *workspace = next;
    Ok(())
}

fn field_errors(e: herald_domain::DomainError) -> Vec<FieldError> {
    match e {
        herald_domain::DomainError::Invalid(errors) => errors,
        herald_domain::DomainError::Conflict(m) => vec![FieldError::new("body", m)],
    }
}

pub async fn update(
    deps: &Deps,
    caller: &Principal,
    patch: &serde_json::Value,
) -> Result<SettingsView, AppError> {
    let ws = caller.may(Action::ManageSettings)?;
    for _ in 0..ATTEMPTS {
        let (mut workspace, before) = read(deps, ws).await?;
        apply(&mut workspace, patch)?;
        let data = serde_json::to_string(&workspace).expect("records serialize");
        // Only over the record just read: a change made meanwhile is never overwritten.
        match deps
            .table
            .update(
                &keys::workspace(ws),
                Update::new().set(DATA, Value::S(data)),
                Some(Condition::Eq(DATA.into(), before)),
            )
            .await
        {
            Ok(_) => return Ok(workspace.into()),
            Err(TableError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict(
        "the settings changed while this change was made: try again".into(),
    ))
}
