//! The inbox (API.md): `GET /v1/inbox` in answering order, one item, a reply through its
//! network, assigning and dismissing; `GET`/`PUT /v1/inbox/auto-replies`.

use crate::Answer;
use crate::extract::{Json, May, Path, Query, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use herald_app::inbox::{self, Status, rules};
use herald_app::page::PageRequest;
use herald_app::{AppError, Deps};
use herald_domain::{InboxItemId, MemberId};
use serde::Deserialize;
use std::sync::Arc;

fn item_id(raw: &str) -> Result<InboxItemId, ApiError> {
    InboxItemId::parse(raw).ok_or(ApiError::App(AppError::NotFound("inbox item")))
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/inbox",
    tag = "inbox",
    summary = "The inbox, unanswered and negative first",
    params(
        ("status" = Option<herald_app::inbox::Status>, Query),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "page size (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next` of the page before"),
    ),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_app::inbox::InboxItem>, content_type = "application/json")),
)]
pub async fn list(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(q): Query<ListQuery>,
) -> Answer {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            Status::parse(s)
                .ok_or_else(|| ApiError::invalid("status", "unanswered, answered or dismissed"))?,
        ),
    };
    let request = PageRequest::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    let page = inbox::list(&deps, &may.workspace, status, &request).await?;
    Ok(AxumJson(page).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/inbox/{id}",
    tag = "inbox",
    summary = "One inbox item",
    params(
        ("id" = String, Path),
    ),
    responses((status = 200, description = "success", body = herald_app::inbox::InboxItem, content_type = "application/json")),
)]
pub async fn get(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Path(id): Path<String>,
) -> Answer {
    let item = inbox::get(&deps, &may.workspace, &item_id(&id)?).await?;
    Ok(AxumJson(item).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    text: String,
}

#[utoipa::path(
    post,
    path = "/v1/inbox/{id}/reply",
    tag = "inbox",
    summary = "Reply on the network",
    params(
        ("id" = String, Path),
    ),
    request_body(content = ReplyBody, content_type = "application/json"),
    responses((status = 201, description = "success", body = herald_app::inbox::InboxItem, content_type = "application/json")),
)]
pub async fn reply(
    State(deps): State<Arc<Deps>>,
    may: May<can::AnswerInbox>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Json(body): Json<ReplyBody>,
) -> Answer {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable ASCII"))?,
        ),
    };
    let replied =
        inbox::once::reply(&deps, &may.workspace, &item_id(&id)?, &body.text, key).await?;
    let mut response = (StatusCode::CREATED, AxumJson(replied.item)).into_response();
    if replied.replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            "true".parse().expect("static header"),
        );
    }
    Ok(response)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// A member id, or null for nobody.
    assignee: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/inbox/{id}/assign",
    tag = "inbox",
    summary = "Give an item to a member",
    params(
        ("id" = String, Path),
    ),
    request_body(content = AssignBody, content_type = "application/json"),
    responses((status = 200, description = "success", body = herald_app::inbox::InboxItem, content_type = "application/json")),
)]
pub async fn assign(
    State(deps): State<Arc<Deps>>,
    may: May<can::AnswerInbox>,
    Path(id): Path<String>,
    Json(body): Json<AssignBody>,
) -> Answer {
    let id = item_id(&id)?;
    let assignee = match body.assignee.as_deref() {
        None => None,
        Some(raw) => Some(
            MemberId::parse(raw)
                .ok_or_else(|| ApiError::invalid("assignee", "not a member of this workspace"))?,
        ),
    };
    let item = inbox::assign(&deps, &may.workspace, &id, assignee).await?;
    Ok(AxumJson(item).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/inbox/{id}/dismiss",
    tag = "inbox",
    summary = "Set an item aside",
    params(
        ("id" = String, Path),
    ),
    responses((status = 200, description = "success", body = herald_app::inbox::InboxItem, content_type = "application/json")),
)]
pub async fn dismiss(
    State(deps): State<Arc<Deps>>,
    may: May<can::AnswerInbox>,
    Path(id): Path<String>,
) -> Answer {
    let item = inbox::dismiss(&deps, &may.workspace, &item_id(&id)?).await?;
    Ok(AxumJson(item).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/inbox/auto-replies",
    tag = "inbox",
    summary = "The auto-reply rules",
    responses((status = 200, description = "success", body = herald_app::inbox::rules::Rules, content_type = "application/json")),
)]
pub async fn get_rules(State(deps): State<Arc<Deps>>, may: May<can::Read>) -> Answer {
    Ok(AxumJson(rules::get(&deps, &may.workspace).await?).into_response())
}

#[utoipa::path(
    put,
    path = "/v1/inbox/auto-replies",
    tag = "inbox",
    summary = "Replace the auto-reply rules",
    request_body(content = herald_app::inbox::rules::Rules, content_type = "application/json"),
    responses((status = 200, description = "success", body = herald_app::inbox::rules::Rules, content_type = "application/json")),
)]
pub async fn put_rules(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageInboxRules>,
    Json(body): Json<rules::Rules>,
) -> Answer {
    Ok(AxumJson(rules::put(&deps, &may.workspace, body).await?).into_response())
}
