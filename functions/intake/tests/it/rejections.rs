//! Every answer is JSON and every error problem+json, whichever layer refuses: a repeated
//! query parameter, a path that is not UTF-8, a wrong method, a bad query, an unknown path.
//! And the `Bearer` scheme is read in any case.

use crate::support::{Answer, App};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Duration;
use serde_json::json;

async fn raw(app: &App, method: Method, uri: &str, key: &str) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .expect("request");
    app.send(request).await
}

#[tokio::test]
async fn a_repeated_query_parameter_is_a_400_problem_naming_it() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let from = app.at(Duration::zero());
    let to = app.at(Duration::days(1));
    let a = app
        .get(
            &format!("/v1/posts?from={from}&from={from}&to={to}"),
            &ws.key,
        )
        .await;
    let b = a.problem(StatusCode::BAD_REQUEST);
    assert_eq!(b["errors"][0]["field"], "from", "{b}");
    let a = app.get("/v1/accounts?limit=2&limit=3", &ws.key).await;
    let b = a.problem(StatusCode::BAD_REQUEST);
    assert_eq!(b["errors"][0]["field"], "limit", "{b}");
    let a = app
        .get("/v1/oauth/x/start?handle=a&handle=b", &ws.key)
        .await;
    a.problem(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_cursor_that_does_not_decode_is_a_422_problem_naming_it() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    // Query values decode lossily: not UTF-8 is simply not a cursor of this list.
    let a = app.get("/v1/accounts?cursor=%FF%FE", &ws.key).await;
    a.invalid_field("cursor");
}

#[tokio::test]
async fn invalid_utf8_in_a_path_is_a_400_problem() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    for uri in [
        "/v1/posts/%FF%FE",
        "/v1/accounts/%C3%28/queue",
        "/v1/sandbox/%80/outbox",
    ] {
        let a = raw(&app, Method::GET, uri, &ws.key).await;
        a.problem(StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem_with_allow() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    for (method, uri, allowed) in [
        (Method::PUT, "/v1/posts", "POST"),
        (Method::DELETE, "/v1/accounts", "GET"),
        (Method::PUT, "/v1/posts/post_x", "PATCH"),
        (Method::POST, "/healthz", "GET"),
    ] {
        let a = raw(&app, method.clone(), uri, &ws.key).await;
        let b = a.problem(StatusCode::METHOD_NOT_ALLOWED);
        let allow = a
            .header("allow")
            .unwrap_or_else(|| panic!("{method} {uri}: no Allow"));
        assert!(allow.contains(allowed), "{method} {uri}: Allow {allow}");
        assert!(b["detail"].as_str().unwrap().contains(allowed), "{b}");
    }
}

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    for uri in ["/nope", "/v1/posts/a/b/c", "/v1/", "/v1/posts/x/schedule/y"] {
        raw(&app, Method::GET, uri, &ws.key)
            .await
            .problem(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_bad_or_missing_query_value_is_a_422_problem_naming_it() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    app.get("/v1/posts", &ws.key).await.invalid_field("from");
    app.get("/v1/posts?from=yesterday&to=x", &ws.key)
        .await
        .invalid_field("from");
    app.get("/v1/oauth/x/callback?state=s", &ws.key)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_bearer_scheme_is_read_in_any_case() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let request = Request::builder()
            .uri("/v1/accounts")
            .header(header::AUTHORIZATION, format!("{scheme} {}", ws.key))
            .body(Body::empty())
            .unwrap();
        let a = app.send(request).await;
        assert_eq!(a.status, StatusCode::OK, "{scheme}: {a:?}");
        assert_eq!(a.body, json!({"items": []}));
    }
    for value in [
        format!("Basic {}", ws.key),
        format!("Bearer{}", ws.key),
        "Bearer ".to_owned(),
        ws.key.clone(),
    ] {
        let request = Request::builder()
            .uri("/v1/accounts")
            .header(header::AUTHORIZATION, value.clone())
            .body(Body::empty())
            .unwrap();
        app.send(request).await.problem(StatusCode::UNAUTHORIZED);
    }
}
