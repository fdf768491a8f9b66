//! The OpenAPI 3.1 document of the whole API, generated from the route modules' annotations
//! (`#[utoipa::path]` beside each handler) and served at `/openapi.json`. Every operation also
//! gets the problem answers every route can give, so the error shape is in the document once
//! and everywhere; `tests/it/openapi.rs` holds it to the router, path by path and method by
//! method.

use crate::{routes, web};
use axum::Json as AxumJson;
use axum::response::IntoResponse;
use herald_domain::event::{self, EventKind};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, RefOr, Response, ResponseBuilder};

/// The liveness answer: `{"status":"ok"}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    status: Up,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Up {
    Ok,
}

/// `GET /healthz`.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    summary = "Liveness",
    security(()),
    responses((status = 200, description = "success", body = Health, content_type = "application/json")),
)]
pub async fn healthz() -> impl IntoResponse {
    AxumJson(Health { status: Up::Ok })
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    summary = "This OpenAPI document",
    security(()),
    responses((status = 200, description = "success: this document (OpenAPI 3.1)", body = Object, content_type = "application/json")),
)]
pub async fn document() -> impl IntoResponse {
    AxumJson(document_json())
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
    components(schemas(
        Problem,
        FieldError,
        event::Event,
        event::PostScheduled,
        event::PostPublished,
        event::PostPartiallyPublished,
        event::PostFailed,
        event::PostCancelled,
        event::MediaReady,
        event::MediaFailed,
        event::InboxReceived,
        event::AccountNeedsReconnect,
        event::EndpointDisabled,
        event::EngagementRecorded,
        event::MetricsUpdated,
        herald_domain::EventId,
        herald_domain::WorkspaceId,
    )),
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

/// `post_v1_posts_id_approve` for `POST /v1/posts/{id}/approve`.
pub fn operation_id(method: &str, path: &str) -> String {
    let words = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    std::iter::once(method)
        .chain(words)
        .collect::<Vec<_>>()
        .join("_")
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
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ] {
            let Some(op) = op else { continue };
            // utoipa names an operation after its handler, and handlers of different modules
            // share names (`approve`, `get`): ids made of method and path are unique, as
            // links between operations need them to be.
            op.operation_id = Some(operation_id(method, path));
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

/// The component holding the payload of the event kind `name`: `post.partially_published` is
/// `PostPartiallyPublished`, as `herald_domain::event` names its structs.
pub fn payload_component(name: &str) -> String {
    name.split(['.', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The OpenAPI 3.1 `webhooks`: one per event kind, the request Herald sends an endpoint that
/// subscribed to it, signed per the Standard Webhooks spec. The body is the event's envelope
/// with that kind's payload as `data` (`herald_domain::event`).
fn webhooks() -> serde_json::Value {
    let header = |name: &str, what: &str| {
        serde_json::json!({
            "name": name, "in": "header", "required": true, "description": what,
            "schema": {"type": "string"},
        })
    };
    let schema = |name: &str| format!("#/components/schemas/{name}");
    let mut hooks = serde_json::Map::new();
    for name in EventKind::NAMES {
        let envelope = serde_json::json!({
            "type": "object",
            "required": ["id", "kind", "workspace", "time", "data"],
            "properties": {
                "id": {"$ref": schema("EventId"), "description": "Unique per event: drop repeats by it."},
                "kind": {"const": name},
                "workspace": {"$ref": schema("WorkspaceId")},
                "time": {"type": "string", "format": "date-time"},
                "data": {"$ref": schema(&payload_component(name))},
            },
        });
        let operation = serde_json::json!({
            "tags": ["webhooks"],
            "summary": format!("`{name}`, sent to each endpoint subscribed to it"),
            "description": "Delivered at least once, signed per the Standard Webhooks spec; \
                every attempt of one delivery carries the same `webhook-id` (listed by \
                `GET /v1/webhooks/endpoints/{id}/deliveries`).",
            "parameters": [
                header("webhook-id", "The delivery's id (`msg_...`), the same on every retry."),
                header("webhook-timestamp", "Seconds since the epoch, fresh on every attempt."),
                header(
                    "webhook-signature",
                    "Space-separated `v1,<base64 HMAC-SHA256>` entries, one per live secret."
                ),
            ],
            "requestBody": {
                "required": true,
                "content": {"application/json": {"schema": envelope}},
            },
            "responses": {
                "2XX": {
                    "description": "received (within 15 s); 410 disables the endpoint, \
                        anything else is retried",
                },
            },
        });
        hooks.insert(name.to_owned(), serde_json::json!({ "post": operation }));
    }
    serde_json::Value::Object(hooks)
}

/// The document as `/openapi.json` serves it: [`openapi`] with the `webhooks`, which utoipa's
/// model has no field for.
pub fn document_json() -> serde_json::Value {
    let mut doc = serde_json::to_value(openapi()).expect("the document serializes");
    doc["webhooks"] = webhooks();
    doc
}
