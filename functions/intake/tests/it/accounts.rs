use crate::support::App;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_sandbox_account_is_created_without_credentials_and_listed() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let a = app
        .post(
            "/v1/accounts",
            &ws.key,
            json!({"platform": "sandbox", "handle": "acme-test"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(a.body["platform"], "sandbox");
    assert_eq!(a.body["handle"], "acme-test");
    let id = a.body["id"].as_str().expect("id");
    let list = app.get("/v1/accounts", &ws.key).await;
    assert_eq!(list.status, StatusCode::OK);
    let items = list.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[0]["platform"], "sandbox");
    assert_eq!(items[0]["handle"], "acme-test");
}

#[tokio::test]
async fn accounts_are_listed_only_in_their_own_workspace() {
    let app = App::new().await;
    let a = app.workspace("Acme").await;
    let b = app.workspace("Globex").await;
    app.sandbox(&a, "acme").await;
    let list = app.get("/v1/accounts", &b.key).await;
    assert_eq!(list.body, json!({"items": []}));
}

#[tokio::test]
async fn a_bluesky_account_without_credentials_is_422_naming_credentials() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let before = app.snapshot(&ws).await;
    let a = app
        .post(
            "/v1/accounts",
            &ws.key,
            json!({"platform": "bluesky", "handle": "acme.bsky.social"}),
        )
        .await;
    let message = a.invalid_field("credentials");
    assert!(message.contains("app_password"), "{message}");
    assert_eq!(app.snapshot(&ws).await, before, "nothing was written");
}

#[tokio::test]
async fn a_bluesky_account_with_a_missing_credential_names_that_credential() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let before = app.snapshot(&ws).await;
    let a = app
        .post(
            "/v1/accounts",
            &ws.key,
            json!({"platform": "bluesky", "handle": "acme.bsky.social",
                   "credentials": {"service": "https://bsky.social", "identifier": "acme"}}),
        )
        .await;
    a.invalid_field("credentials.app_password");
    assert_eq!(app.snapshot(&ws).await, before, "nothing was written");
}

#[tokio::test]
async fn a_bluesky_account_with_full_credentials_is_created() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let a = app
        .post(
            "/v1/accounts",
            &ws.key,
            json!({"platform": "bluesky", "handle": "acme.bsky.social",
                   "credentials": {"service": "https://bsky.social", "identifier": "acme",
                                   "app_password": "abcd-efgh-ijkl-mnop"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(a.body["platform"], "bluesky");
    assert!(
        !a.raw.windows(4).any(|w| w == b"abcd"),
        "credentials are never answered back"
    );
}

#[tokio::test]
async fn an_oauth_platform_cannot_be_connected_by_pasting_credentials() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let before = app.snapshot(&ws).await;
    for body in [
        json!({"platform": "x", "handle": "acme"}),
        json!({"platform": "x", "handle": "acme", "credentials": {"access_token": "t"}}),
    ] {
        let a = app.post("/v1/accounts", &ws.key, body).await;
        a.invalid_field("platform");
    }
    assert_eq!(app.snapshot(&ws).await, before, "nothing was written");
}

#[tokio::test]
async fn an_unknown_platform_is_422_naming_platform() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let before = app.snapshot(&ws).await;
    let a = app
        .post(
            "/v1/accounts",
            &ws.key,
            json!({"platform": "myspace", "handle": "acme"}),
        )
        .await;
    let message = a.invalid_field("platform");
    assert!(message.contains("myspace"), "{message}");
    assert_eq!(app.snapshot(&ws).await, before, "nothing was written");
}

#[tokio::test]
async fn an_empty_handle_is_422_naming_handle() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let before = app.snapshot(&ws).await;
    let a = app
        .post(
            "/v1/accounts",
            &ws.key,
            json!({"platform": "sandbox", "handle": "   "}),
        )
        .await;
    a.invalid_field("handle");
    assert_eq!(app.snapshot(&ws).await, before, "nothing was written");
}

#[tokio::test]
async fn a_service_url_on_a_private_or_metadata_address_is_refused_and_nothing_written() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let before = app.snapshot(&ws).await;
    for service in [
        "https://10.0.0.7",
        "https://169.254.169.254",
        "http://127.0.0.1:2583",
        "https://[::1]",
        "http://pds.example.com",
        "https://user:pw@pds.example.com",
    ] {
        let a = app
            .post(
                "/v1/accounts",
                &ws.key,
                json!({"platform": "bluesky", "handle": "acme.test",
                       "credentials": {"service": service, "identifier": "acme.test", "app_password": "x"}}),
            )
            .await;
        a.invalid_field("credentials.service");
    }
    assert_eq!(app.snapshot(&ws).await, before, "nothing was written");
}
