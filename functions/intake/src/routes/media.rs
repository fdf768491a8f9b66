//! Media: an upload URL for new bytes, and an item with its renditions' URLs.

use crate::Answer;
use crate::extract::{Json, May, Path, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use herald_app::media::{self, NewUpload};
use herald_app::{AppError, Deps};
use herald_domain::MediaId;
use std::sync::Arc;

pub async fn create_upload(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    Json(body): Json<NewUpload>,
) -> Answer {
    let upload = media::create_upload(&deps, &may.workspace, body).await?;
    Ok((StatusCode::CREATED, AxumJson(upload)).into_response())
}

pub async fn get(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Path(id): Path<String>,
) -> Answer {
    let id = MediaId::parse(&id).ok_or(ApiError::App(AppError::NotFound("media")))?;
    let view = media::get(&deps, &may.workspace, &id).await?;
    Ok(AxumJson(view).into_response())
}
