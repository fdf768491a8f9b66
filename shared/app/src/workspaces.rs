use crate::auth::Principal;
use crate::records::json_item;
use crate::{AppError, Deps, new_id};
use herald_domain::{ApiKey, ApiKeyId, Role, Workspace, WorkspaceId};
use herald_ports::{Condition, TxOp};
use herald_storage::keys;
use serde::Serialize;

/// A new workspace and its owner key; the key's secret is in this answer only.
#[derive(Debug, Serialize)]
pub struct CreatedWorkspace {
    pub id: WorkspaceId,
    pub name: String,
    pub api_key: String,
}

pub async fn create(
    deps: &Deps,
    caller: &Principal,
    name: &str,
) -> Result<CreatedWorkspace, AppError> {
    if *caller != Principal::Admin {
        return Err(AppError::Forbidden);
    }
    let name = Workspace::validate_name(name)?;
    let now = deps.clock.now();
    let workspace = Workspace {
        id: new_id!(deps, WorkspaceId),
        name,
        created_at: now,
    };
    let (key, token) = ApiKey::issue(
        new_id!(deps, ApiKeyId),
        Some(workspace.id.clone()),
        Role::Owner,
        deps.random.secret32(),
        now,
    );
    deps.table
        .transact(vec![
            TxOp::Put {
                item: json_item(&keys::workspace(&workspace.id), "workspace", &workspace),
                condition: Some(Condition::item_absent()),
            },
            TxOp::Put {
                item: json_item(
                    &keys::api_key(Some(&workspace.id), &key.secret_hash),
                    "api_key",
                    &key,
                ),
                condition: Some(Condition::item_absent()),
            },
        ])
        .await?;
    tracing::info!(workspace = %workspace.id, "workspace created");
    Ok(CreatedWorkspace {
        id: workspace.id,
        name: workspace.name,
        api_key: token,
    })
}
