//! `GET /v1/workspace` (any member) and `PATCH /v1/workspace` (owner): the settings.

use crate::Answer;
use crate::extract::{Json, May, can};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::response::IntoResponse;
use herald_app::{Deps, settings};
use std::sync::Arc;

#[utoipa::path(
    get,
    path = "/v1/workspace",
    tag = "workspace",
    summary = "The workspace's settings",
    responses((status = 200, description = "success", body = herald_app::settings::SettingsView, content_type = "application/json")),
)]
pub async fn get(State(deps): State<Arc<Deps>>, may: May<can::Read>) -> Answer {
    Ok(AxumJson(settings::get(&deps, &may.caller).await?).into_response())
}

#[utoipa::path(
    patch,
    path = "/v1/workspace",
    tag = "workspace",
    summary = "Change the workspace's settings",
    request_body(content = herald_app::settings::SettingsChange, content_type = "application/json"),
    responses((status = 200, description = "success", body = herald_app::settings::SettingsView, content_type = "application/json")),
)]
pub async fn update(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageSettings>,
    Json(patch): Json<serde_json::Value>,
) -> Answer {
    Ok(AxumJson(settings::update(&deps, &may.caller, &patch).await?).into_response())
}
