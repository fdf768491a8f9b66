use crate::support::{ADMIN, App};
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn healthz_answers_ok_without_a_key() {
    let app = App::new().await;
    let a = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, json!({"status": "ok"}));
}

#[tokio::test]
async fn a_request_without_a_key_is_401_with_a_bearer_challenge() {
    let app = App::new().await;
    let a = app.call(Method::GET, "/v1/accounts", None, None).await;
    a.problem(StatusCode::UNAUTHORIZED);
    assert_eq!(a.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn a_request_with_a_wrong_key_is_401_with_a_bearer_challenge() {
    let app = App::new().await;
    for key in ["", "not-the-key", "test-admin2", "hk_0000000000000000"] {
        let a = app.get("/v1/accounts", key).await;
        a.problem(StatusCode::UNAUTHORIZED);
        assert_eq!(a.header("www-authenticate"), Some("Bearer"), "{key}");
    }
    // A real workspace key with its secret altered, or moved to another workspace's scope.
    let a_ws = app.workspace("Acme").await;
    let b_ws = app.workspace("Globex").await;
    let mut altered = a_ws.key.clone();
    let last = altered.pop().expect("a key");
    altered.push(if last == '0' { '1' } else { '0' });
    let moved = a_ws.key.replace(&a_ws.id, &b_ws.id);
    assert_ne!(moved, a_ws.key);
    for key in [altered, moved] {
        let a = app.get("/v1/accounts", &key).await;
        a.problem(StatusCode::UNAUTHORIZED);
        assert_eq!(a.header("www-authenticate"), Some("Bearer"), "{key}");
    }
    let basic = app
        .send(
            axum::http::Request::get("/v1/accounts")
                .header("authorization", format!("Basic {ADMIN}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    basic.problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_admin_creates_a_workspace_and_its_key_is_shown_once_and_works() {
    let app = App::new().await;
    let a = app
        .post("/v1/workspaces", ADMIN, json!({"name": "Acme"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(a.body["name"], "Acme");
    let id = a.body["id"].as_str().expect("id");
    let key = a.body["api_key"].as_str().expect("api_key");
    assert!(!id.is_empty() && !key.is_empty());
    assert_ne!(key, ADMIN);
    let accounts = app.get("/v1/accounts", key).await;
    assert_eq!(accounts.status, StatusCode::OK, "{accounts:?}");
    assert_eq!(accounts.body, json!({"items": []}));
    // A second workspace gets its own id and key.
    let other = app.workspace("Globex").await;
    assert_ne!(other.id, id);
    assert_ne!(other.key, key);
}

#[tokio::test]
async fn a_workspace_key_cannot_create_workspaces() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let a = app
        .post("/v1/workspaces", &ws.key, json!({"name": "Mine now"}))
        .await;
    a.problem(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_admin_key_acts_in_no_workspace() {
    let app = App::new().await;
    let a = app.get("/v1/accounts", ADMIN).await;
    a.problem(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    app.get("/v1/nothing-here", &ws.key)
        .await
        .problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_key_is_checked_before_the_body_is_read() {
    let app = App::new().await;
    let a = app
        .call(
            Method::POST,
            "/v1/posts",
            None,
            Some(json!({"not": "even a post"})),
        )
        .await;
    a.problem(StatusCode::UNAUTHORIZED);
    let raw = app
        .send(
            axum::http::Request::post("/v1/posts")
                .header("content-type", "text/plain")
                .body(axum::body::Body::from("{"))
                .unwrap(),
        )
        .await;
    raw.problem(StatusCode::UNAUTHORIZED);
}
