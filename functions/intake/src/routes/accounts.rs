//! Accounts of a workspace and their posting queues.

use super::{Paging, account_id};
use crate::Answer;
use crate::extract::{Json, May, Path, Query, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use herald_app::{AppError, Deps, accounts, queue};
use std::sync::Arc;

#[utoipa::path(
    post,
    path = "/v1/accounts",
    tag = "accounts",
    summary = "Connect an account",
    request_body(content = herald_app::accounts::NewAccount, content_type = "application/json"),
    responses((status = 201, description = "success", body = herald_app::accounts::AccountView, content_type = "application/json")),
)]
pub async fn create(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageAccounts>,
    Json(body): Json<accounts::NewAccount>,
) -> Answer {
    let account = accounts::create(&deps, &may.workspace, body).await?;
    Ok((StatusCode::CREATED, AxumJson(account)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/accounts",
    tag = "accounts",
    summary = "List accounts",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "page size (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next` of the page before"),
    ),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_app::accounts::AccountView>, content_type = "application/json")),
)]
pub async fn list(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(paging): Query<Paging>,
) -> Answer {
    let page = accounts::page(&deps, &may.workspace, &paging.request()?).await?;
    Ok(AxumJson(page).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/accounts/{id}/queue",
    tag = "accounts",
    summary = "An account's posting queue",
    params(
        ("id" = String, Path),
    ),
    responses((status = 200, description = "success", body = herald_app::queue::QueueSettings, content_type = "application/json")),
)]
pub async fn get_queue(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Path(id): Path<String>,
) -> Answer {
    let ws = &may.workspace;
    let id = account_id(&id)?;
    accounts::get(&deps, ws, &id).await?;
    let queue = queue::get(&deps, ws, &id)
        .await?
        .ok_or(ApiError::App(AppError::NotFound("queue")))?;
    Ok(AxumJson(queue).into_response())
}

#[utoipa::path(
    put,
    path = "/v1/accounts/{id}/queue",
    tag = "accounts",
    summary = "Set an account's posting queue",
    params(
        ("id" = String, Path),
    ),
    request_body(content = herald_app::queue::QueueSettings, content_type = "application/json"),
    responses((status = 200, description = "success", body = herald_app::queue::QueueSettings, content_type = "application/json")),
)]
pub async fn set_queue(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageQueues>,
    Path(id): Path<String>,
    Json(body): Json<queue::QueueSettings>,
) -> Answer {
    let queue = queue::set(&deps, &may.workspace, &account_id(&id)?, body).await?;
    Ok(AxumJson(queue).into_response())
}
