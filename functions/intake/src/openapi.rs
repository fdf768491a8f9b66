//! The OpenAPI 3.1 document of the whole API, generated from the route modules' annotations
//! (`#[utoipa::path]` beside each handler) and served at `/openapi.json`. Every operation also
//! gets the problem answers every route can give, so the error shape is in the document once
//! and everywhere; `tests/it/openapi.rs` holds it to the router, path by path and method by
//! method.

use crate::{routes, web};
use axum::Json as AxumJson;
use axum::response::IntoResponse;
use serde_json::json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, RefOr, Response, ResponseBuilder};

/// `GET /healthz`.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    summary = "Liveness",
    security(()),
    responses((status = 200, description = "success", body = serde_json::Value, content_type = "application/json")),
)]
pub async fn healthz() -> impl IntoResponse {
    AxumJson(json!({"status": "ok"}))
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    summary = "This OpenAPI document",
    security(()),
    responses((status = 200, description = "success", body = serde_json::Value, content_type = "application/json")),
)]
pub async fn document() -> impl IntoResponse {
    AxumJson(openapi())
}

/// An RFC 9457 problem: every error answer of the API.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct Problem {
    /// `/problems/{slug}`.
    #[schema(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    /// The offending fields, when the request named some.
    errors: Option<Vec<FieldError>>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct FieldError {
    field: String,
    message: String,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Herald", description = "Social media scheduling and publishing: the HTTP API (API.md)."),
    paths(
        web::index,
        web::asset,
        healthz,
        document,
        routes::workspaces::create,
        routes::accounts::create,
        routes::accounts::list,
        routes::accounts::get_queue,
        routes::accounts::set_queue,
        routes::posts::create,
        routes::posts::calendar,
        routes::posts::measure,
        routes::posts::get,
        routes::posts::edit,
        routes::posts::cancel,
        routes::posts::schedule,
        routes::posts::publish_now,
        routes::posts::approve,
        routes::posts::request_changes,
        routes::import::import,
        routes::media::create_upload,
        routes::media::create_import,
        routes::media::get,
        routes::sandbox::outbox,
        routes::sandbox::events,
        routes::inbox::list,
        routes::inbox::get,
        routes::inbox::reply,
        routes::inbox::assign,
        routes::inbox::dismiss,
        routes::inbox::get_rules,
        routes::inbox::put_rules,
        routes::metrics::summary,
        routes::metrics::best_times,
        routes::metrics::top_tags,
        routes::metrics::content_mix,
        routes::metrics::networks,
        routes::network_hooks::handshake,
        routes::network_hooks::deliver,
        routes::network_hooks::describe,
        routes::network_hooks::meta_handshake,
        routes::network_hooks::meta_deliver,
        routes::oauth::start,
        routes::oauth::callback,
        routes::members::create,
        routes::members::list,
        routes::members::remove,
        routes::settings::get,
        routes::settings::update,
        routes::audit::list,
        routes::review::create,
        routes::review::revoke,
        routes::review::page,
        routes::review::approve,
        routes::review::comment,
        routes::calendar_feeds::create,
        routes::calendar_feeds::list,
        routes::calendar_feeds::revoke,
        routes::calendar_feeds::read,
        routes::webhooks::rotate_inbound_secret,
        routes::webhooks::create_endpoint,
        routes::webhooks::list_endpoints,
        routes::webhooks::delete_endpoint,
        routes::webhooks::rotate_endpoint_secret,
        routes::webhooks::enable_endpoint,
        routes::webhooks::list_deliveries,
        routes::webhooks::redeliver,
        routes::webhooks::inbound_post,
    ),
    components(schemas(Problem, FieldError)),
    security(("bearer" = [])),
)]
struct Doc;

/// The statuses every operation may answer with a problem, and what each means (API.md,
/// "Errors"). 401 and 403 only where a key or a signature is asked for.
const PROBLEMS: &[(&str, &str)] = &[
    ("400", "malformed: not JSON, a bad parameter"),
    ("404", "not found, or not yours"),
    ("405", "a method the path does not answer"),
    ("408", "the body did not arrive in time"),
    ("409", "conflict with the current state"),
    ("413", "the body is too large"),
    ("415", "the body is not of the type the route takes"),
    ("422", "valid JSON, invalid request (the fields are named)"),
    ("429", "too many requests: see Retry-After"),
];

fn problem_response(description: &str) -> RefOr<Response> {
    let schema = RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"));
    ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", Content::new(Some(schema)))
        .build()
        .into()
}

/// The document, with every operation's problem answers and the bearer scheme.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = Doc::openapi();
    doc.openapi = utoipa::openapi::OpenApiVersion::Version31;
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let public = op
                .security
                .as_ref()
                .is_some_and(|s| s.iter().all(|r| *r == Default::default()));
            let responses = &mut op.responses.responses;
            for (status, what) in PROBLEMS {
                responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| problem_response(what));
            }
            responses
                .entry("401".to_owned())
                .or_insert_with(|| problem_response("no key, a bad key, or a bad signature"));
            if !public {
                responses
                    .entry("403".to_owned())
                    .or_insert_with(|| problem_response("this key's role may not do that"));
            }
        }
    }
    doc
}
