//! Media: an upload URL for new bytes, an import from a public URL, and an item with its
//! renditions' URLs.

use crate::Answer;
use crate::extract::{Json, May, Path, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use herald_app::media::{self, NewImport, NewUpload};
use herald_app::{AppError, Deps};
use herald_domain::MediaId;
use std::sync::Arc;

#[utoipa::path(
    post,
    path = "/v1/media/uploads",
    tag = "media",
    summary = "An upload URL for new media (presigned S3 PUT, or a signed local URL)",
    request_body(content = herald_app::media::NewUpload, content_type = "application/json"),
    responses((status = 201, description = "success", body = herald_app::media::Upload, content_type = "application/json")),
)]
pub async fn create_upload(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    Json(body): Json<NewUpload>,
) -> Answer {
    let upload = media::create_upload(&deps, &may.workspace, body).await?;
    Ok((StatusCode::CREATED, AxumJson(upload)).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/media/imports",
    tag = "media",
    summary = "Import media from a public URL (fetched through the SSRF guard)",
    request_body(content = herald_app::media::NewImport, content_type = "application/json"),
    responses((status = 202, description = "accepted: the item is processing", body = herald_app::media::Import, content_type = "application/json")),
)]
pub async fn create_import(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    Json(body): Json<NewImport>,
) -> Answer {
    let import = media::create_import(&deps, &may.workspace, body).await?;
    Ok((StatusCode::ACCEPTED, AxumJson(import)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/media/{id}",
    tag = "media",
    summary = "A media item, its status and its renditions with signed URLs",
    params(
        ("id" = String, Path),
    ),
    responses((status = 200, description = "success", body = herald_app::media::MediaView, content_type = "application/json")),
)]
pub async fn get(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Path(id): Path<String>,
) -> Answer {
    let id = MediaId::parse(&id).ok_or(ApiError::App(AppError::NotFound("media")))?;
    let view = media::get(&deps, &may.workspace, &id).await?;
    Ok(AxumJson(view).into_response())
}
