//! `POST /v1/workspaces` (admin).

use crate::Answer;
use crate::extract::{Caller, Json};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use herald_app::{Deps, workspaces};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    name: String,
}

pub async fn create(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Json(body): Json<NewWorkspace>,
) -> Answer {
    let created = workspaces::create(&deps, &caller, &body.name).await?;
    Ok((StatusCode::CREATED, AxumJson(created)).into_response())
}
