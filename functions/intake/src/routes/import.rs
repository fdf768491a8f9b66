//! `POST /v1/posts/import`: a CSV body, each row created as `POST /v1/posts` would.

use crate::Answer;
use crate::extract::{May, Query, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::body::Bytes;
use axum::extract::{Extension, FromRequest, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use herald_app::{Deps, import, posts};
use serde::Deserialize;
use std::sync::Arc;

/// The import route's body limit (the rest of the API keeps `MAX_BODY`): 10,000 rows of
/// tweet-length posts fit, and it stays below Lambda's 6 MB request payload.
pub const MAX_IMPORT_BODY: usize = 4 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    dry_run: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/v1/posts/import",
    tag = "posts",
    summary = "Import posts from CSV",
    params(
        ("dry_run" = Option<bool>, Query),
    ),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "success", body = herald_app::import::ImportReport, content_type = "application/json")),
)]
pub async fn import(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    Extension(slot): Extension<crate::audit::AuditSlot>,
    Query(options): Query<Options>,
    headers: HeaderMap,
    request: Request,
) -> Answer {
    let ws = &may.workspace;
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("text/csv"));
    if !is_csv {
        return Err(ApiError::UnsupportedMediaType("text/csv"));
    }
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable ASCII"))?,
        ),
    };
    // The limit is checked as the body arrives, so an oversized one is 413 before parsing.
    let body = Bytes::from_request(request, &deps).await.map_err(|e| {
        use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
        match e {
            BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                ApiError::TooLarge
            }
            _ => ApiError::Malformed("the body could not be read to its end".into()),
        }
    })?;
    let by = posts::Author::of(&may.caller);
    if options.dry_run == Some(true) {
        slot.nothing_written();
    }
    let report =
        import::import(&deps, ws, &by, &body, options.dry_run.unwrap_or(false), key).await?;
    Ok(AxumJson(report).into_response())
}
