//! Which connected account a network's own account id names. A Meta app has one webhook
//! callback for every page and Instagram user it serves; each entry names its page or user id,
//! and this lookup (written when the account is connected) says whose it is. An id nobody
//! connected is dropped and counted, never guessed.

use crate::records::KIND;
use crate::{AppError, Deps, accounts};
use herald_domain::{Account, AccountId, Platform, WorkspaceId};
use herald_ports::{Condition, TxOp, Value};
use herald_storage::keys;

/// The network's id of the account in its credentials, for networks whose app-wide webhooks
/// name it (Facebook pages, Instagram and Threads users).
pub fn network_id(platform: Platform, credentials: &serde_json::Value) -> Option<String> {
    let names: &[&str] = match platform {
        Platform::Facebook => &["page_id"],
        Platform::Instagram => &["ig_user_id", "user_id"],
        Platform::Threads => &["user_id"],
        _ => return None,
    };
    names.iter().find_map(|n| match credentials.get(*n)? {
        serde_json::Value::String(s) if super::remote::usable(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// The lookup's write, in the connecting transaction: it takes the id over only from
/// nobody or from the same workspace (a page connected again), so one workspace never
/// receives another's comments.
pub fn op(ws: &WorkspaceId, acct: &AccountId, platform: Platform, network_id: &str) -> TxOp {
    let mut item = keys::network_account(platform, network_id).item();
    item.insert(KIND.into(), "network_account".into());
    item.insert("workspace".into(), ws.as_str().into());
    item.insert("account".into(), acct.as_str().into());
    TxOp::Put {
        item,
        condition: Some(
            Condition::item_absent().or(Condition::eq("workspace", Value::S(ws.to_string()))),
        ),
    }
}

/// The account a network's id is connected as, if any.
pub async fn resolve(
    deps: &Deps,
    platform: Platform,
    network_id: &str,
) -> Result<Option<Account>, AppError> {
    if !super::remote::usable(network_id) {
        return Ok(None);
    }
    let Some(item) = deps
        .table
        .get(&keys::network_account(platform, network_id))
        .await?
    else {
        return Ok(None);
    };
    let s = |n: &str| item.get(n).and_then(Value::as_s);
    let (Some(ws), Some(acct)) = (
        s("workspace").and_then(WorkspaceId::parse),
        s("account").and_then(AccountId::parse),
    ) else {
        return Ok(None);
    };
    match accounts::get(deps, &ws, &acct).await {
        Ok(a) if a.platform == platform => Ok(Some(a)),
        Ok(_) | Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
