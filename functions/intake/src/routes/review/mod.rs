//! Client review links: created and revoked with a manager's key; the page itself is read with
//! no key, its URL being the credential, and takes a client's approval or comment as a plain
//! HTML form (no script), each landing in the audit log as the link's client.

mod html;

use super::post_id;
use crate::Answer;
use crate::audit::AuditSlot;
use crate::extract::{Json, May, Path, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use herald_app::{Deps, review_links};
use herald_domain::Actor;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
}

/// A new review link: its page's URL is the credential, shown in this answer only.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct LinkCreated {
    id: herald_domain::ReviewLinkId,
    url: String,
    expires_at: DateTime<Utc>,
}

#[utoipa::path(
    post,
    path = "/v1/review-links",
    tag = "review",
    summary = "Create a client review link",
    request_body(content = NewLink, content_type = "application/json"),
    responses((status = 201, description = "success", body = LinkCreated, content_type = "application/json")),
)]
pub async fn create(
    State(deps): State<Arc<Deps>>,
    may: May<can::Approve>,
    headers: HeaderMap,
    Json(body): Json<NewLink>,
) -> Answer {
    let issued = review_links::create(
        &deps,
        &may.workspace,
        may.caller.actor(),
        body.from,
        body.to,
        body.expires_at,
    )
    .await?;
    let path = format!("/review/{}", issued.token);
    let url = match super::calendar_feeds::origin(&headers) {
        Some(origin) => format!("{origin}{path}"),
        None => path,
    };
    Ok((
        StatusCode::CREATED,
        AxumJson(LinkCreated {
            id: issued.id,
            url,
            expires_at: issued.expires_at,
        }),
    )
        .into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/review-links/{id}",
    tag = "review",
    summary = "Revoke a review link",
    params(
        ("id" = String, Path),
    ),
    responses((status = 204, description = "success")),
)]
pub async fn revoke(
    State(deps): State<Arc<Deps>>,
    may: May<can::Approve>,
    Path(id): Path<String>,
) -> Answer {
    review_links::revoke(&deps, &may.workspace, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /review/{token}`: the client's page.
#[utoipa::path(
    get,
    path = "/review/{token}",
    tag = "review",
    summary = "The client review page",
    security(()),
    params(
        ("token" = String, Path),
    ),
    responses((status = 200, description = "success", body = String, content_type = "text/html")),
)]
pub async fn page(State(deps): State<Arc<Deps>>, Path(token): Path<String>) -> Answer {
    let link = review_links::open(&deps, &token).await?;
    let page = review_links::page(&deps, &link).await?;
    Ok(html_answer(StatusCode::OK, html::page(&page, &token)))
}

/// `POST /review/{token}/posts/{id}/approve`: back to the page, which shows the post approved.
#[utoipa::path(
    post,
    path = "/review/{token}/posts/{id}/approve",
    tag = "review",
    summary = "A client approves a post",
    security(()),
    params(
        ("token" = String, Path),
        ("id" = String, Path),
    ),
    responses((status = 303, description = "success")),
)]
pub async fn approve(
    State(deps): State<Arc<Deps>>,
    Extension(slot): Extension<AuditSlot>,
    Path((token, id)): Path<(String, String)>,
) -> Answer {
    let link = review_links::open(&deps, &token).await?;
    let id = post_id(&id)?;
    slot.acting(&link.workspace, Actor::Client(link.id.clone()));
    review_links::approve(&deps, &link, &id).await?;
    Ok(back_to_page(&token))
}

/// The review page's comment form, as the document describes it (the handler reads the body
/// itself: a form that is not one is answered 415, not axum's plain-text rejection).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct CommentForm {
    comment: String,
}

/// `POST /review/{token}/posts/{id}/comments` with a form field `comment`.
#[utoipa::path(
    post,
    path = "/review/{token}/posts/{id}/comments",
    tag = "review",
    summary = "A client comments on a post",
    security(()),
    params(
        ("token" = String, Path),
        ("id" = String, Path),
    ),
    request_body(content = CommentForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "success")),
)]
pub async fn comment(
    State(deps): State<Arc<Deps>>,
    Extension(slot): Extension<AuditSlot>,
    Path((token, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let link = review_links::open(&deps, &token).await?;
    let id = post_id(&id)?;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(ApiError::UnsupportedMediaType(
            "application/x-www-form-urlencoded",
        ));
    }
    let comment = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "comment")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| ApiError::invalid("comment", "required"))?;
    slot.acting(&link.workspace, Actor::Client(link.id.clone()));
    review_links::comment(&deps, &link, &id, &comment).await?;
    Ok(back_to_page(&token))
}

/// 303: the browser reads the page again with GET, so a reload does not send the form twice.
fn back_to_page(token: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/review/{token}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn html_answer(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The URL is a credential: not cached, not sent on as a referrer, not indexed; the page
    // runs no script and posts its forms only to itself.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}
