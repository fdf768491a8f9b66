use crate::support::App;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_queue_is_set_read_back_and_fills_with_queued_posts() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    let uri = format!("/v1/accounts/{acct}/queue");
    assert_eq!(app.get(&uri, &ws.key).await.status, StatusCode::NOT_FOUND);
    let queue =
        json!({"timezone": "Europe/Berlin", "slots": [{"weekday": "tue", "time": "10:00"}]});
    let set = app
        .call(Method::PUT, &uri, Some(&ws.key), Some(queue.clone()))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(app.get(&uri, &ws.key).await.body, queue);

    let a = app
        .post(
            "/v1/posts",
            &ws.key,
            json!({"text": "one", "accounts": [acct], "queue": true}),
        )
        .await;
    let b = app
        .post(
            "/v1/posts",
            &ws.key,
            json!({"text": "two", "accounts": [acct], "queue": true}),
        )
        .await;
    assert_eq!(
        (a.status, b.status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(a.body["status"], "scheduled");
    let (ta, tb) = (
        chrono::DateTime::parse_from_rfc3339(a.body["scheduled_at"].as_str().unwrap()).unwrap(),
        chrono::DateTime::parse_from_rfc3339(b.body["scheduled_at"].as_str().unwrap()).unwrap(),
    );
    assert_eq!(
        tb - ta,
        chrono::Duration::days(7),
        "consecutive weekly slots"
    );
}

#[tokio::test]
async fn a_bad_queue_names_its_fields_and_a_foreign_account_is_404() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let other = app.workspace("Globex").await;
    let acct = app.sandbox(&ws, "acme").await;
    let uri = format!("/v1/accounts/{acct}/queue");
    let bad = app
        .call(
            Method::PUT,
            &uri,
            Some(&ws.key),
            Some(json!({"timezone": "Nowhere/Land", "slots": [{"weekday": "funday", "time": "9am"}]})),
        )
        .await;
    bad.invalid_field("timezone");
    bad.invalid_field("slots[0].weekday");
    let foreign = app
        .call(
            Method::PUT,
            &uri,
            Some(&other.key),
            Some(json!({"timezone": "UTC", "slots": [{"weekday": "mon", "time": "09:00"}]})),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&uri, &ws.key).await.status, StatusCode::NOT_FOUND);
}
