//! `POST /v1/workspaces` (admin).

use crate::Answer;
use crate::audit::AuditSlot;
use crate::extract::{Caller, Json};
use axum::Json as AxumJson;
use axum::extract::{Extension, State};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use herald_app::AppError;
use herald_app::auth::Principal;
use herald_app::{Deps, workspaces};
use herald_domain::Actor;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    name: String,
}

#[utoipa::path(
    post,
    path = "/v1/workspaces",
    tag = "workspaces",
    summary = "Create a workspace (admin key)",
    request_body(content = NewWorkspace, content_type = "application/json"),
    responses((status = 201, description = "success", body = herald_app::workspaces::CreatedWorkspace, content_type = "application/json")),
)]
pub async fn create(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    audit: Option<Extension<AuditSlot>>,
    request: Request,
) -> Answer {
    // Refused before the body is read: a member's key is 403 whatever it sends.
    if caller != Principal::Admin {
        return Err(AppError::Forbidden.into());
    }
    let Json(body) = Json::<NewWorkspace>::from_request(request, &deps).await?;
    let created = workspaces::create(&deps, &caller, &body.name).await?;
    if let Some(slot) = audit {
        slot.acting(&created.id, Actor::Admin);
    }
    Ok((StatusCode::CREATED, AxumJson(created)).into_response())
}
