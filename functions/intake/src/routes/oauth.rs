//! Connecting an OAuth network: the consent redirect and the network's callback.

use crate::Answer;
use crate::extract::{May, Path, Query, can};
use crate::problem::ApiError;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use herald_app::{AppError, Deps};
use herald_domain::Platform;
use serde::Deserialize;
use std::sync::Arc;

fn platform_param(raw: &str) -> Result<Platform, ApiError> {
    Platform::parse(raw).ok_or(ApiError::App(AppError::NotFound("platform")))
}

/// Where the user consents, as a JSON answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ConsentUrl {
    authorize_url: String,
}

/// `?handle=` names the account; any other parameter is a network id kept with the tokens
/// (`page_id`, `board_id`, `author_urn`, ...). A client that asks for JSON only (`Accept:
/// application/json`, as the web app does: a script cannot read a redirect's body) gets the
/// consent URL in a 200 instead of the redirect.
#[utoipa::path(
    get,
    path = "/v1/oauth/{platform}/start",
    tag = "accounts",
    summary = "Start an OAuth connection",
    params(
        ("platform" = String, Path),
        ("handle" = Option<String>, Query),
    ),
    responses(
        (status = 302, description = "success: to the network's consent page"),
        (status = 200, description = "success, asked for as JSON: `{\"authorize_url\"}`", body = ConsentUrl, content_type = "application/json"),
    ),
)]
pub async fn start(
    State(deps): State<Arc<Deps>>,
    may: May<can::ManageAccounts>,
    headers: axum::http::HeaderMap,
    Path(platform): Path<String>,
    Query(mut params): Query<std::collections::BTreeMap<String, String>>,
) -> Answer {
    let ws = &may.workspace;
    let platform = platform_param(&platform)?;
    let handle = params
        .remove("handle")
        .ok_or_else(|| ApiError::invalid("handle", "required: the account's handle"))?;
    let ids = params
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let url =
        herald_app::oauth::start(&deps, ws, may.caller.actor(), platform, &handle, ids).await?;
    let body = AxumJson(ConsentUrl {
        authorize_url: url.as_str().to_owned(),
    });
    let json_only = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "application/json");
    if json_only {
        return Ok(body.into_response());
    }
    let mut response = (StatusCode::FOUND, body).into_response();
    response.headers_mut().insert(
        axum::http::header::LOCATION,
        url.as_str()
            .parse()
            .map_err(|_| ApiError::Malformed("consent URL".into()))?,
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The network sends the user back here; no Herald key: the one-time state is the proof.
#[utoipa::path(
    get,
    path = "/v1/oauth/{platform}/callback",
    tag = "accounts",
    summary = "The network's OAuth callback",
    security(()),
    params(
        ("platform" = String, Path),
        ("state" = Option<String>, Query),
        ("code" = Option<String>, Query),
        ("error" = Option<String>, Query),
        ("error_description" = Option<String>, Query),
    ),
    responses((status = 201, description = "success", body = herald_app::accounts::AccountView, content_type = "application/json")),
)]
pub async fn callback(
    State(deps): State<Arc<Deps>>,
    Path(platform): Path<String>,
    Query(params): Query<CallbackParams>,
) -> Answer {
    let platform = platform_param(&platform)?;
    if let Some(error) = params.error {
        let detail = params.error_description.unwrap_or_default();
        return Err(ApiError::invalid(
            "error",
            format!("{platform} refused the connection: {error} {detail}"),
        ));
    }
    let state = params
        .state
        .ok_or_else(|| ApiError::invalid("state", "required"))?;
    let code = params
        .code
        .ok_or_else(|| ApiError::invalid("code", "required"))?;
    let account = herald_app::oauth::callback(&deps, platform, &state, &code).await?;
    Ok((StatusCode::CREATED, AxumJson(account)).into_response())
}
