//! Inbound webhooks: a workspace's secret (created or rotated on request, the one before kept
//! valid for 24 hours), and the check of a signed request against it. The secret is sealed in
//! the table and shown only when made.

use super::{inbound_binding, new_secret};
use crate::records::{ms, time};
use crate::{AppError, Deps};
use herald_domain::WorkspaceId;
use herald_domain::webhook::{Secret, verify};
use herald_ports::{Condition, Item, TableError, Value};
use herald_storage::keys;

/// How long the secret before a rotation still verifies.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;

const CURRENT: &str = "current";
const PREVIOUS: &str = "previous";
const PREVIOUS_UNTIL: &str = "previous_until";
const VERSION: &str = "version";

/// Creates the workspace's inbound secret, or rotates it: answers the new one, once.
pub async fn rotate_secret(deps: &Deps, ws: &WorkspaceId) -> Result<String, AppError> {
    let key = keys::inbound_secret(ws);
    let binding = inbound_binding(ws);
    let secret = new_secret(deps);
    let sealed = deps.sealer.seal(secret.encode().as_bytes(), &binding);
    let now = deps.clock.now();
    let existing = deps.table.get(&key).await?;
    let mut item = key.item();
    item.insert("kind".into(), "inbound_secret".into());
    item.insert(CURRENT.into(), Value::S(sealed));
    let condition = match &existing {
        None => Condition::item_absent(),
        Some(old) => {
            let version = old.get(VERSION).and_then(Value::as_n).unwrap_or(0);
            if let Some(current) = old.get(CURRENT) {
                item.insert(PREVIOUS.into(), current.clone());
                item.insert(
                    PREVIOUS_UNTIL.into(),
                    ms(now + chrono::Duration::hours(ROTATION_OVERLAP_HOURS)),
                );
            }
            item.insert(VERSION.into(), Value::N(version + 1));
            Condition::eq(VERSION, version)
        }
    };
    item.entry(VERSION.into()).or_insert(Value::N(0));
    match deps.table.put(item, Some(condition)).await {
        Ok(()) => Ok(secret.encode()),
        Err(TableError::ConditionFailed { .. }) => Err(AppError::Conflict(
            "the inbound secret was rotated at the same moment; send again".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The three Standard Webhooks headers of a request, as sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Signed<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Checks a signed request against the workspace's secret (and, within 24 hours of a
/// rotation, the one before). Answers its `webhook-id`. Reads only; writes nothing.
pub async fn verify_request<'a>(
    deps: &Deps,
    ws: &WorkspaceId,
    signed: Signed<'a>,
    body: &[u8],
) -> Result<&'a str, AppError> {
    let now = deps.clock.now();
    let item = deps.table.get(&keys::inbound_secret(ws)).await?;
    let secrets = match &item {
        Some(item) => secrets(deps, ws, item, now)?,
        None => vec![],
    };
    if secrets.is_empty() {
        return Err(AppError::BadSignature(
            "this workspace has no inbound webhook secret".into(),
        ));
    }
    verify(
        &secrets,
        signed.id,
        signed.timestamp,
        signed.signature,
        body,
        now.timestamp(),
    )
    .map_err(|e| AppError::BadSignature(e.to_string()))
}

fn secrets(
    deps: &Deps,
    ws: &WorkspaceId,
    item: &Item,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Secret>, AppError> {
    let binding = inbound_binding(ws);
    let open = |sealed: &Value| -> Result<Secret, AppError> {
        let sealed = sealed
            .as_s()
            .ok_or_else(|| AppError::Corrupt("inbound secret".into()))?;
        let plain = deps
            .sealer
            .open(sealed, &binding)
            .map_err(|e| AppError::Corrupt(format!("inbound secret: {e}")))?;
        std::str::from_utf8(&plain)
            .ok()
            .and_then(Secret::parse)
            .ok_or_else(|| AppError::Corrupt("inbound secret".into()))
    };
    let mut out = Vec::with_capacity(2);
    if let Some(current) = item.get(CURRENT) {
        out.push(open(current)?);
    }
    let previous_live = time(item, PREVIOUS_UNTIL).is_some_and(|until| until > now);
    if let (Some(previous), true) = (item.get(PREVIOUS), previous_live) {
        out.push(open(previous)?);
    }
    Ok(out)
}
