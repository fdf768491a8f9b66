//! The intake function: Herald's HTTP API as one axum Router. On Lambda it runs under
//! lambda_http; locally `herald serve` serves the same router. Every answer is JSON and every
//! error an RFC 9457 problem, whichever layer refused the request.

pub mod audit;
pub mod extract;
pub mod openapi;
pub mod problem;
mod routes;
pub mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::{delete, get, post};
use herald_app::Deps;
use problem::ApiError;
use routes::{
    Api, accounts, calendar_feeds, import, inbox, media, members, metrics, network_hooks, oauth,
    posts, review, sandbox, settings, webhooks, workspaces,
};
use std::sync::Arc;

/// Largest request body accepted (posts are text; media goes through upload URLs).
pub const MAX_BODY: usize = 256 * 1024;

/// The API with the default per-key request allowances (`ApiLimits::default()`).
pub fn router(deps: Arc<Deps>) -> Router {
    router_with_limits(deps, herald_app::api_rate::ApiLimits::default())
}

/// The API with these per-key request allowances.
pub fn router_with_limits(deps: Arc<Deps>, limits: herald_app::api_rate::ApiLimits) -> Router {
    let api = api()
        .router
        .fallback(|| async { ApiError::NotFound })
        .layer(axum::middleware::from_fn_with_state(
            deps.clone(),
            audit::layer,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::Extension(limits))
        .with_state(deps);
    // Around the whole router, so it sees answers as axum finishes them (a 405 gets its
    // `Allow` last): whatever is not a problem yet becomes one.
    Router::new()
        .fallback_service(api)
        .layer(axum::middleware::map_response(problem::ensure_problem))
}

/// The router behind what the start left pending (on Lambda: the sealing key's and the admin
/// key's reads, started at init): each request waits for it first, at once after the first
/// success; while it fails, each answers 503 naming the setting (the reason is logged) and
/// the next request tries again.
pub fn gated(router: Router, pending: herald_platform::startup::Pending) -> Router {
    router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let pending = pending.clone();
            async move {
                match pending.ready().await {
                    Ok(()) => next.run(request).await,
                    Err(e) => axum::response::IntoResponse::into_response(ApiError::Unavailable(
                        e.subject(),
                    )),
                }
            }
        },
    ))
}

/// Every path the API serves (tests ask each for its methods).
pub fn paths() -> Vec<&'static str> {
    api().paths
}

/// Every route. Each workspace route's handler takes `extract::May<can::...>` first: the
/// role check (tests/it/roles.rs lists each route with the roles it allows).
fn api() -> Api {
    Api::new()
        .route("/", get(web::index))
        .route("/assets/{file}", get(web::asset))
        .route("/healthz", get(openapi::healthz))
        .route("/openapi.json", get(openapi::document))
        .route("/v1/workspaces", post(workspaces::create))
        .route("/v1/accounts", post(accounts::create).get(accounts::list))
        .route(
            "/v1/accounts/{id}/queue",
            get(accounts::get_queue).put(accounts::set_queue),
        )
        .route("/v1/posts", post(posts::create).get(posts::calendar))
        .route("/v1/posts/measure", post(posts::measure))
        .route(
            "/v1/posts/{id}",
            get(posts::get).delete(posts::cancel).patch(posts::edit),
        )
        .route("/v1/posts/{id}/schedule", post(posts::schedule))
        .route("/v1/posts/{id}/publish", post(posts::publish_now))
        .route("/v1/posts/{id}/approve", post(posts::approve))
        .route(
            "/v1/posts/{id}/request-changes",
            post(posts::request_changes),
        )
        .route("/v1/sandbox/{account}/outbox", get(sandbox::outbox))
        .route("/v1/sandbox/{account}/events", post(sandbox::events))
        .route("/v1/inbox", get(inbox::list))
        .route(
            "/v1/inbox/auto-replies",
            get(inbox::get_rules).put(inbox::put_rules),
        )
        .route("/v1/inbox/{id}", get(inbox::get))
        .route("/v1/inbox/{id}/reply", post(inbox::reply))
        .route("/v1/inbox/{id}/assign", post(inbox::assign))
        .route("/v1/inbox/{id}/dismiss", post(inbox::dismiss))
        .route(
            "/hooks/v1/networks/{platform}/{workspace}/{account}",
            get(network_hooks::handshake).post(network_hooks::deliver),
        )
        .route(
            "/hooks/v1/networks/meta",
            get(network_hooks::meta_handshake).post(network_hooks::meta_deliver),
        )
        .route("/v1/accounts/{id}/webhook", get(network_hooks::describe))
        .route("/v1/metrics/summary", get(metrics::summary))
        .route("/v1/metrics/best-times", get(metrics::best_times))
        .route("/v1/metrics/top-tags", get(metrics::top_tags))
        .route("/v1/metrics/content-mix", get(metrics::content_mix))
        .route("/v1/metrics/networks", get(metrics::networks))
        .route("/v1/oauth/{platform}/start", get(oauth::start))
        .route("/v1/oauth/{platform}/callback", get(oauth::callback))
        .route("/v1/members", post(members::create).get(members::list))
        .route("/v1/members/{id}", delete(members::remove))
        .route("/v1/workspace", get(settings::get).patch(settings::update))
        .route("/v1/audit", get(routes::audit::list))
        .route("/v1/review-links", post(review::create))
        .route("/v1/review-links/{id}", delete(review::revoke))
        .route("/review/{token}", get(review::page))
        .route("/review/{token}/posts/{id}/approve", post(review::approve))
        .route("/review/{token}/posts/{id}/comments", post(review::comment))
        .route(
            "/v1/calendar/feeds",
            post(calendar_feeds::create).get(calendar_feeds::list),
        )
        .route(
            "/v1/calendar/feeds/{id}",
            axum::routing::delete(calendar_feeds::revoke),
        )
        .route(calendar_feeds::FEED_PATH, get(calendar_feeds::read))
        .route("/v1/media/uploads", post(media::create_upload))
        .route("/v1/media/imports", post(media::create_import))
        .route("/v1/media/{id}", get(media::get))
        .route(
            "/v1/posts/import",
            post(import::import).layer(DefaultBodyLimit::max(import::MAX_IMPORT_BODY)),
        )
        .route(
            "/v1/webhooks/inbound-secret",
            post(webhooks::rotate_inbound_secret),
        )
        .route(
            "/v1/webhooks/endpoints",
            post(webhooks::create_endpoint).get(webhooks::list_endpoints),
        )
        .route(
            "/v1/webhooks/endpoints/{id}",
            delete(webhooks::delete_endpoint),
        )
        .route(
            "/v1/webhooks/endpoints/{id}/secret",
            post(webhooks::rotate_endpoint_secret),
        )
        .route(
            "/v1/webhooks/endpoints/{id}/enable",
            post(webhooks::enable_endpoint),
        )
        .route(
            "/v1/webhooks/endpoints/{id}/deliveries",
            get(webhooks::list_deliveries),
        )
        .route(
            "/v1/webhooks/deliveries/{id}/redeliver",
            post(webhooks::redeliver),
        )
        .route(
            "/hooks/v1/{workspace}/posts",
            post(webhooks::inbound_post).layer(DefaultBodyLimit::max(webhooks::MAX_INBOUND_BODY)),
        )
}

type Answer = Result<Response, ApiError>;
