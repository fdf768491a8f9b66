//! Posts: compose, read, the calendar, schedule, publish now, cancel, review.

use super::{Window, post_id};
use crate::Answer;
use crate::extract::{Json, May, Path, Query, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use herald_app::page::Page;
use herald_app::posts::{self, NewPost};
use herald_app::{Deps, calendar as cal};
use serde::Deserialize;
use std::sync::Arc;

#[utoipa::path(
    post,
    path = "/v1/posts",
    tag = "posts",
    summary = "Compose a post",
    request_body(content = herald_app::posts::NewPost, content_type = "application/json"),
    responses((status = 201, description = "success", body = herald_app::posts::PostView, content_type = "application/json")),
)]
pub async fn create(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    headers: HeaderMap,
    Json(body): Json<NewPost>,
) -> Answer {
    let ws = &may.workspace;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable ASCII"))?,
        ),
    };
    let by = posts::Author::of(&may.caller);
    let created = posts::create(&deps, ws, &by, body, key).await?;
    let mut response = (StatusCode::CREATED, AxumJson(created.post)).into_response();
    if created.replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            "true".parse().expect("static header"),
        );
    }
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/v1/posts/{id}",
    tag = "posts",
    summary = "A post",
    params(
        ("id" = String, Path),
    ),
    responses((status = 200, description = "success", body = herald_app::posts::PostView, content_type = "application/json")),
)]
pub async fn get(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Path(id): Path<String>,
) -> Answer {
    let view = posts::get(&deps, &may.workspace, &post_id(&id)?).await?;
    Ok(AxumJson(view).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/posts",
    tag = "posts",
    summary = "The calendar window",
    params(
        ("from" = chrono::DateTime<chrono::Utc>, Query, description = "RFC 3339, inclusive"),
        ("to" = chrono::DateTime<chrono::Utc>, Query, description = "RFC 3339, exclusive"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "page size (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next` of the page before"),
    ),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_app::posts::PostView>, content_type = "application/json")),
)]
pub async fn calendar(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(window): Query<Window>,
) -> Answer {
    let (from, to, request) = window.read()?;
    let page = cal::page(&deps, &may.workspace, from, to, &request).await?;
    Ok(AxumJson(page).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    scheduled_at: DateTime<Utc>,
}

#[utoipa::path(
    post,
    path = "/v1/posts/{id}/schedule",
    tag = "posts",
    summary = "Schedule or move a post",
    params(
        ("id" = String, Path),
    ),
    request_body(content = ScheduleBody, content_type = "application/json"),
    responses((status = 200, description = "success", body = herald_app::posts::PostView, content_type = "application/json")),
)]
pub async fn schedule(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    Path(id): Path<String>,
    Json(body): Json<ScheduleBody>,
) -> Answer {
    let by = posts::Author::of(&may.caller);
    let view = posts::schedule(
        &deps,
        &may.workspace,
        &by,
        &post_id(&id)?,
        body.scheduled_at,
    )
    .await?;
    Ok(AxumJson(view).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/posts/{id}/publish",
    tag = "posts",
    summary = "Publish a post now",
    params(
        ("id" = String, Path),
    ),
    responses((status = 202, description = "success", body = herald_app::posts::PostView, content_type = "application/json")),
)]
pub async fn publish_now(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    Path(id): Path<String>,
) -> Answer {
    let now = deps.clock.now();
    let by = posts::Author::of(&may.caller);
    let view = posts::schedule(&deps, &may.workspace, &by, &post_id(&id)?, now).await?;
    Ok((StatusCode::ACCEPTED, AxumJson(view)).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/posts/{id}/approve",
    tag = "posts",
    summary = "Approve a post in review",
    params(
        ("id" = String, Path),
    ),
    responses((status = 200, description = "success", body = herald_app::posts::PostView, content_type = "application/json")),
)]
pub async fn approve(
    State(deps): State<Arc<Deps>>,
    may: May<can::Approve>,
    Path(id): Path<String>,
) -> Answer {
    let by = posts::Author::of(&may.caller);
    let view = posts::approve(&deps, &may.workspace, &post_id(&id)?, &by).await?;
    Ok(AxumJson(view).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangesBody {
    comment: String,
}

#[utoipa::path(
    post,
    path = "/v1/posts/{id}/request-changes",
    tag = "posts",
    summary = "Send a post back to draft",
    params(
        ("id" = String, Path),
    ),
    request_body(content = ChangesBody, content_type = "application/json"),
    responses((status = 200, description = "success", body = herald_app::posts::PostView, content_type = "application/json")),
)]
pub async fn request_changes(
    State(deps): State<Arc<Deps>>,
    may: May<can::Approve>,
    Path(id): Path<String>,
    Json(body): Json<ChangesBody>,
) -> Answer {
    let by = posts::Author::of(&may.caller);
    let view =
        posts::request_changes(&deps, &may.workspace, &post_id(&id)?, &by, &body.comment).await?;
    Ok(AxumJson(view).into_response())
}

#[utoipa::path(
    patch,
    path = "/v1/posts/{id}",
    tag = "posts",
    summary = "Edit a post",
    params(
        ("id" = String, Path),
    ),
    request_body(content = herald_app::posts::PostEdit, content_type = "application/json"),
    responses((status = 200, description = "success", body = herald_app::posts::PostView, content_type = "application/json")),
)]
pub async fn edit(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    Path(id): Path<String>,
    Json(body): Json<posts::PostEdit>,
) -> Answer {
    let by = posts::Author::of(&may.caller);
    let view = posts::edit(&deps, &may.workspace, &by, &post_id(&id)?, body).await?;
    Ok(AxumJson(view).into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/posts/{id}",
    tag = "posts",
    summary = "Cancel a post",
    params(
        ("id" = String, Path),
    ),
    responses((status = 204, description = "success")),
)]
pub async fn cancel(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    Path(id): Path<String>,
) -> Answer {
    posts::cancel(&deps, &may.workspace, &post_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/v1/posts/measure",
    tag = "posts",
    summary = "How long a text is on each network",
    description = "Counts `text` (or a variant's text) as each named network counts it, with the \
same counters compose-time validation uses: X's weighted URLs, Bluesky's graphemes, Mastodon's \
per-URL weight. Body `{\"text\",\"platforms\":[...],\"variants\"?:{platform:{\"text\"}}}` → \
`{\"items\":[{\"platform\",\"length\",\"max\",\"counting\",\"remaining\"}]}`. Writes nothing.",
    request_body(content = herald_app::posts::MeasureRequest, content_type = "application/json"),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_app::posts::Measure>, content_type = "application/json")),
)]
pub async fn measure(
    State(deps): State<Arc<Deps>>,
    _may: May<can::Read>,
    Json(body): Json<posts::MeasureRequest>,
) -> Answer {
    let items = posts::measure(&deps, &body)?;
    Ok(AxumJson(Page { items, next: None }).into_response())
}
