//! `GET /v1/audit?from=&to=`: the audit log, a page at a time. It has no write of its own.

use super::Window;
use crate::Answer;
use crate::extract::{May, Query, can};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::response::IntoResponse;
use herald_app::{Deps, audit};
use std::sync::Arc;

#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "audit",
    summary = "The audit log",
    params(
        ("from" = chrono::DateTime<chrono::Utc>, Query, description = "RFC 3339, inclusive"),
        ("to" = chrono::DateTime<chrono::Utc>, Query, description = "RFC 3339, exclusive"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "page size (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next` of the page before"),
    ),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_domain::AuditEntry>, content_type = "application/json")),
)]
pub async fn list(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(window): Query<Window>,
) -> Answer {
    let (from, to, request) = window.read()?;
    let page = audit::page(&deps, &may.workspace, from, to, &request).await?;
    Ok(AxumJson(page).into_response())
}
