//! The intake function: Herald's HTTP API as one axum Router. On Lambda it runs under
//! lambda_http; locally `herald serve` serves the same router.

pub mod extract;
pub mod problem;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as AxumJson, Router};
use chrono::{DateTime, Utc};
use extract::{Caller, Json};
use herald_app::posts::NewPost;
use herald_app::{AppError, Deps, accounts, posts, workspaces};
use herald_domain::{AccountId, Platform, PostId};
use problem::ApiError;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// Largest request body accepted (posts are text; media goes through upload URLs).
pub const MAX_BODY: usize = 256 * 1024;

pub fn router(deps: Arc<Deps>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { AxumJson(json!({"status": "ok"})) }),
        )
        .route("/v1/workspaces", post(create_workspace))
        .route("/v1/accounts", post(create_account).get(list_accounts))
        .route("/v1/accounts/{id}/queue", get(get_queue).put(set_queue))
        .route("/v1/posts", post(create_post).get(calendar))
        .route("/v1/posts/{id}", get(get_post).delete(cancel_post))
        .route("/v1/posts/{id}/schedule", post(schedule_post))
        .route("/v1/posts/{id}/publish", post(publish_now))
        .route("/v1/sandbox/{account}/outbox", get(sandbox_outbox))
        .route("/v1/oauth/{platform}/start", get(oauth_start))
        .route("/v1/oauth/{platform}/callback", get(oauth_callback))
        .fallback(|| async { ApiError::NotFound })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(deps)
}

type Answer = Result<Response, ApiError>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWorkspace {
    name: String,
}

async fn create_workspace(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Json(body): Json<NewWorkspace>,
) -> Answer {
    let created = workspaces::create(&deps, &caller, &body.name).await?;
    Ok((StatusCode::CREATED, AxumJson(created)).into_response())
}

async fn create_account(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Json(body): Json<accounts::NewAccount>,
) -> Answer {
    let ws = caller.require_write()?;
    let account = accounts::create(&deps, ws, body).await?;
    Ok((StatusCode::CREATED, AxumJson(account)).into_response())
}

async fn list_accounts(State(deps): State<Arc<Deps>>, Caller(caller): Caller) -> Answer {
    let items = accounts::list(&deps, caller.workspace()?).await?;
    Ok(AxumJson(json!({ "items": items })).into_response())
}

fn account_id(raw: &str) -> Result<AccountId, ApiError> {
    AccountId::parse(raw).ok_or(ApiError::App(AppError::NotFound("account")))
}

async fn get_queue(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Answer {
    let ws = caller.workspace()?;
    let id = account_id(&id)?;
    accounts::get(&deps, ws, &id).await?;
    let queue = herald_app::queue::get(&deps, ws, &id)
        .await?
        .ok_or(ApiError::App(AppError::NotFound("queue")))?;
    Ok(AxumJson(queue).into_response())
}

async fn set_queue(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Json(body): Json<herald_app::queue::QueueSettings>,
) -> Answer {
    let ws = caller.require_write()?;
    let queue = herald_app::queue::set(&deps, ws, &account_id(&id)?, body).await?;
    Ok(AxumJson(queue).into_response())
}

async fn create_post(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    headers: HeaderMap,
    Json(body): Json<NewPost>,
) -> Answer {
    let ws = caller.require_write()?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable ASCII"))?,
        ),
    };
    let created = posts::create(&deps, ws, body, key).await?;
    let mut response = (StatusCode::CREATED, AxumJson(created.post)).into_response();
    if created.replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            "true".parse().expect("static header"),
        );
    }
    Ok(response)
}

/// Ids in paths that do not parse cannot exist: 404, like a missing or foreign id.
fn post_id(raw: &str) -> Result<PostId, ApiError> {
    PostId::parse(raw).ok_or(ApiError::App(AppError::NotFound("post")))
}

async fn get_post(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Answer {
    let view = posts::get(&deps, caller.workspace()?, &post_id(&id)?).await?;
    Ok(AxumJson(view).into_response())
}

#[derive(Deserialize)]
struct Window {
    from: Option<String>,
    to: Option<String>,
}

fn time_param(name: &str, raw: Option<&str>) -> Result<DateTime<Utc>, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::invalid(name, "required (RFC 3339 time)"))?;
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::invalid(name, format!("not an RFC 3339 time: {e}")))
}

async fn calendar(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Query(window): Query<Window>,
) -> Answer {
    let from = time_param("from", window.from.as_deref())?;
    let to = time_param("to", window.to.as_deref())?;
    let items = posts::calendar(&deps, caller.workspace()?, from, to).await?;
    Ok(AxumJson(json!({ "items": items })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleBody {
    scheduled_at: DateTime<Utc>,
}

async fn schedule_post(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Json(body): Json<ScheduleBody>,
) -> Answer {
    let ws = caller.require_write()?;
    let view = posts::schedule(&deps, ws, &post_id(&id)?, body.scheduled_at).await?;
    Ok(AxumJson(view).into_response())
}

async fn publish_now(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Answer {
    let ws = caller.require_write()?;
    let now = deps.clock.now();
    let view = posts::schedule(&deps, ws, &post_id(&id)?, now).await?;
    Ok((StatusCode::ACCEPTED, AxumJson(view)).into_response())
}

async fn cancel_post(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Answer {
    let ws = caller.require_write()?;
    posts::cancel(&deps, ws, &post_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn sandbox_outbox(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Path(account): Path<String>,
) -> Answer {
    let ws = caller.workspace()?;
    let id = account_id(&account)?;
    let account = accounts::get(&deps, ws, &id).await?;
    if account.platform != Platform::Sandbox {
        return Err(ApiError::App(AppError::NotFound("sandbox account")));
    }
    let items = herald_networks::sandbox::outbox(deps.table.as_ref(), ws, &id, None)
        .await
        .map_err(AppError::from)?;
    Ok(AxumJson(json!({ "items": items })).into_response())
}

fn platform_param(raw: &str) -> Result<Platform, ApiError> {
    Platform::parse(raw).ok_or(ApiError::App(AppError::NotFound("platform")))
}

/// `?handle=` names the account; any other parameter is a network id kept with the tokens
/// (`page_id`, `board_id`, `author_urn`, ...).
async fn oauth_start(
    State(deps): State<Arc<Deps>>,
    Caller(caller): Caller,
    Path(platform): Path<String>,
    Query(mut params): Query<std::collections::BTreeMap<String, String>>,
) -> Answer {
    let ws = caller.require_write()?;
    let platform = platform_param(&platform)?;
    let handle = params
        .remove("handle")
        .ok_or_else(|| ApiError::invalid("handle", "required: the account's handle"))?;
    let ids = params
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let url = herald_app::oauth::start(&deps, ws, platform, &handle, ids).await?;
    let mut response = (
        StatusCode::FOUND,
        AxumJson(json!({ "authorize_url": url.as_str() })),
    )
        .into_response();
    response.headers_mut().insert(
        axum::http::header::LOCATION,
        url.as_str()
            .parse()
            .map_err(|_| ApiError::Malformed("consent URL".into()))?,
    );
    Ok(response)
}

#[derive(Deserialize)]
struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The network sends the user back here; no Herald key: the one-time state is the proof.
async fn oauth_callback(
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
