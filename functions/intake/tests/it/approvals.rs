//! Approvals (API.md, "Teams, approvals, audit"): with approvals on an editor's scheduled or
//! queued post waits `in_review` and nothing of it is due; a manager approves it (scheduled,
//! `post.scheduled` recorded then) or asks for changes (draft, comment kept); moving an
//! approved post sends it back to review; a time that passed in review is 409.

use crate::support::{App, Ws};
use axum::http::StatusCode;
use chrono::Duration;
use herald_storage::keys;
use serde_json::{Value, json};

struct Team {
    ws: Ws,
    editor: String,
    manager: String,
    viewer: String,
    account: String,
}

async fn team(app: &App) -> Team {
    let ws = app.workspace("Agency").await;
    let account = app.sandbox(&ws, "brand").await;
    let (_, editor) = app.member(&ws, "editor").await;
    let (_, manager) = app.member(&ws, "manager").await;
    let (_, viewer) = app.member(&ws, "viewer").await;
    app.approvals(&ws, true).await;
    Team {
        ws,
        editor,
        manager,
        viewer,
        account,
    }
}

/// How many events of `kind` the workspace's outbox holds (in the table, relayed or not).
async fn recorded(app: &App, ws: &Ws, kind: &str) -> usize {
    let ws = herald_domain::WorkspaceId::parse(&ws.id).unwrap();
    let partition = keys::event(&ws, app.now(), "x").pk;
    let items = app
        .deps
        .table
        .query_all(herald_ports::Query::table(partition))
        .await
        .unwrap();
    items
        .iter()
        .filter(|i| {
            let data: Value = serde_json::from_str(i["data"].as_s().unwrap()).unwrap();
            data["kind"] == kind
        })
        .count()
}

async fn editors_post(app: &App, t: &Team, in_minutes: i64) -> Value {
    let a = app
        .post(
            "/v1/posts",
            &t.editor,
            json!({"text": "Spring sale", "accounts": [t.account], "scheduled_at": app.at(Duration::minutes(in_minutes))}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    a.body
}

#[tokio::test]
async fn an_editors_post_waits_in_review_and_nothing_of_it_is_published() {
    let app = App::new().await;
    let t = team(&app).await;
    let post = editors_post(&app, &t, 5).await;
    assert_eq!(post["status"], "in_review");
    assert_eq!(post["targets"][0]["status"], "draft");
    assert_eq!(recorded(&app, &t.ws, "post.scheduled").await, 0);
    // Its time comes and goes: nothing is due, nothing reaches the network.
    app.clock.advance(Duration::minutes(6));
    let report = app.run_publisher().await;
    assert_eq!(report.due, 0, "{report:?}");
    assert!(app.outbox(&t.ws, &t.account).await.is_empty());
    let id = post["id"].as_str().unwrap();
    assert_eq!(app.post_view(&t.ws, id).await["status"], "in_review");
    // The calendar shows it, marked.
    let calendar = app.calendar(&t.ws).await;
    assert_eq!(calendar.len(), 1);
    assert_eq!(calendar[0]["status"], "in_review");
}

#[tokio::test]
async fn a_manager_approves_and_only_then_the_post_is_scheduled_and_published() {
    let app = App::new().await;
    let t = team(&app).await;
    let post = editors_post(&app, &t, 5).await;
    let id = post["id"].as_str().unwrap();
    // The editor cannot approve their own post, nor can a viewer.
    for key in [&t.editor, &t.viewer] {
        let a = app
            .post(&format!("/v1/posts/{id}/approve"), key, json!({}))
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{a:?}");
    }
    let a = app
        .post(&format!("/v1/posts/{id}/approve"), &t.manager, json!({}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["status"], "scheduled");
    assert_eq!(a.body["targets"][0]["status"], "scheduled");
    assert!(
        a.body["approval"]["by"]
            .as_str()
            .unwrap()
            .starts_with("mem_")
    );
    assert_eq!(recorded(&app, &t.ws, "post.scheduled").await, 1);
    // Approving twice is a conflict, not a second event.
    let again = app
        .post(&format!("/v1/posts/{id}/approve"), &t.manager, json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    assert_eq!(recorded(&app, &t.ws, "post.scheduled").await, 1);
    app.clock.advance(Duration::minutes(5));
    let report = app.run_publisher().await;
    assert_eq!(report.due, 1, "{report:?}");
    assert_eq!(app.outbox(&t.ws, &t.account).await.len(), 1);
}

#[tokio::test]
async fn a_manager_schedules_without_review_while_an_editor_cannot_publish_now() {
    let app = App::new().await;
    let t = team(&app).await;
    let a = app
        .post(
            "/v1/posts",
            &t.manager,
            json!({"text": "Approved by me", "accounts": [t.account], "scheduled_at": app.at(Duration::minutes(5))}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(a.body["status"], "scheduled");
    assert!(a.body["approval"].is_object(), "{a:?}");
    assert_eq!(recorded(&app, &t.ws, "post.scheduled").await, 1);

    let draft = app
        .post(
            "/v1/posts",
            &t.editor,
            json!({"text": "Now please", "accounts": [t.account]}),
        )
        .await;
    assert_eq!(draft.body["status"], "draft");
    let id = draft.body["id"].as_str().unwrap();
    let now = app
        .post(&format!("/v1/posts/{id}/publish"), &t.editor, json!({}))
        .await;
    assert_eq!(now.status, StatusCode::CONFLICT, "{now:?}");
    assert!(
        now.body["detail"]
            .as_str()
            .unwrap()
            .contains("approvals are on")
    );
    assert_eq!(app.post_view(&t.ws, id).await["status"], "draft");
    // The manager may.
    let now = app
        .post(&format!("/v1/posts/{id}/publish"), &t.manager, json!({}))
        .await;
    assert_eq!(now.status, StatusCode::ACCEPTED, "{now:?}");
}

#[tokio::test]
async fn a_time_that_passed_in_review_is_409_and_a_new_time_can_be_approved() {
    let app = App::new().await;
    let t = team(&app).await;
    let post = editors_post(&app, &t, 5).await;
    let id = post["id"].as_str().unwrap();
    app.clock.advance(Duration::minutes(10));
    let a = app
        .post(&format!("/v1/posts/{id}/approve"), &t.manager, json!({}))
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{a:?}");
    assert!(
        a.body["detail"].as_str().unwrap().contains("passed"),
        "{a:?}"
    );
    assert_eq!(app.post_view(&t.ws, id).await["status"], "in_review");
    // The editor proposes a new time; it is still in review; the manager approves that.
    let moved = app
        .post(
            &format!("/v1/posts/{id}/schedule"),
            &t.editor,
            json!({"scheduled_at": app.at(Duration::hours(1))}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
    assert_eq!(moved.body["status"], "in_review");
    let a = app
        .post(&format!("/v1/posts/{id}/approve"), &t.manager, json!({}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let at: chrono::DateTime<chrono::Utc> =
        a.body["scheduled_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(at, app.now() + Duration::hours(1));
}

#[tokio::test]
async fn requested_changes_send_the_post_back_to_draft_with_the_comment() {
    let app = App::new().await;
    let t = team(&app).await;
    let post = editors_post(&app, &t, 30).await;
    let id = post["id"].as_str().unwrap();
    for bad in [
        json!({}),
        json!({"comment": "  "}),
        json!({"comment": "x".repeat(2001)}),
        json!({"comment": "bad\u{1b}[2J"}),
    ] {
        let a = app
            .post(
                &format!("/v1/posts/{id}/request-changes"),
                &t.manager,
                bad.clone(),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad} {a:?}");
        assert_eq!(app.post_view(&t.ws, id).await["status"], "in_review");
    }
    let a = app
        .post(
            &format!("/v1/posts/{id}/request-changes"),
            &t.manager,
            json!({"comment": "Say 20% off, not 15%"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["status"], "draft");
    let view = app.post_view(&t.ws, id).await;
    assert_eq!(view["comments"][0]["text"], "Say 20% off, not 15%");
    assert!(
        view["comments"][0]["by"]
            .as_str()
            .unwrap()
            .starts_with("mem_")
    );
    // A draft is not in review: approving it is a conflict.
    let a = app
        .post(&format!("/v1/posts/{id}/approve"), &t.manager, json!({}))
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{a:?}");
    // Scheduled again by the editor, it is back in review, the comment still on it.
    let a = app
        .post(
            &format!("/v1/posts/{id}/schedule"),
            &t.editor,
            json!({"scheduled_at": app.at(Duration::hours(2))}),
        )
        .await;
    assert_eq!(a.body["status"], "in_review", "{a:?}");
    assert_eq!(a.body["comments"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn moving_an_approved_post_sends_it_back_to_review_and_out_of_the_due_index() {
    let app = App::new().await;
    let t = team(&app).await;
    let post = editors_post(&app, &t, 5).await;
    let id = post["id"].as_str().unwrap();
    let a = app
        .post(&format!("/v1/posts/{id}/approve"), &t.manager, json!({}))
        .await;
    assert_eq!(a.body["status"], "scheduled");
    let moved = app
        .post(
            &format!("/v1/posts/{id}/schedule"),
            &t.editor,
            json!({"scheduled_at": app.at(Duration::minutes(6))}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
    assert_eq!(moved.body["status"], "in_review");
    assert!(moved.body.get("approval").is_none(), "{moved:?}");
    assert_eq!(moved.body["targets"][0]["status"], "draft");
    app.clock.advance(Duration::minutes(7));
    assert_eq!(app.run_publisher().await.due, 0);
    assert!(app.outbox(&t.ws, &t.account).await.is_empty());
}

#[tokio::test]
async fn with_approvals_off_an_editor_schedules_as_before() {
    let app = App::new().await;
    let t = team(&app).await;
    app.approvals(&t.ws, false).await;
    let post = editors_post(&app, &t, 5).await;
    assert_eq!(post["status"], "scheduled");
    assert!(post.get("approval").is_none());
    let id = post["id"].as_str().unwrap();
    // Nothing is in review: approve is a conflict.
    let a = app
        .post(&format!("/v1/posts/{id}/approve"), &t.manager, json!({}))
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{a:?}");
}

#[tokio::test]
async fn a_queued_post_by_an_editor_goes_to_review_and_cancelling_it_frees_its_slot() {
    let app = App::new().await;
    let t = team(&app).await;
    let queue = app
        .call(
            axum::http::Method::PUT,
            &format!("/v1/accounts/{}/queue", t.account),
            Some(&t.manager),
            Some(json!({"timezone": "UTC", "slots": [{"weekday": "mon", "time": "10:00"}, {"weekday": "tue", "time": "10:00"}]})),
        )
        .await;
    assert_eq!(queue.status, StatusCode::OK, "{queue:?}");
    let a = app
        .post(
            "/v1/posts",
            &t.editor,
            json!({"text": "Queued", "accounts": [t.account], "queue": true}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(a.body["status"], "in_review");
    let slot = a.body["queue_slot"].as_str().expect("a slot").to_owned();
    let id = a.body["id"].as_str().unwrap();
    let gone = app
        .call(
            axum::http::Method::DELETE,
            &format!("/v1/posts/{id}"),
            Some(&t.editor),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{gone:?}");
    let next = app
        .post(
            "/v1/posts",
            &t.editor,
            json!({"text": "Queued again", "accounts": [t.account], "queue": true}),
        )
        .await;
    assert_eq!(next.body["queue_slot"], slot.as_str(), "the slot came back");
}

#[tokio::test]
async fn editing_an_approved_post_sends_it_back_to_review_and_a_bad_edit_changes_nothing() {
    let app = App::new().await;
    let t = team(&app).await;
    let post = editors_post(&app, &t, 30).await;
    let id = post["id"].as_str().unwrap();
    let a = app
        .post(&format!("/v1/posts/{id}/approve"), &t.manager, json!({}))
        .await;
    assert_eq!(a.body["status"], "scheduled");
    let before = app.post_view(&t.ws, id).await;
    // Bad edits are refused whole: text too long for the network, an unknown field, a viewer.
    for (key, body, status) in [
        (
            &t.editor,
            json!({"text": "x".repeat(100_001), "tags": ["ok"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &t.editor,
            json!({"scheduled_at": app.at(Duration::hours(2))}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &t.editor,
            json!({"text": "fine", "kind": "advert"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &t.viewer,
            json!({"text": "mine now"}),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let a = app
            .call(
                axum::http::Method::PATCH,
                &format!("/v1/posts/{id}"),
                Some(key),
                Some(body.clone()),
            )
            .await;
        assert_eq!(a.status, status, "{body} {a:?}");
        assert_eq!(app.post_view(&t.ws, id).await, before, "{body}");
    }
    let a = app
        .call(
            axum::http::Method::PATCH,
            &format!("/v1/posts/{id}"),
            Some(&t.editor),
            Some(json!({"text": "Spring sale: 20% off", "tags": ["sale"]})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["status"], "in_review");
    assert_eq!(a.body["text"], "Spring sale: 20% off");
    assert!(a.body.get("approval").is_none());
    app.clock.advance(Duration::minutes(31));
    assert_eq!(app.run_publisher().await.due, 0, "out of the due index");
    // A manager's edit of an approved post is their approval.
    let post = editors_post(&app, &t, 30).await;
    let id = post["id"].as_str().unwrap();
    app.post(&format!("/v1/posts/{id}/approve"), &t.manager, json!({}))
        .await;
    let a = app
        .call(
            axum::http::Method::PATCH,
            &format!("/v1/posts/{id}"),
            Some(&t.manager),
            Some(json!({"text": "Fixed a typo"})),
        )
        .await;
    assert_eq!(a.body["status"], "scheduled", "{a:?}");
    assert_eq!(a.body["targets"][0]["status"], "scheduled");
}

#[tokio::test]
async fn an_editors_import_goes_to_review_row_by_row() {
    let app = App::new().await;
    let t = team(&app).await;
    let csv = format!(
        "text,accounts,scheduled_at\nfirst,{a},{at}\nsecond,{a},{at}\ndraft,{a},\n",
        a = t.account,
        at = app.at(Duration::hours(2))
    );
    let a = app
        .post_raw("/v1/posts/import", &t.editor, "text/csv", csv)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let created = a.body["created"].as_array().unwrap();
    assert_eq!(created.len(), 3, "{a:?}");
    let mut statuses: Vec<String> = Vec::new();
    for id in created {
        let view = app.post_view(&t.ws, id.as_str().unwrap()).await;
        statuses.push(view["status"].as_str().unwrap().to_owned());
    }
    statuses.sort();
    assert_eq!(statuses, ["draft", "in_review", "in_review"]);
    assert_eq!(recorded(&app, &t.ws, "post.scheduled").await, 0);
}
