//! The audit log (API.md, "Teams, approvals, audit"): every write answered with success is
//! one entry naming who, what and which thing; refused writes and dry runs add none; the log
//! pages whole and nothing in the API changes it.

use crate::support::{App, Ws, rfc3339};
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};

async fn audit(app: &App, key: &str) -> Vec<Value> {
    let from = rfc3339(app.now() - Duration::days(1));
    let to = rfc3339(app.now() + Duration::days(1));
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let a = app
            .get(
                &format!("/v1/audit?from={from}&to={to}&limit=7&cursor={cursor}"),
                key,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        items.extend(a.body["items"].as_array().unwrap().iter().cloned());
        match a.body["next"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return items,
        }
    }
}

fn line(entry: &Value) -> (String, String, String) {
    (
        entry["actor"].as_str().unwrap().to_owned(),
        entry["action"].as_str().unwrap().to_owned(),
        entry["target"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn every_write_is_one_entry_with_who_what_and_which() {
    let app = App::new().await;
    let ws: Ws = app.workspace("Agency").await;
    let account = app.sandbox(&ws, "brand").await;
    let (editor_id, editor) = app.member(&ws, "editor").await;
    let (manager_id, manager) = app.member(&ws, "manager").await;
    app.approvals(&ws, true).await;
    let post = app
        .post(
            "/v1/posts",
            &editor,
            json!({"text": "Review me", "accounts": [account], "scheduled_at": app.at(Duration::hours(1))}),
        )
        .await;
    let post = post.body["id"].as_str().unwrap().to_owned();
    let a = app
        .post(&format!("/v1/posts/{post}/approve"), &manager, json!({}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let gone = app
        .call(
            Method::DELETE,
            &format!("/v1/posts/{post}"),
            Some(&editor),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    // A dry run writes nothing, and neither does a refused or a forbidden request.
    let dry = app
        .post_raw(
            "/v1/posts/import?dry_run=true",
            &editor,
            "text/csv",
            format!("text,accounts\nhello,{account}\n"),
        )
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{dry:?}");
    let refused = app
        .post("/v1/posts", &editor, json!({"text": "", "accounts": []}))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let forbidden = app
        .post(&format!("/v1/posts/{post}/approve"), &editor, json!({}))
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);

    // All at one instant of the test clock: entries of one millisecond have no order of
    // their own, so the set is compared.
    let mut lines: Vec<_> = audit(&app, &editor).await.iter().map(line).collect();
    lines.sort();
    let owner = lines
        .iter()
        .find(|l| l.1 == "PATCH /v1/workspace")
        .expect("the settings change")
        .0
        .clone();
    assert!(owner.starts_with("mem_"), "{lines:?}");
    let mut expected: Vec<(String, String, String)> = vec![
        ("admin".into(), "POST /v1/workspaces".into(), ws.id.clone()),
        (owner.clone(), "POST /v1/accounts".into(), account.clone()),
        (owner.clone(), "POST /v1/members".into(), editor_id.clone()),
        (owner.clone(), "POST /v1/members".into(), manager_id.clone()),
        (owner.clone(), "PATCH /v1/workspace".into(), ws.id.clone()),
        (editor_id.clone(), "POST /v1/posts".into(), post.clone()),
        (
            manager_id.clone(),
            "POST /v1/posts/{id}/approve".into(),
            post.clone(),
        ),
        (
            editor_id.clone(),
            "DELETE /v1/posts/{id}".into(),
            post.clone(),
        ),
    ];
    expected.sort();
    assert_eq!(lines, expected);
    // Each entry has its time.
    for entry in audit(&app, &editor).await {
        assert!(
            entry["at"]
                .as_str()
                .unwrap()
                .parse::<chrono::DateTime<chrono::Utc>>()
                .is_ok()
        );
    }
}

#[tokio::test]
async fn an_idempotent_replay_adds_no_entry() {
    let app = App::new().await;
    let ws = app.workspace("Agency").await;
    let account = app.sandbox(&ws, "brand").await;
    let before = audit(&app, &ws.key).await.len();
    for _ in 0..3 {
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/v1/posts")
            .header("authorization", format!("Bearer {}", ws.key))
            .header("content-type", "application/json")
            .header("idempotency-key", "once")
            .body(axum::body::Body::from(
                json!({"text": "once", "accounts": [account]}).to_string(),
            ))
            .unwrap();
        let a = app.send(request).await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    }
    assert_eq!(audit(&app, &ws.key).await.len(), before + 1);
}

#[tokio::test]
async fn the_log_cannot_be_changed_through_the_api_and_every_role_reads_it() {
    let app = App::new().await;
    let ws = app.workspace("Agency").await;
    let (_, viewer) = app.member(&ws, "viewer").await;
    let before = audit(&app, &ws.key).await;
    assert!(!before.is_empty());
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let a = app
            .call(method.clone(), "/v1/audit", Some(&ws.key), Some(json!({})))
            .await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {a:?}");
    }
    assert_eq!(audit(&app, &viewer).await, before);
    // Another workspace sees none of it.
    let other = app.workspace("Other").await;
    let theirs = audit(&app, &other.key).await;
    assert!(
        theirs.iter().all(|e| e["target"] != ws.id.as_str()),
        "{theirs:?}"
    );
}

#[tokio::test]
async fn a_window_is_checked_and_a_long_log_pages_whole_in_order() {
    let app = App::new().await;
    let ws = app.workspace("Agency").await;
    let account = app.sandbox(&ws, "brand").await;
    for i in 0..40 {
        app.create_post(
            &ws,
            json!({"text": format!("post {i}"), "accounts": [account]}),
        )
        .await;
        app.clock.advance(Duration::seconds(1));
    }
    let all = audit(&app, &ws.key).await;
    assert_eq!(all.len(), 42, "workspace, account and 40 posts");
    let times: Vec<&str> = all.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    let bad = app
        .get(
            &format!(
                "/v1/audit?from={}&to={}",
                app.at(Duration::hours(1)),
                app.at(Duration::zero())
            ),
            &ws.key,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    let missing = app.get("/v1/audit", &ws.key).await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{missing:?}"
    );
}
