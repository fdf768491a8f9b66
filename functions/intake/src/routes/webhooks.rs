//! Webhooks: the inbound secret, outbound endpoints, their deliveries; and the inbound route
//! itself, where a signed request creates a post as `POST /v1/posts` does.

use super::Paging;
use crate::Answer;
use crate::extract::{Json, May, Path, Query, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use herald_app::webhooks::{deliveries, endpoints, inbound};
use herald_app::{AppError, Deps, posts};
use herald_domain::PostId;
use herald_domain::{DeliveryId, EndpointId, WorkspaceId};
use serde::Serialize;
use std::sync::Arc;

/// The largest inbound webhook body; a larger one is refused before its signature is checked.
pub const MAX_INBOUND_BODY: usize = 64 * 1024;

/// A new `whsec_` signing secret, shown only in this answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SecretAnswer {
    secret: String,
}

/// The delivery sent again.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Redelivery {
    id: DeliveryId,
}

/// The post a signed inbound webhook created (or, for a repeated `webhook-id`, the first one).
#[derive(Serialize, utoipa::ToSchema)]
pub struct InboundAnswer {
    id: PostId,
}

fn endpoint_id(raw: &str) -> Result<EndpointId, ApiError> {
    EndpointId::parse(raw).ok_or(ApiError::App(AppError::NotFound("webhook endpoint")))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/inbound-secret",
    tag = "webhooks",
    summary = "Create or rotate the inbound webhook secret",
    responses((status = 201, description = "success", body = SecretAnswer, content_type = "application/json")),
)]
pub async fn rotate_inbound_secret(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageWebhooks>,
) -> Answer {
    let secret = inbound::rotate_secret(&deps, &may.workspace).await?;
    Ok((StatusCode::CREATED, AxumJson(SecretAnswer { secret })).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/endpoints",
    tag = "webhooks",
    summary = "Create an outbound webhook endpoint",
    request_body(content = herald_app::webhooks::endpoints::NewEndpoint, content_type = "application/json"),
    responses((status = 201, description = "success", body = herald_app::webhooks::endpoints::CreatedEndpoint, content_type = "application/json")),
)]
pub async fn create_endpoint(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageWebhooks>,
    Json(body): Json<endpoints::NewEndpoint>,
) -> Answer {
    let created = endpoints::create(&deps, &may.workspace, body).await?;
    Ok((StatusCode::CREATED, AxumJson(created)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/endpoints",
    tag = "webhooks",
    summary = "List webhook endpoints",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "page size (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next` of the page before"),
    ),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_app::webhooks::endpoints::EndpointView>, content_type = "application/json")),
)]
pub async fn list_endpoints(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageWebhooks>,
    Query(paging): Query<Paging>,
) -> Answer {
    let page = endpoints::list(&deps, &may.workspace, &paging.request()?).await?;
    Ok(AxumJson(page).into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/webhooks/endpoints/{id}",
    tag = "webhooks",
    summary = "Delete a webhook endpoint",
    params(
        ("id" = String, Path),
    ),
    responses((status = 204, description = "success")),
)]
pub async fn delete_endpoint(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageWebhooks>,
    Path(id): Path<String>,
) -> Answer {
    endpoints::delete(&deps, &may.workspace, &endpoint_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/webhooks/endpoints/{id}/secret`: a new signing secret, shown once; the one
/// before keeps signing beside it for 24 hours.
#[utoipa::path(
    post,
    path = "/v1/webhooks/endpoints/{id}/secret",
    tag = "webhooks",
    summary = "Rotate an endpoint's signing secret",
    description = "Answers a new `whsec_` secret, shown once. For 24 hours every delivery carries \
        a signature with each secret (space-separated `v1,` entries in `webhook-signature`), so \
        a receiver verifying with either accepts; then only the new one signs. At most three \
        rotations within 24 hours (409 after).",
    params(
        ("id" = String, Path),
    ),
    responses((status = 201, description = "success", body = SecretAnswer, content_type = "application/json")),
)]
pub async fn rotate_endpoint_secret(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageWebhooks>,
    Path(id): Path<String>,
) -> Answer {
    let secret = endpoints::rotate_secret(&deps, &may.workspace, &endpoint_id(&id)?).await?;
    Ok((StatusCode::CREATED, AxumJson(SecretAnswer { secret })).into_response())
}

/// `POST /v1/webhooks/endpoints/{id}/enable`: a disabled endpoint takes events again.
#[utoipa::path(
    post,
    path = "/v1/webhooks/endpoints/{id}/enable",
    tag = "webhooks",
    summary = "Enable a disabled endpoint again",
    description = "Clears the endpoint's failure streak; deliveries missed while it was disabled \
        are not sent (redeliver them one by one). An enabled endpoint is left as it is.",
    params(
        ("id" = String, Path),
    ),
    responses((status = 200, description = "success", body = herald_app::webhooks::endpoints::EndpointView, content_type = "application/json")),
)]
pub async fn enable_endpoint(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageWebhooks>,
    Path(id): Path<String>,
) -> Answer {
    let view = endpoints::enable(&deps, &may.workspace, &endpoint_id(&id)?).await?;
    Ok(AxumJson(view).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/endpoints/{id}/deliveries",
    tag = "webhooks",
    summary = "Every delivery attempt to an endpoint",
    description = "Each attempt names its event's type (`event`) and id (`event_id`); what was \
        sent is that event's envelope, whose `data` is the payload of its kind: see the \
        document's `webhooks` (one per event type) and the payload schemas they reference \
        (`PostPublished`, `MediaReady`, ...).",
    params(
        ("id" = String, Path),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "page size (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next` of the page before"),
    ),
    responses((status = 200, description = "success", body = herald_app::page::Page<herald_app::webhooks::deliveries::AttemptView>, content_type = "application/json")),
)]
pub async fn list_deliveries(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageWebhooks>,
    Path(id): Path<String>,
    Query(paging): Query<Paging>,
) -> Answer {
    let page = deliveries::list(
        &deps,
        &may.workspace,
        &endpoint_id(&id)?,
        &paging.request()?,
    )
    .await?;
    Ok(AxumJson(page).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/deliveries/{id}/redeliver",
    tag = "webhooks",
    summary = "Send a delivery again",
    params(
        ("id" = String, Path),
    ),
    responses((status = 202, description = "success", body = Redelivery, content_type = "application/json")),
)]
pub async fn redeliver(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageWebhooks>,
    Path(id): Path<String>,
) -> Answer {
    let id = DeliveryId::parse(&id).ok_or(ApiError::App(AppError::NotFound("delivery")))?;
    deliveries::redeliver(&deps, &may.workspace, &id).await?;
    Ok((StatusCode::ACCEPTED, AxumJson(Redelivery { id })).into_response())
}

/// `POST /hooks/v1/{workspace}/posts`: no key; the Standard Webhooks signature under the
/// workspace's inbound secret is the credential. In order: the body's size (413, before any
/// HMAC), the signature (401, nothing written), then the post as `POST /v1/posts` checks it.
/// The `webhook-id` is the idempotency key: a repeat answers the first post and makes none.
#[utoipa::path(
    post,
    path = "/hooks/v1/{workspace}/posts",
    tag = "webhooks",
    summary = "Create a post from a signed inbound webhook",
    security(()),
    params(
        ("workspace" = String, Path),
        ("webhook-id" = Option<String>, Header),
        ("webhook-timestamp" = Option<String>, Header),
        ("webhook-signature" = Option<String>, Header),
    ),
    request_body(content = herald_app::posts::NewPost, content_type = "application/json"),
    responses((status = 202, description = "success", body = InboundAnswer, content_type = "application/json")),
)]
pub async fn inbound_post(
    State(deps): State<Arc<Deps>>,
    Path(workspace): Path<String>,
    request: Request,
) -> Answer {
    let headers: HeaderMap = request.headers().clone();
    let audit = request
        .extensions()
        .get::<crate::audit::AuditSlot>()
        .cloned();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_INBOUND_BODY as u64) {
        return Err(ApiError::TooLarge);
    }
    let body = Bytes::from_request(request, &deps)
        .await
        .map_err(crate::extract::body_error)?;
    if body.len() > MAX_INBOUND_BODY {
        return Err(ApiError::TooLarge);
    }
    let ws = WorkspaceId::parse(&workspace).ok_or_else(|| {
        ApiError::App(AppError::BadSignature(
            "this workspace has no inbound webhook secret".into(),
        ))
    })?;
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = inbound::Signed {
        id: get("webhook-id"),
        timestamp: get("webhook-timestamp"),
        signature: get("webhook-signature"),
    };
    let webhook_id = inbound::verify_request(&deps, &ws, signed, &body).await?;
    if let Some(slot) = &audit {
        slot.acting(&ws, herald_domain::Actor::InboundWebhook);
    }
    let is_json = get("content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.ends_with("+json")
        });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    let new: posts::NewPost = crate::extract::parse(&body)?;
    let created = posts::create_from_webhook(&deps, &ws, new, webhook_id).await?;
    let mut response = (
        StatusCode::ACCEPTED,
        AxumJson(InboundAnswer {
            id: created.post.id,
        }),
    )
        .into_response();
    if created.replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            "true".parse().expect("static header"),
        );
    }
    Ok(response)
}
