//! Members of a workspace and their keys: add (owner), list, remove.

use super::Paging;
use crate::Answer;
use crate::extract::{Json, May, Path, Query, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use herald_app::{AppError, Deps, members};
use herald_domain::MemberId;
use std::sync::Arc;

pub async fn create(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageMembers>,
    Json(body): Json<members::NewMember>,
) -> Answer {
    let created = members::create(&deps, &may.caller, body).await?;
    Ok((StatusCode::CREATED, AxumJson(created)).into_response())
}

pub async fn list(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(paging): Query<Paging>,
) -> Answer {
    let page = members::page(&deps, &may.caller, &paging.request()?).await?;
    Ok(AxumJson(page).into_response())
}

pub async fn remove(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageMembers>,
    Path(id): Path<String>,
) -> Answer {
    let id = MemberId::parse(&id).ok_or(ApiError::App(AppError::NotFound("member")))?;
    members::remove(&deps, &may.caller, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
