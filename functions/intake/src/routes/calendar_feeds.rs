//! Secret calendar feeds: create and revoke with a key; the feed itself is read with no key,
//! its URL being the credential.

use crate::Answer;
use crate::extract::{May, Path, Query, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use herald_app::{AppError, Deps, feeds};
use herald_domain::WorkspaceId;
use serde::Serialize;
use std::sync::Arc;

/// Where feeds are served; the path names workspace, feed and secret, so a lookup is one read.
pub const FEED_PATH: &str = "/ics/{workspace}/{feed}/{secret}";

/// A new feed: its id and its secret URL (shown in this answer only).
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedCreated {
    /// `feed_` and 32 hex digits.
    id: String,
    url: String,
}

#[utoipa::path(
    post,
    path = "/v1/calendar/feeds",
    tag = "calendar",
    summary = "Create a secret calendar feed",
    responses((status = 201, description = "success", body = FeedCreated, content_type = "application/json")),
)]
pub async fn create(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    headers: HeaderMap,
) -> Answer {
    let ws = &may.workspace;
    let feed = feeds::create(&deps, ws).await?;
    let path = format!("/ics/{ws}/{}/{}.ics", feed.id, feed.secret);
    let url = match origin(&headers) {
        Some(origin) => format!("{origin}{path}"),
        None => path,
    };
    Ok((
        StatusCode::CREATED,
        AxumJson(FeedCreated { id: feed.id, url }),
    )
        .into_response())
}

/// The origin the client reached us at, so the URL works from where it was asked for: https
/// unless a forwarding proxy says otherwise or the host is this machine.
pub fn origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_graphic()) || host.contains('/') {
        return None;
    }
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "http" || *p == "https");
    let local =
        host.starts_with("127.0.0.1") || host.starts_with("localhost") || host.starts_with("[::1]");
    let scheme = forwarded.unwrap_or(if local { "http" } else { "https" });
    Some(format!("{scheme}://{host}"))
}

#[utoipa::path(
    get,
    path = "/v1/calendar/feeds",
    tag = "calendar",
    summary = "List calendar feeds",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "page size (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next` of the page before"),
    ),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_app::feeds::FeedView>, content_type = "application/json")),
)]
pub async fn list(
    State(deps): State<Arc<Deps>>,
    may: May<can::Read>,
    Query(paging): Query<super::Paging>,
) -> Answer {
    let page = feeds::list(&deps, &may.workspace, &paging.request()?).await?;
    Ok(AxumJson(page).into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/calendar/feeds/{id}",
    tag = "calendar",
    summary = "Revoke a calendar feed",
    params(
        ("id" = String, Path),
    ),
    responses((status = 204, description = "success")),
)]
pub async fn revoke(
    State(deps): State<Arc<Deps>>,
    may: May<can::WritePosts>,
    Path(id): Path<String>,
) -> Answer {
    let ws = &may.workspace;
    feeds::revoke(&deps, ws, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET` of a feed URL: the calendar as `text/calendar`, or 404 for anything that does not
/// open a live feed.
#[utoipa::path(
    get,
    path = "/ics/{workspace}/{feed}/{secret}",
    tag = "calendar",
    summary = "Read a calendar feed (its URL is the credential)",
    security(()),
    params(
        ("workspace" = String, Path),
        ("feed" = String, Path),
        ("secret" = String, Path),
    ),
    responses((status = 200, description = "success", body = String, content_type = "text/calendar")),
)]
pub async fn read(
    State(deps): State<Arc<Deps>>,
    Path((workspace, feed, secret)): Path<(String, String, String)>,
) -> Answer {
    let ws = WorkspaceId::parse(&workspace).ok_or(ApiError::NotFound)?;
    let secret = secret.strip_suffix(".ics").ok_or(ApiError::NotFound)?;
    let body = match feeds::render(&deps, &ws, &feed, secret).await {
        Ok(body) => body,
        Err(AppError::NotFound(_)) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    // The URL is a credential: no shared cache may keep the answer.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(response)
}
