//! Connecting an OAuth network account: `start` keeps a one-time state (with the PKCE verifier
//! where the network requires it) and answers the network's consent page; `callback` trades
//! the code for tokens, seals them, and creates the account. The state is the only secret the
//! callback carries, so it is random, single-use and short-lived.

use crate::accounts::{AccountView, credentials_item};
use crate::records::{from_json, json_item};
use crate::{AppError, Deps, new_id};
use herald_domain::{Account, AccountId, AccountStatus, Actor, Platform, WorkspaceId};
use herald_ports::{Condition, TxOp, Value};
use herald_storage::keys;
use serde::{Deserialize, Serialize};

/// How long a consent may take.
const STATE_MINUTES: i64 = 15;

#[derive(Serialize, Deserialize)]
struct Pending {
    workspace: WorkspaceId,
    platform: Platform,
    handle: String,
    verifier: Option<String>,
    /// Network ids the caller supplied at start (a Page id, a board id, an author URN).
    ids: serde_json::Map<String, serde_json::Value>,
    /// Who started the connection: the audit log names them when it completes.
    #[serde(default)]
    by: Option<Actor>,
}

/// Where the user gives consent. `ids` are network-specific ids to keep with the tokens.
pub async fn start(
    deps: &Deps,
    ws: &WorkspaceId,
    by: Actor,
    platform: Platform,
    handle: &str,
    ids: serde_json::Map<String, serde_json::Value>,
) -> Result<url::Url, AppError> {
    let flow = deps.oauth.get(&platform).ok_or_else(|| {
        AppError::invalid(
            "platform",
            format!("{platform} is not enabled on this server"),
        )
    })?;
    let handle = Account::validate_handle(handle)?;
    if ids.len() > 10 || ids.values().any(|v| !v.is_string()) {
        return Err(AppError::invalid("ids", "at most 10 string ids"));
    }
    // A PKCE verifier: 43 characters of base64url from 32 random bytes (RFC 7636 §4.1).
    let verifier = flow.uses_pkce().then(|| base64url(&deps.random.secret32()));
    let nonce = hex::encode(deps.random.secret32());
    let pending = Pending {
        workspace: ws.clone(),
        platform,
        handle,
        verifier,
        ids,
        by: Some(by),
    };
    let now = deps.clock.now();
    let mut item = json_item(&keys::oauth_state(ws, &nonce), "oauth_state", &pending);
    item.insert(
        herald_ports::table::TTL.into(),
        Value::N((now + chrono::Duration::minutes(STATE_MINUTES)).timestamp()),
    );
    deps.table.put(item, Some(Condition::item_absent())).await?;
    let state = format!("{ws}.{nonce}");
    Ok(flow.consent_url(&state, pending.verifier.as_deref()))
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The network sent the user back with a code: the account is created with sealed tokens.
pub async fn callback(
    deps: &Deps,
    platform: Platform,
    state: &str,
    code: &str,
) -> Result<AccountView, AppError> {
    let invalid = || AppError::invalid("state", "unknown or expired; start the connection again");
    let (ws, nonce) = state.split_once('.').ok_or_else(invalid)?;
    let ws = WorkspaceId::parse(ws).ok_or_else(invalid)?;
    if nonce.len() != 64 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    let key = keys::oauth_state(&ws, nonce);
    // Single use: whoever deletes the state first goes on.
    let item = deps
        .table
        .delete(&key, Some(Condition::item_present()))
        .await
        .map_err(|e| match e {
            herald_ports::TableError::ConditionFailed { .. } => invalid(),
            e => e.into(),
        })?
        .ok_or_else(invalid)?;
    let now = deps.clock.now();
    if item
        .get(herald_ports::table::TTL)
        .and_then(Value::as_n)
        .is_some_and(|t| t < now.timestamp())
    {
        return Err(invalid());
    }
    let pending: Pending = from_json(&item)?;
    if pending.platform != platform {
        return Err(AppError::invalid("state", "was issued for another network"));
    }
    let flow = deps
        .oauth
        .get(&pending.platform)
        .ok_or(AppError::NetworkNotConfigured(pending.platform))?;
    let credentials = flow
        .exchange(code, pending.verifier.as_deref(), &pending.ids, now)
        .await
        .map_err(|e| AppError::invalid("code", format!("{}: {}", pending.platform, e.message)))?;
    let account = Account {
        id: new_id!(deps, AccountId),
        workspace: ws.clone(),
        platform: pending.platform,
        handle: pending.handle,
        status: AccountStatus::Active,
        created_at: now,
    };
    let lookup = crate::engagement::network_accounts::network_id(account.platform, &credentials)
        .map(|id| crate::engagement::network_accounts::op(&ws, &account.id, account.platform, &id));
    let mut ops = vec![
        TxOp::Put {
            item: json_item(&keys::account(&ws, &account.id), "account", &account),
            condition: Some(Condition::item_absent()),
        },
        TxOp::Put {
            item: credentials_item(deps, &ws, &account.id, &credentials),
            condition: Some(Condition::item_absent()),
        },
        // A GET completes this write, so the API's audit layer does not see it: the
        // entry goes in with the account.
        crate::audit::entry(
            deps,
            &ws,
            pending.by.clone().unwrap_or(Actor::WorkspaceKey),
            "GET /v1/oauth/{platform}/callback",
            account.id.as_str(),
        ),
    ];
    // The page or user id its app-wide webhook names (another workspace's refuses it).
    let lookup_at = lookup.is_some().then_some(ops.len());
    ops.extend(lookup);
    match deps.table.transact(ops).await {
        Ok(()) => {}
        Err(herald_ports::TableError::TransactionCancelled { failed })
            if lookup_at.is_some_and(|i| failed == [i]) =>
        {
            return Err(AppError::Conflict(format!(
                "this {} account is connected in another workspace",
                account.platform
            )));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(workspace = %ws, account = %account.id, platform = %account.platform, "account connected through OAuth");
    Ok(account.into())
}
