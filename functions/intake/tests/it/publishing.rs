//! Publishing through the API: publish now, the publisher run, the sandbox outbox, cancel.

use crate::support::App;
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::json;

#[tokio::test]
async fn publish_now_sends_the_post_to_the_sandbox_once() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    let id = app
        .create_post(
            &ws,
            json!({"text": "Hello from Herald", "accounts": [acct], "scheduled_at": app.at(Duration::hours(3))}),
        )
        .await;
    let a = app
        .call(
            Method::POST,
            &format!("/v1/posts/{id}/publish"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{a:?}");
    assert_eq!(a.body["id"], id.as_str());
    let report = app.run_publisher().await;
    assert_eq!(report.published, 1, "{report:?}");
    let view = app.post_view(&ws, &id).await;
    assert_eq!(view["status"], "published", "{view}");
    let target = &view["targets"][0];
    assert_eq!(target["status"], "published");
    let remote_id = target["remote_id"].as_str().expect("remote_id");
    assert!(target["published_at"].is_string(), "{target}");
    let outbox = app.outbox(&ws, &acct).await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0]["text"], "Hello from Herald");
    assert_eq!(outbox[0]["remote_id"], remote_id);
    assert!(outbox[0]["received_at"].is_string());
    assert_eq!(outbox[0]["media"], json!([]));
    // Another run finds nothing due and sends nothing again.
    let again = app.run_publisher().await;
    assert_eq!(again.published, 0, "{again:?}");
    assert_eq!(app.outbox(&ws, &acct).await.len(), 1);
    // A published post cannot be published again.
    let twice = app
        .call(
            Method::POST,
            &format!("/v1/posts/{id}/publish"),
            Some(&ws.key),
            None,
        )
        .await;
    twice.problem(StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_post_to_several_accounts_reaches_each_outbox_with_its_variant() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let one = app.sandbox(&ws, "one").await;
    let two = app.sandbox(&ws, "two").await;
    let id = app
        .create_post(
            &ws,
            json!({"text": "default", "accounts": [one, two],
                   "variants": {"sandbox": {"text": "sandbox words"}},
                   "scheduled_at": app.at(Duration::seconds(30))}),
        )
        .await;
    assert_eq!(app.run_publisher().await.published, 0, "not due yet");
    app.clock.advance(Duration::seconds(30));
    let report = app.run_publisher().await;
    assert_eq!(report.published, 2, "{report:?}");
    for acct in [&one, &two] {
        let outbox = app.outbox(&ws, acct).await;
        assert_eq!(outbox.len(), 1, "{outbox:?}");
        assert_eq!(outbox[0]["text"], "sandbox words");
    }
    assert_eq!(app.post_view(&ws, &id).await["status"], "published");
}

#[tokio::test]
async fn a_cancelled_post_is_never_published() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    let id = app
        .create_post(
            &ws,
            json!({"text": "never mind", "accounts": [acct], "scheduled_at": app.at(Duration::minutes(1))}),
        )
        .await;
    let a = app
        .call(
            Method::DELETE,
            &format!("/v1/posts/{id}"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    assert!(a.raw.is_empty());
    let view = app.post_view(&ws, &id).await;
    assert_eq!(view["status"], "cancelled");
    assert_eq!(view["targets"][0]["status"], "cancelled");
    app.clock.advance(Duration::minutes(2));
    let report = app.run_publisher().await;
    assert_eq!(report.published, 0, "{report:?}");
    assert!(app.outbox(&ws, &acct).await.is_empty());
    // Cancelling twice is harmless; scheduling a cancelled post is a conflict.
    let again = app
        .call(
            Method::DELETE,
            &format!("/v1/posts/{id}"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    app.call(
        Method::POST,
        &format!("/v1/posts/{id}/publish"),
        Some(&ws.key),
        None,
    )
    .await
    .problem(StatusCode::CONFLICT);
    assert_eq!(app.run_publisher().await.published, 0);
    assert!(app.outbox(&ws, &acct).await.is_empty());
}

#[tokio::test]
async fn deleting_a_published_post_keeps_its_target_published() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    let id = app
        .create_post(&ws, json!({"text": "out there", "accounts": [acct]}))
        .await;
    let a = app
        .call(
            Method::POST,
            &format!("/v1/posts/{id}/publish"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{a:?}");
    app.run_publisher().await;
    let published = app.post_view(&ws, &id).await;
    assert_eq!(published["targets"][0]["status"], "published");
    let d = app
        .call(
            Method::DELETE,
            &format!("/v1/posts/{id}"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT, "{d:?}");
    let view = app.post_view(&ws, &id).await;
    let target = &view["targets"][0];
    assert_eq!(target["status"], "published", "{view}");
    assert_eq!(target["remote_id"], published["targets"][0]["remote_id"]);
    assert_eq!(app.outbox(&ws, &acct).await.len(), 1);
}

#[tokio::test]
async fn the_outbox_of_a_non_sandbox_or_foreign_account_is_404() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let other = app.workspace("Globex").await;
    let theirs = app.sandbox(&other, "globex").await;
    let bluesky = app
        .post(
            "/v1/accounts",
            &ws.key,
            json!({"platform": "bluesky", "handle": "acme.bsky.social",
                   "credentials": {"service": "https://bsky.social", "identifier": "acme",
                                   "app_password": "abcd-efgh-ijkl-mnop"}}),
        )
        .await;
    assert_eq!(bluesky.status, StatusCode::CREATED, "{bluesky:?}");
    let bluesky = bluesky.body["id"].as_str().unwrap();
    for account in [bluesky, theirs.as_str(), "acct_nope"] {
        app.get(&format!("/v1/sandbox/{account}/outbox"), &ws.key)
            .await
            .problem(StatusCode::NOT_FOUND);
    }
    // The owner sees its own (empty) outbox.
    assert!(app.outbox(&other, &theirs).await.is_empty());
}
