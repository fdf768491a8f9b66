//! Members and roles as a hostile team uses them: a removed member's key stops at once, no one
//! grants a role above their own, a viewer cannot touch a real post, and a settings change
//! with one bad field changes nothing.

use crate::support::App;
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::json;

#[tokio::test]
async fn a_removed_members_key_is_401_at_once() {
    let app = App::new().await;
    let ws = app.workspace("Agency").await;
    let account = app.sandbox(&ws, "brand").await;
    let (id, key) = app.member(&ws, "editor").await;
    assert_eq!(
        app.get(
            "/v1/posts?from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z",
            &key
        )
        .await
        .status,
        StatusCode::OK
    );
    let a = app
        .call(
            Method::DELETE,
            &format!("/v1/members/{id}"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    for (method, path, body) in [
        (Method::GET, "/v1/accounts".to_owned(), None),
        (
            Method::POST,
            "/v1/posts".to_owned(),
            Some(json!({"text": "still here?", "accounts": [account]})),
        ),
        (Method::GET, "/v1/members".to_owned(), None),
    ] {
        let a = app.call(method.clone(), &path, Some(&key), body).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{method} {path} {a:?}");
    }
    let members = app.get("/v1/members", &ws.key).await;
    assert!(
        members.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != id.as_str()),
        "{members:?}"
    );
    // Removing them again is 404, not a second removal.
    let again = app
        .call(
            Method::DELETE,
            &format!("/v1/members/{id}"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{again:?}");
}

#[tokio::test]
async fn no_one_grants_a_role_above_their_own_and_only_owners_add_members() {
    let app = App::new().await;
    let ws = app.workspace("Agency").await;
    let (_, editor) = app.member(&ws, "editor").await;
    let (_, manager) = app.member(&ws, "manager").await;
    let before = app.get("/v1/members", &ws.key).await.body;
    for key in [&editor, &manager] {
        for role in ["owner", "manager", "editor", "viewer"] {
            let a = app
                .post("/v1/members", key, json!({"name": "sneaky", "role": role}))
                .await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{role} {a:?}");
        }
    }
    let a = app
        .post(
            "/v1/members",
            &ws.key,
            json!({"name": "root", "role": "admin"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{a:?}");
    assert_eq!(app.get("/v1/members", &ws.key).await.body, before);
    // An owner may make another owner, and the list shows no key.
    let (_, second_owner) = app.member(&ws, "owner").await;
    let list = app.get("/v1/members", &second_owner).await;
    let text = list.body.to_string();
    assert!(
        !text.contains("api_key") && !text.contains("hk_ws_"),
        "{text}"
    );
}

#[tokio::test]
async fn a_viewer_cannot_cancel_move_or_publish_a_real_post() {
    let app = App::new().await;
    let ws = app.workspace("Agency").await;
    let account = app.sandbox(&ws, "brand").await;
    let (_, viewer) = app.member(&ws, "viewer").await;
    let post = app
        .create_post(&ws, json!({"text": "Real", "accounts": [account], "scheduled_at": app.at(Duration::hours(1))}))
        .await;
    let before = app.post_view(&ws, &post).await;
    for (method, path, body) in [
        (Method::DELETE, format!("/v1/posts/{post}"), None),
        (
            Method::POST,
            format!("/v1/posts/{post}/schedule"),
            Some(json!({"scheduled_at": app.at(Duration::hours(2))})),
        ),
        (
            Method::POST,
            format!("/v1/posts/{post}/publish"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/posts/{post}/approve"),
            Some(json!({})),
        ),
    ] {
        let a = app.call(method.clone(), &path, Some(&viewer), body).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{method} {path} {a:?}");
    }
    assert_eq!(app.post_view(&ws, &post).await, before);
    // A viewer reads it.
    assert_eq!(
        app.get(&format!("/v1/posts/{post}"), &viewer).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_settings_change_with_one_bad_field_changes_nothing() {
    let app = App::new().await;
    let ws = app.workspace("Agency").await;
    let before = app.get("/v1/workspace", &ws.key).await.body;
    for body in [
        json!({"name": "Renamed", "timezone": "Mars/Olympus"}),
        json!({"name": "Renamed", "approvals": "yes"}),
        json!({"name": "Renamed", "business_hours": {"mon": [["17:00", "09:00"]]}}),
        json!({"name": "Renamed", "colour": "blue"}),
        json!({"name": "", "approvals": true}),
    ] {
        let a = app
            .call(
                Method::PATCH,
                "/v1/workspace",
                Some(&ws.key),
                Some(body.clone()),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{body} {a:?}");
        assert_eq!(
            app.get("/v1/workspace", &ws.key).await.body,
            before,
            "{body}"
        );
    }
    // A manager may not change settings at all.
    let (_, manager) = app.member(&ws, "manager").await;
    let a = app
        .call(
            Method::PATCH,
            "/v1/workspace",
            Some(&manager),
            Some(json!({"approvals": false})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{a:?}");
}
