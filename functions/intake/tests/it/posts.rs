use crate::support::{App, rfc3339};
use axum::http::{Method, Request, StatusCode};
use chrono::Duration;
use herald_domain::PostId;
use serde_json::{Value, json};

#[tokio::test]
async fn a_post_without_scheduled_at_is_a_draft() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    let a = app
        .post(
            "/v1/posts",
            &ws.key,
            json!({"text": "thinking about it", "accounts": [acct]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(a.body["status"], "draft");
    assert_eq!(a.body["scheduled_at"], Value::Null);
    let id = a.body["id"].as_str().expect("id");
    let view = app.post_view(&ws, id).await;
    assert_eq!(view["status"], "draft");
    // A draft is in no calendar window and is never published.
    assert!(app.calendar(&ws).await.is_empty());
    let report = app.run_publisher().await;
    assert_eq!(report.due, 0);
    assert!(app.outbox(&ws, &acct).await.is_empty());
}

#[tokio::test]
async fn a_scheduled_post_answers_the_contract_fields() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let one = app.sandbox(&ws, "one").await;
    let two = app.sandbox(&ws, "two").await;
    let at = app.now() + Duration::minutes(30);
    let created = app
        .post(
            "/v1/posts",
            &ws.key,
            json!({"text": "launch", "accounts": [one, two], "scheduled_at": rfc3339(at),
                   "tags": ["launch"], "kind": "promotional"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let id = created.body["id"].as_str().expect("id").to_owned();
    let view = app.post_view(&ws, &id).await;
    // The contract fixes no order of targets; compare them as a set.
    assert_eq!(
        by_account(&view),
        by_account(&created.body),
        "GET answers what the create answered"
    );
    assert_eq!(view["id"], id.as_str());
    assert_eq!(view["status"], "scheduled");
    let scheduled_at = view["scheduled_at"].as_str().expect("scheduled_at");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(scheduled_at).expect("RFC 3339"),
        at
    );
    let targets = view["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 2);
    let mut accounts: Vec<&str> = targets
        .iter()
        .map(|t| t["account"].as_str().unwrap())
        .collect();
    accounts.sort();
    let mut expected = vec![one.as_str(), two.as_str()];
    expected.sort();
    assert_eq!(accounts, expected);
    for t in targets {
        assert_eq!(t["platform"], "sandbox");
        assert_eq!(t["status"], "scheduled");
        for absent in ["remote_id", "url", "error", "published_at"] {
            assert!(t.get(absent).is_none_or(Value::is_null), "{absent}: {t}");
        }
    }
}

/// A post view with its targets in account order.
fn by_account(view: &Value) -> Value {
    let mut view = view.clone();
    if let Some(targets) = view["targets"].as_array_mut() {
        targets.sort_by(|a, b| a["account"].as_str().cmp(&b["account"].as_str()));
    }
    view
}

#[tokio::test]
async fn another_workspaces_post_is_404_exactly_like_a_missing_one() {
    let app = App::new().await;
    let a = app.workspace("Acme").await;
    let b = app.workspace("Globex").await;
    let acct = app.sandbox(&a, "acme").await;
    let theirs = app
        .create_post(
            &a,
            json!({"text": "private", "accounts": [acct], "scheduled_at": app.at(Duration::hours(1))}),
        )
        .await;
    let missing = PostId::generate(1_900_000_000_000, 99).to_string();
    let foreign = app.get(&format!("/v1/posts/{theirs}"), &b.key).await;
    let absent = app.get(&format!("/v1/posts/{missing}"), &b.key).await;
    let garbage = app.get("/v1/posts/not-an-id", &b.key).await;
    foreign.problem(StatusCode::NOT_FOUND);
    assert_eq!(foreign.raw, absent.raw, "same body as a missing post");
    assert_eq!(
        foreign.raw, garbage.raw,
        "same body as an id that cannot exist"
    );
    assert_eq!(
        foreign.header("content-type"),
        absent.header("content-type")
    );
    // Nor can the other workspace act on it.
    let original = app.post_view(&a, &theirs).await;
    for (method, uri, body) in [
        (Method::POST, format!("/v1/posts/{theirs}/publish"), None),
        (
            Method::POST,
            format!("/v1/posts/{theirs}/schedule"),
            Some(json!({"scheduled_at": app.at(Duration::hours(2))})),
        ),
        (Method::DELETE, format!("/v1/posts/{theirs}"), None),
    ] {
        let a = app.call(method, &uri, Some(&b.key), body).await;
        a.problem(StatusCode::NOT_FOUND);
        assert_eq!(a.body["detail"], absent.body["detail"], "{uri}");
    }
    assert_eq!(
        app.post_view(&a, &theirs).await,
        original,
        "untouched by the other workspace"
    );
}

#[tokio::test]
async fn the_calendar_answers_posts_in_from_inclusive_to_exclusive_only() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let other = app.workspace("Globex").await;
    let acct = app.sandbox(&ws, "acme").await;
    let their_acct = app.sandbox(&other, "globex").await;
    let mut ids = Vec::new();
    for hours in [1, 2, 3, 4] {
        ids.push(
            app.create_post(
                &ws,
                json!({"text": format!("at +{hours}h"), "accounts": [acct],
                       "scheduled_at": app.at(Duration::hours(hours))}),
            )
            .await,
        );
    }
    app.create_post(
        &other,
        json!({"text": "theirs", "accounts": [their_acct], "scheduled_at": app.at(Duration::hours(2))}),
    )
    .await;
    app.create_post(&ws, json!({"text": "a draft", "accounts": [acct]}))
        .await;
    let from = app.at(Duration::hours(2));
    let to = app.at(Duration::hours(4));
    let a = app
        .get(&format!("/v1/posts?from={from}&to={to}"), &ws.key)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let got: Vec<&str> = a.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, vec![ids[1].as_str(), ids[2].as_str()]);
    // The whole window, earliest first.
    let all: Vec<String> = app
        .calendar(&ws)
        .await
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all, ids);
}

#[tokio::test]
async fn a_bad_or_missing_calendar_window_is_422_naming_the_parameter() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let now = app.at(Duration::zero());
    let later = app.at(Duration::hours(1));
    for (query, field) in [
        (String::new(), "from"),
        (format!("?to={later}"), "from"),
        (format!("?from={now}"), "to"),
        (format!("?from=yesterday&to={later}"), "from"),
        (format!("?from={now}&to=2030-13-01"), "to"),
        (format!("?from={later}&to={now}"), "to"),
        (format!("?from={now}&to={now}"), "to"),
    ] {
        let a = app.get(&format!("/v1/posts{query}"), &ws.key).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {a:?}");
        a.invalid_field(field);
    }
}

fn with_key(key: &str, idempotency: &str, body: &Value) -> Request<axum::body::Body> {
    Request::post("/v1/posts")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", idempotency)
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn the_same_request_with_the_same_idempotency_key_makes_one_post() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    let body =
        json!({"text": "once", "accounts": [acct], "scheduled_at": app.at(Duration::hours(1))});
    let first = app.send(with_key(&ws.key, "order-42", &body)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert_eq!(first.header("idempotent-replayed"), None);
    app.clock.advance(Duration::seconds(10));
    let second = app.send(with_key(&ws.key, "order-42", &body)).await;
    assert_eq!(second.status, StatusCode::CREATED, "{second:?}");
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.body["id"], first.body["id"]);
    assert_eq!(second.body, first.body, "the first answer, replayed");
    let calendar = app.calendar(&ws).await;
    assert_eq!(calendar.len(), 1, "{calendar:?}");
    assert_eq!(calendar[0]["id"], first.body["id"]);
    // Keys are per workspace: another workspace's same key is a new request.
    let other = app.workspace("Globex").await;
    let their_acct = app.sandbox(&other, "globex").await;
    let theirs = json!({"text": "once", "accounts": [their_acct], "scheduled_at": app.at(Duration::hours(1))});
    let a = app.send(with_key(&other.key, "order-42", &theirs)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(a.header("idempotent-replayed"), None);
    assert_ne!(a.body["id"], first.body["id"]);
}

#[tokio::test]
async fn the_same_idempotency_key_with_a_different_body_is_422_and_writes_nothing() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    let body =
        json!({"text": "once", "accounts": [acct], "scheduled_at": app.at(Duration::hours(1))});
    let first = app.send(with_key(&ws.key, "order-43", &body)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let before = app.snapshot(&ws).await;
    let mut changed = body.clone();
    changed["text"] = json!("twice?");
    let a = app.send(with_key(&ws.key, "order-43", &changed)).await;
    a.invalid_field("Idempotency-Key");
    assert_eq!(app.snapshot(&ws).await, before, "nothing was written");
}

#[tokio::test]
async fn a_draft_is_scheduled_later_and_then_appears_in_the_calendar() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    let id = app
        .create_post(&ws, json!({"text": "later", "accounts": [acct]}))
        .await;
    let at = app.at(Duration::hours(5));
    let a = app
        .post(
            &format!("/v1/posts/{id}/schedule"),
            &ws.key,
            json!({"scheduled_at": at}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["status"], "scheduled");
    assert_eq!(a.body["targets"][0]["status"], "scheduled");
    let calendar = app.calendar(&ws).await;
    assert_eq!(calendar.len(), 1);
    assert_eq!(calendar[0]["id"], id.as_str());
    // Into the past it cannot go.
    let past = app
        .post(
            &format!("/v1/posts/{id}/schedule"),
            &ws.key,
            json!({"scheduled_at": app.at(Duration::hours(-1))}),
        )
        .await;
    past.invalid_field("scheduled_at");
    assert_eq!(
        app.post_view(&ws, &id).await["scheduled_at"],
        a.body["scheduled_at"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_with_one_idempotency_key_make_one_post() {
    let app = std::sync::Arc::new(App::new().await);
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    let body =
        json!({"text": "racing", "accounts": [acct], "scheduled_at": app.at(Duration::hours(1))});
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (app, key, body) = (app.clone(), ws.key.clone(), body.clone());
        tasks.spawn(async move { app.send(with_key(&key, "race-1", &body)).await });
    }
    let answers: Vec<_> = tasks.join_all().await;
    let mut ids = std::collections::BTreeSet::new();
    let mut replayed = 0;
    for a in &answers {
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        ids.insert(a.body["id"].as_str().expect("id").to_owned());
        if a.header("idempotent-replayed") == Some("true") {
            replayed += 1;
        }
    }
    assert_eq!(ids.len(), 1, "one post for every retry: {ids:?}");
    assert_eq!(replayed, 7, "all but the first are replays");
    assert_eq!(app.calendar(&ws).await.len(), 1);
}

#[tokio::test]
async fn a_bad_idempotency_key_is_422_naming_the_header_and_writes_nothing() {
    let app = App::new().await;
    let ws = app.workspace("Acme").await;
    let acct = app.sandbox(&ws, "acme").await;
    let body = json!({"text": "k", "accounts": [acct], "scheduled_at": app.at(Duration::hours(1))});
    let before = app.snapshot(&ws).await;
    let long = "k".repeat(256);
    for key in ["", long.as_str()] {
        let a = app.send(with_key(&ws.key, key, &body)).await;
        a.invalid_field("Idempotency-Key");
    }
    let non_ascii = Request::post("/v1/posts")
        .header("authorization", format!("Bearer {}", ws.key))
        .header("content-type", "application/json")
        .header(
            "idempotency-key",
            axum::http::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        )
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    app.send(non_ascii).await.invalid_field("Idempotency-Key");
    assert_eq!(app.snapshot(&ws).await, before, "nothing was written");
}
