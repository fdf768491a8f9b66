//! Connecting social accounts to a workspace. Credentials are sealed (AES-GCM, bound to their
//! workspace and account) before they touch the table, and opened only to call the network.

use crate::page::{self, Page, PageRequest, Scope};
use crate::records::{from_json, json_item};
use crate::{AppError, Deps, new_id};
use herald_domain::{Account, AccountId, AccountStatus, Platform, WorkspaceId};
use herald_ports::{AccountContext, Condition, Item, Query, TxOp, Value};
use herald_storage::keys;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Read by `Platform::parse`, so the document names the same values.
    #[schema(value_type = Platform)]
    pub platform: String,
    pub handle: String,
    #[serde(default)]
    pub credentials: Option<serde_json::Value>,
}

/// An account as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: AccountId,
    pub platform: Platform,
    pub handle: String,
    pub status: AccountStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        AccountView {
            id: a.id,
            platform: a.platform,
            handle: a.handle,
            status: a.status,
            created_at: a.created_at,
        }
    }
}

/// The fields each pasted-credential network needs, and which of them are service URLs.
fn required_credentials(platform: Platform) -> Option<(&'static [&'static str], &'static str)> {
    match platform {
        Platform::Bluesky => Some((&["service", "identifier", "app_password"], "service")),
        Platform::Mastodon => Some((&["instance", "access_token"], "instance")),
        _ => None,
    }
}

fn check_credentials(
    deps: &Deps,
    platform: Platform,
    credentials: Option<&serde_json::Value>,
) -> Result<Option<serde_json::Value>, AppError> {
    if platform == Platform::Sandbox {
        return match credentials {
            None => Ok(None),
            Some(serde_json::Value::Object(m)) if m.is_empty() => Ok(None),
            Some(_) => Err(AppError::invalid(
                "credentials",
                "the sandbox network takes no credentials",
            )),
        };
    }
    let Some((fields, url_field)) = required_credentials(platform) else {
        return Err(AppError::invalid(
            "platform",
            format!("{platform} accounts are connected through GET /v1/oauth/{platform}/start"),
        ));
    };
    let Some(serde_json::Value::Object(map)) = credentials else {
        return Err(AppError::invalid(
            "credentials",
            format!("{platform} needs credentials {{{}}}", fields.join(", ")),
        ));
    };
    let mut errors = Vec::new();
    for field in fields {
        match map.get(*field) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() && s.len() <= 4096 => {}
            _ => errors.push(herald_domain::FieldError::new(
                format!("credentials.{field}"),
                "must be a non-empty string",
            )),
        }
    }
    if let Some(unknown) = map.keys().find(|k| !fields.contains(&k.as_str())) {
        errors.push(herald_domain::FieldError::new(
            format!("credentials.{unknown}"),
            "unknown field",
        ));
    }
    if let Some(serde_json::Value::String(url)) = map.get(url_field)
        && let Err(message) = deps.guard.check_url(url)
    {
        errors.push(herald_domain::FieldError::new(
            format!("credentials.{url_field}"),
            message,
        ));
    }
    if errors.is_empty() {
        Ok(Some(serde_json::Value::Object(map.clone())))
    } else {
        Err(AppError::Invalid(errors))
    }
}

fn sealing_aad(ws: &WorkspaceId, acct: &AccountId) -> Vec<u8> {
    herald_ports::account_binding(ws.as_str(), acct.as_str())
}

/// The item holding an account's sealed credentials.
pub fn credentials_item(
    deps: &Deps,
    ws: &WorkspaceId,
    acct: &AccountId,
    credentials: &serde_json::Value,
) -> Item {
    let plain = serde_json::to_vec(credentials).expect("json serializes");
    let sealed = deps.sealer.seal(&plain, &sealing_aad(ws, acct));
    let mut item = keys::credentials(ws, acct).item();
    item.insert("sealed".into(), Value::S(sealed));
    item
}

pub async fn create(
    deps: &Deps,
    ws: &WorkspaceId,
    new: NewAccount,
) -> Result<AccountView, AppError> {
    let platform = Platform::parse(&new.platform).ok_or_else(|| {
        AppError::invalid("platform", format!("unknown platform {:?}", new.platform))
    })?;
    let connector = deps
        .connector(platform)
        .map_err(|_| AppError::invalid("platform", format!("{platform} is not enabled here")))?;
    let polled = connector.polls_notifications();
    let handle = Account::validate_handle(&new.handle)?;
    let credentials = check_credentials(deps, platform, new.credentials.as_ref())?;
    let account = Account {
        id: new_id!(deps, AccountId),
        workspace: ws.clone(),
        platform,
        handle,
        status: AccountStatus::Active,
        created_at: deps.clock.now(),
    };
    let mut ops = vec![TxOp::Put {
        item: json_item(&keys::account(ws, &account.id), "account", &account),
        condition: Some(Condition::item_absent()),
    }];
    if let Some(credentials) = &credentials {
        ops.push(TxOp::Put {
            item: credentials_item(deps, ws, &account.id, credentials),
            condition: Some(Condition::item_absent()),
        });
    }
    if polled {
        // A network with no webhooks: its replies and mentions are polled from here on.
        ops.push(crate::engagement::poll::cursor_op(
            ws,
            &account.id,
            platform,
        ));
    }
    deps.table.transact(ops).await?;
    tracing::info!(workspace = %ws, account = %account.id, %platform, "account connected");
    if polled {
        crate::aggregate::wake::next_notifications(deps, deps.clock.now()).await;
    }
    Ok(account.into())
}

/// One page of a workspace's accounts, in id order (oldest first).
pub async fn page(
    deps: &Deps,
    ws: &WorkspaceId,
    request: &PageRequest,
) -> Result<Page<AccountView>, AppError> {
    let (pk, prefix) = keys::accounts_of(ws);
    let page = page::query(
        deps,
        &Scope::new(ws, "accounts"),
        Query::table(pk).sk(prefix),
        request,
    )
    .await?;
    let items = page
        .items
        .iter()
        .map(|i| from_json::<Account>(i).map(AccountView::from))
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        next: page.next,
    })
}

/// Every account of a workspace, for use cases that need them all (the API pages: `page`).
pub async fn list(deps: &Deps, ws: &WorkspaceId) -> Result<Vec<AccountView>, AppError> {
    let (pk, prefix) = keys::accounts_of(ws);
    let items = deps.table.query_all(Query::table(pk).sk(prefix)).await?;
    items
        .iter()
        .map(|i| from_json::<Account>(i).map(AccountView::from))
        .collect()
}

pub async fn get(deps: &Deps, ws: &WorkspaceId, id: &AccountId) -> Result<Account, AppError> {
    let item = deps
        .table
        .get(&keys::account(ws, id))
        .await?
        .ok_or(AppError::NotFound("account"))?;
    from_json(&item)
}

/// An account with its credentials opened, to call its network.
pub async fn context(deps: &Deps, account: &Account) -> Result<AccountContext, AppError> {
    let credentials = match deps
        .table
        .get(&keys::credentials(&account.workspace, &account.id))
        .await?
    {
        None => serde_json::Value::Null,
        Some(item) => {
            let sealed = item
                .get("sealed")
                .and_then(Value::as_s)
                .ok_or_else(|| AppError::Corrupt("credentials without sealed value".into()))?;
            let plain = deps
                .sealer
                .open(sealed, &sealing_aad(&account.workspace, &account.id))
                .map_err(|e| AppError::Corrupt(format!("credentials do not open: {e}")))?;
            serde_json::from_slice(&plain).map_err(|e| AppError::Corrupt(e.to_string()))?
        }
    };
    Ok(AccountContext {
        workspace: account.workspace.clone(),
        account: account.id.clone(),
        handle: account.handle.clone(),
        credentials: credentials.into(),
    })
}
