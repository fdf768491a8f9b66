//! Who is calling: an API key leads to its workspace (or to the admin scope) and a role.

use crate::records::{from_json, json_item};
use crate::{AppError, Deps, new_id};
use herald_domain::{ApiKey, ApiKeyId, Role, WorkspaceId};
use herald_ports::Condition;
use herald_storage::keys;

/// The caller of a request, once its key has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Admin,
    Member { workspace: WorkspaceId, role: Role },
}

impl Principal {
    /// The workspace a request acts in; the admin key acts in none.
    pub fn workspace(&self) -> Result<&WorkspaceId, AppError> {
        match self {
            Principal::Member { workspace, .. } => Ok(workspace),
            Principal::Admin => Err(AppError::Forbidden),
        }
    }

    pub fn require_write(&self) -> Result<&WorkspaceId, AppError> {
        match self {
            Principal::Member { workspace, role } if role.can_write() => Ok(workspace),
            Principal::Member { .. } => Err(AppError::Forbidden),
            Principal::Admin => Err(AppError::Forbidden),
        }
    }
}

/// Finds the key a bearer token stands for. The lookup is by the hash of the secret, so no
/// comparison of secrets happens at all.
pub async fn authenticate(deps: &Deps, token: &str) -> Result<Principal, AppError> {
    if token.is_empty() || token.len() > 512 {
        return Err(AppError::Unauthorized);
    }
    let presented = ApiKey::presented(token);
    let key = keys::api_key(presented.workspace.as_ref(), &presented.secret_hash);
    let item = deps.table.get(&key).await?.ok_or(AppError::Unauthorized)?;
    let stored: ApiKey = from_json(&item)?;
    Ok(match stored.workspace {
        None => Principal::Admin,
        Some(workspace) => Principal::Member {
            workspace,
            role: stored.role,
        },
    })
}

/// Makes sure an admin key exists. With `configured` (HERALD_ADMIN_KEY) that key is stored;
/// otherwise, on the first start only, a key is created and returned to be printed once.
pub async fn ensure_admin_key(
    deps: &Deps,
    configured: Option<&str>,
) -> Result<Option<String>, AppError> {
    let now = deps.clock.now();
    if let Some(token) = configured {
        let key = ApiKey::admin_from_token(new_id!(deps, ApiKeyId), token, now);
        let item = json_item(&keys::api_key(None, &key.secret_hash), "api_key", &key);
        match deps.table.put(item, Some(Condition::item_absent())).await {
            Ok(()) | Err(herald_ports::TableError::ConditionFailed { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    let marker = keys::system("ADMIN_KEY_ISSUED");
    if deps.table.get(&marker).await?.is_some() {
        return Ok(None);
    }
    let secret = deps.random.secret32();
    let (key, token) = ApiKey::issue(new_id!(deps, ApiKeyId), None, Role::Owner, secret, now);
    deps.table
        .transact(vec![
            herald_ports::TxOp::Put {
                item: marker.item(),
                condition: Some(Condition::item_absent()),
            },
            herald_ports::TxOp::Put {
                item: json_item(&keys::api_key(None, &key.secret_hash), "api_key", &key),
                condition: Some(Condition::item_absent()),
            },
        ])
        .await?;
    Ok(Some(token))
}
