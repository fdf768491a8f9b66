//! `GET /v1/workspace` (any member) and `PATCH /v1/workspace` (owner): the settings.

use crate::Answer;
use crate::extract::{Json, May, can};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::response::IntoResponse;
use herald_app::{Deps, settings};
use std::sync::Arc;

pub async fn get(State(deps): State<Arc<Deps>>, may: May<can::Read>) -> Answer {
    Ok(AxumJson(settings::get(&deps, &may.caller).await?).into_response())
}

pub async fn update(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageSettings>,
    Json(patch): Json<serde_json::Value>,
) -> Answer {
    Ok(AxumJson(settings::update(&deps, &may.caller, &patch).await?).into_response())
}
