//! Who is calling: an API key leads to its workspace (or to the admin scope) and a role.

use crate::records::{from_json, json_item};
use crate::{AppError, Deps, new_id};
use herald_domain::{Action, Actor, ApiKey, ApiKeyId, MemberId, Role, WorkspaceId};
use herald_ports::{Condition, TableError, Value};
use herald_storage::keys;

/// The caller of a request, once its key has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Admin,
    Member {
        workspace: WorkspaceId,
        role: Role,
        /// None for a workspace key from before members existed.
        member: Option<MemberId>,
    },
}

impl Principal {
    /// The one permission check of the API: the workspace this caller may do `action` in
    /// (the role table is `Role::may`), or 403. The admin key acts in no workspace.
    pub fn may(&self, action: Action) -> Result<&WorkspaceId, AppError> {
        match self {
            Principal::Member {
                workspace, role, ..
            } if role.may(action) => Ok(workspace),
            Principal::Member { .. } | Principal::Admin => Err(AppError::Forbidden),
        }
    }

    /// Who the caller is, as the audit log and reviews name them.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Admin => Actor::Admin,
            Principal::Member {
                member: Some(member),
                ..
            } => Actor::Member(member.clone()),
            Principal::Member { member: None, .. } => Actor::WorkspaceKey,
        }
    }

    /// The caller's role in its workspace (None for the admin key).
    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Member { role, .. } => Some(*role),
            Principal::Admin => None,
        }
    }

    /// Reading: `may(Action::Read)`.
    pub fn workspace(&self) -> Result<&WorkspaceId, AppError> {
        self.may(Action::Read)
    }

    /// Writing posts: `may(Action::WritePosts)`.
    pub fn require_write(&self) -> Result<&WorkspaceId, AppError> {
        self.may(Action::WritePosts)
    }
}

/// Finds the key a bearer token stands for. The lookup is by the hash of the secret, so no
/// comparison of secrets happens at all. A token that names no workspace can only be the admin
/// key, and is checked against the one admin key there is.
pub async fn authenticate(deps: &Deps, token: &str) -> Result<Principal, AppError> {
    if token.is_empty() || token.len() > MAX_TOKEN {
        return Err(AppError::Unauthorized);
    }
    let presented = ApiKey::presented(token);
    let Some(ws) = presented.workspace else {
        return match current_admin_key(deps).await? {
            Some(admin) if admin.secret_hash == admin_token_hash(token) => Ok(Principal::Admin),
            _ => Err(AppError::Unauthorized),
        };
    };
    let key = keys::api_key(Some(&ws), &presented.secret_hash);
    let item = deps.table.get(&key).await?.ok_or(AppError::Unauthorized)?;
    let stored: ApiKey = from_json(&item)?;
    match stored.workspace {
        Some(workspace) if workspace == ws => Ok(Principal::Member {
            workspace,
            role: stored.role,
            member: stored.member,
        }),
        _ => Err(AppError::Unauthorized),
    }
}

/// The longest bearer token looked at.
const MAX_TOKEN: usize = 512;
/// The shortest admin key an operator may choose.
const MIN_ADMIN_KEY: usize = 8;
/// The item holding the one admin key. One item, so a new key replaces the one before in a
/// single write: there is never a moment with two valid admin keys, or none.
const ADMIN_KEY_SLOT: &str = "ADMIN_KEY";
/// The attribute a conditional write compares, to tell "this key is already the admin key".
const SECRET_HASH: &str = "secret_hash";

/// Admin keys hash whole, prefix and all, so that only the exact token matches: `hk_admin_S`
/// and a bare `S` are different keys.
fn admin_token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

async fn current_admin_key(deps: &Deps) -> Result<Option<ApiKey>, AppError> {
    match deps.table.get(&keys::system(ADMIN_KEY_SLOT)).await? {
        Some(item) => Ok(Some(from_json(&item)?)),
        None => Ok(None),
    }
}

/// Whether `token` may be configured as the admin key (`HERALD_ADMIN_KEY`, or the SSM
/// parameter on AWS): printable ASCII without spaces (it travels in a header), 8 to 512
/// characters, and not shaped like a workspace key (which would never reach the admin check).
/// The message names the rule broken, never the key.
pub fn check_admin_token(token: &str) -> Result<(), String> {
    if token.len() < MIN_ADMIN_KEY || token.len() > MAX_TOKEN {
        return Err(format!(
            "must be {MIN_ADMIN_KEY} to {MAX_TOKEN} characters long, is {}",
            token.len()
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces or control characters".into());
    }
    if ApiKey::presented(token).workspace.is_some() {
        return Err("must not read like a workspace key (hk_ws_…_…)".into());
    }
    Ok(())
}

/// Makes sure the admin key exists. With `configured` (HERALD_ADMIN_KEY) that key becomes the
/// admin key, revoking whichever was before; a restart with the same key changes nothing, and
/// cold starts racing with the same key all succeed. Without it, on the first start only, a
/// key is created and returned to be printed once. Configuring different keys at once leaves
/// the last one written.
pub async fn ensure_admin_key(
    deps: &Deps,
    configured: Option<&str>,
) -> Result<Option<String>, AppError> {
    let now = deps.clock.now();
    let slot = keys::system(ADMIN_KEY_SLOT);
    let admin_key = |secret_hash: String| ApiKey {
        id: new_id!(deps, ApiKeyId),
        workspace: None,
        role: Role::Owner,
        secret_hash,
        created_at: now,
        member: None,
    };
    let item = |key: &ApiKey| {
        let mut item = json_item(&slot, "admin_key", key);
        item.insert(SECRET_HASH.into(), Value::S(key.secret_hash.clone()));
        item
    };
    if let Some(token) = configured {
        check_admin_token(token).map_err(|m| AppError::invalid("HERALD_ADMIN_KEY", m))?;
        let hash = admin_token_hash(token);
        // Written unless it is already the admin key, so a restart keeps its id and date.
        let not_yet =
            Condition::item_absent().or(Condition::Ne(SECRET_HASH.into(), Value::S(hash.clone())));
        return match deps.table.put(item(&admin_key(hash)), Some(not_yet)).await {
            Ok(()) | Err(TableError::ConditionFailed { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        };
    }
    if current_admin_key(deps).await?.is_some() {
        return Ok(None);
    }
    let secret = deps.random.secret32();
    // Only the token's shape is taken from `issue`; the admin key hashes whole (see above).
    let (_, token) = ApiKey::issue(new_id!(deps, ApiKeyId), None, Role::Owner, secret, now);
    let key = admin_key(admin_token_hash(&token));
    match deps
        .table
        .put(item(&key), Some(Condition::item_absent()))
        .await
    {
        Ok(()) => Ok(Some(token)),
        // Another start made one first: that one is the key, and it printed it.
        Err(TableError::ConditionFailed { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
