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

#[utoipa::path(
    post,
    path = "/v1/members",
    tag = "members",
    summary = "Add a member",
    request_body(content = herald_app::members::NewMember, content_type = "application/json"),
    responses((status = 201, description = "success", body = herald_app::members::CreatedMember, content_type = "application/json")),
)]
pub async fn create(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageMembers>,
    Json(body): Json<members::NewMember>,
) -> Answer {
    let created = members::create(&deps, &may.caller, body).await?;
    Ok((StatusCode::CREATED, AxumJson(created)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/members",
    tag = "members",
    summary = "List members",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "page size (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next` of the page before"),
    ),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_app::members::MemberView>, content_type = "application/json")),
)]
pub async fn list(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(paging): Query<Paging>,
) -> Answer {
    let page = members::page(&deps, &may.caller, &paging.request()?).await?;
    Ok(AxumJson(page).into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/members/{id}",
    tag = "members",
    summary = "Remove a member",
    params(
        ("id" = String, Path),
    ),
    responses((status = 204, description = "success")),
)]
pub async fn remove(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageMembers>,
    Path(id): Path<String>,
) -> Answer {
    let id = MemberId::parse(&id).ok_or(ApiError::App(AppError::NotFound("member")))?;
    members::remove(&deps, &may.caller, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
