//! `GET /v1/sandbox/{account}/outbox`: what the sandbox network received, oldest first.

use super::{Paging, account_id};
use crate::Answer;
use crate::extract::{May, Path, Query, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::response::IntoResponse;
use herald_app::page::{self, Page, Scope};
use herald_app::{AppError, Deps, accounts};
use herald_domain::Platform;
use herald_networks::sandbox;
use herald_ports::Query as TableQuery;
use herald_storage::keys;
use std::sync::Arc;

#[utoipa::path(
    get,
    path = "/v1/sandbox/{account}/outbox",
    tag = "sandbox",
    summary = "What the sandbox network received",
    params(
        ("account" = String, Path),
        ("limit" = Option<u32>, Query),
        ("cursor" = Option<String>, Query),
    ),
    responses((status = 200, description = "success", body = serde_json::Value, content_type = "application/json")),
)]
pub async fn outbox(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Path(account): Path<String>,
    Query(paging): Query<Paging>,
) -> Answer {
    let ws = &may.workspace;
    let id = account_id(&account)?;
    let account = accounts::get(&deps, ws, &id).await?;
    if account.platform != Platform::Sandbox {
        return Err(ApiError::App(AppError::NotFound("sandbox account")));
    }
    let entries = page::query(
        &deps,
        &Scope::new(ws, &format!("outbox/{id}")),
        TableQuery::table(keys::sandbox_outbox(ws, &id)),
        &paging.request()?,
    )
    .await?;
    let page = Page {
        items: entries.items.iter().filter_map(sandbox::entry).collect(),
        next: entries.next,
    };
    Ok(AxumJson(page).into_response())
}
