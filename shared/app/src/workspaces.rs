use crate::auth::Principal;
use crate::members::{self, OWNERS};
use crate::records::json_item;
use crate::{AppError, Deps, new_id};
use herald_domain::{MemberId, Role, Settings, Workspace, WorkspaceId};
use herald_ports::{Condition, TxOp, Value};
use herald_storage::keys;
use serde::Serialize;

/// The first member of every workspace, whose key `POST /v1/workspaces` answers.
pub const FIRST_OWNER: &str = "Owner";

/// A new workspace and its first owner's key; the key's secret is in this answer only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedWorkspace {
    pub id: WorkspaceId,
    pub name: String,
    pub api_key: String,
    /// The member the key belongs to.
    pub member: MemberId,
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
        settings: Settings::default(),
    };
    let (owner, member_ops) = members::issue(deps, &workspace.id, FIRST_OWNER.into(), Role::Owner);
    let mut item = json_item(&keys::workspace(&workspace.id), "workspace", &workspace);
    item.insert(OWNERS.into(), Value::N(1));
    let mut ops = vec![TxOp::Put {
        item,
        condition: Some(Condition::item_absent()),
    }];
    ops.extend(member_ops);
    deps.table.transact(ops).await?;
    tracing::info!(workspace = %workspace.id, "workspace created");
    Ok(CreatedWorkspace {
        id: workspace.id,
        name: workspace.name,
        api_key: owner.api_key,
        member: owner.id,
    })
}
