//! Members of a workspace, each with one API key of their role (API.md, "Teams, approvals,
//! audit"). Removing a member deletes their key in the same write, so it stops at once. The
//! workspace item counts its owners, and removing an owner is conditional on there being
//! another: two owners removing each other at once leave one.

use crate::auth::Principal;
use crate::page::{self, Page, PageRequest, Scope};
use crate::records::{from_json, json_item};
use crate::{AppError, Deps, new_id};
use chrono::{DateTime, Utc};
use herald_domain::{Action, ApiKey, ApiKeyId, Member, MemberId, Role, WorkspaceId};
use herald_ports::{Condition, TableError, TxOp, Update, Value};
use herald_storage::keys;
use serde::{Deserialize, Serialize};

/// The workspace item's count of its owners.
pub const OWNERS: &str = "owners";
/// The member item's role, as an attribute of its own.
const ROLE: &str = "role";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub name: String,
    #[schema(value_type = Role)]
    pub role: String,
}

/// A member as the API lists them: never their key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub id: MemberId,
    pub name: String,
    pub role: Role,
    pub added_at: DateTime<Utc>,
}

impl From<Member> for MemberView {
    fn from(m: Member) -> Self {
        MemberView {
            id: m.id,
            name: m.name,
            role: m.role,
            added_at: m.added_at,
        }
    }
}

/// A new member and their key; the key's secret is in this answer only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedMember {
    pub id: MemberId,
    pub name: String,
    pub role: Role,
    pub api_key: String,
}

/// A member and the writes that add them (with their key), for `create` and for a new
/// workspace's first owner.
pub(crate) fn issue(
    deps: &Deps,
    ws: &WorkspaceId,
    name: String,
    role: Role,
) -> (CreatedMember, Vec<TxOp>) {
    let now = deps.clock.now();
    let id = new_id!(deps, MemberId);
    let (mut key, token) = ApiKey::issue(
        new_id!(deps, ApiKeyId),
        Some(ws.clone()),
        role,
        deps.random.secret32(),
        now,
    );
    key.member = Some(id.clone());
    let member = Member {
        id: id.clone(),
        workspace: ws.clone(),
        name: name.clone(),
        role,
        key_hash: key.secret_hash.clone(),
        added_at: now,
    };
    let mut member_item = json_item(&keys::member(ws, &id), "member", &member);
    member_item.insert(ROLE.into(), Value::S(role.as_str().into()));
    let ops = vec![
        TxOp::Put {
            item: member_item,
            condition: Some(Condition::item_absent()),
        },
        TxOp::Put {
            item: json_item(&keys::api_key(Some(ws), &key.secret_hash), "api_key", &key),
            condition: Some(Condition::item_absent()),
        },
    ];
    let created = CreatedMember {
        id,
        name,
        role,
        api_key: token,
    };
    (created, ops)
}

pub async fn create(
    deps: &Deps,
    caller: &Principal,
    new: NewMember,
) -> Result<CreatedMember, AppError> {
    let ws = caller.may(Action::ManageMembers)?;
    let role = Role::parse(&new.role).ok_or_else(|| {
        AppError::invalid("role", "must be one of owner, manager, editor, viewer")
    })?;
    if !caller.role().is_some_and(|own| own.may_grant(role)) {
        return Err(AppError::Forbidden);
    }
    let name = Member::validate_name(&new.name)?;
    let (created, mut ops) = issue(deps, ws, name, role);
    let workspace = keys::workspace(ws);
    ops.push(if role == Role::Owner {
        TxOp::Update {
            key: workspace,
            update: Update::new().add(OWNERS, 1),
            condition: Some(Condition::item_present()),
        }
    } else {
        TxOp::Check {
            key: workspace,
            condition: Condition::item_present(),
        }
    });
    deps.table.transact(ops).await?;
    tracing::info!(workspace = %ws, member = %created.id, role = role.as_str(), "member added");
    Ok(created)
}

/// One page of a workspace's members, oldest first.
pub async fn page(
    deps: &Deps,
    caller: &Principal,
    request: &PageRequest,
) -> Result<Page<MemberView>, AppError> {
    let ws = caller.may(Action::Read)?;
    let (pk, prefix) = keys::members_of(ws);
    let page = page::query(
        deps,
        &Scope::new(ws, "members"),
        herald_ports::Query::table(pk).sk(prefix),
        request,
    )
    .await?;
    let items = page
        .items
        .iter()
        .map(|i| from_json::<Member>(i).map(MemberView::from))
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        next: page.next,
    })
}

/// Removes a member and their key in one write; the last owner stays (409).
pub async fn remove(deps: &Deps, caller: &Principal, id: &MemberId) -> Result<(), AppError> {
    let ws = caller.may(Action::ManageMembers)?;
    let key = keys::member(ws, id);
    let item = deps
        .table
        .get(&key)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    let member: Member = from_json(&item)?;
    let mut ops = vec![
        TxOp::Delete {
            key,
            condition: Some(Condition::item_present()),
        },
        TxOp::Delete {
            key: keys::api_key(Some(ws), &member.key_hash),
            condition: None,
        },
    ];
    if member.role == Role::Owner {
        ops.push(TxOp::Update {
            key: keys::workspace(ws),
            update: Update::new().add(OWNERS, -1),
            condition: Some(Condition::Gt(OWNERS.into(), Value::N(1))),
        });
    }
    match deps.table.transact(ops).await {
        Ok(()) => {}
        Err(TableError::TransactionCancelled { failed }) if failed.contains(&0) => {
            return Err(AppError::NotFound("member"));
        }
        Err(TableError::TransactionCancelled { failed }) if failed.contains(&2) => {
            return Err(AppError::Conflict(
                "this is the workspace's last owner: add another owner before removing it".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(workspace = %ws, member = %id, "member removed");
    Ok(())
}
