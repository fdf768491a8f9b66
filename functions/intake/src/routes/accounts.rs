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

pub async fn create(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageAccounts>,
    Json(body): Json<accounts::NewAccount>,
) -> Answer {
    let account = accounts::create(&deps, &may.workspace, body).await?;
    Ok((StatusCode::CREATED, AxumJson(account)).into_response())
}

pub async fn list(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(paging): Query<Paging>,
) -> Answer {
    let page = accounts::page(&deps, &may.workspace, &paging.request()?).await?;
    Ok(AxumJson(page).into_response())
}

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

pub async fn set_queue(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageQueues>,
    Path(id): Path<String>,
    Json(body): Json<queue::QueueSettings>,
) -> Answer {
    let queue = queue::set(&deps, &may.workspace, &account_id(&id)?, body).await?;
    Ok(AxumJson(queue).into_response())
}
