//! Issue 3's bad-input list for `POST /v1/posts`: each error is a problem+json answer with the
//! offending field named, and after each one the calendar and the account list are unchanged.

use crate::support::{Answer, App, Snapshot, Ws};
use axum::http::StatusCode;
use chrono::Duration;
use herald_domain::{AccountId, MediaId};
use serde_json::{Value, json};

struct Fixture {
    app: App,
    ws: Ws,
    acct: String,
    other_acct: String,
    before: Snapshot,
}

impl Fixture {
    /// A workspace with one sandbox account and one scheduled post (so the calendar is not
    /// empty), and a second workspace with an account of its own.
    async fn new() -> Fixture {
        let app = App::new().await;
        let ws = app.workspace("Acme").await;
        let acct = app.sandbox(&ws, "acme").await;
        let other = app.workspace("Globex").await;
        let other_acct = app.sandbox(&other, "globex").await;
        app.create_post(
            &ws,
            json!({"text": "already here", "accounts": [acct], "scheduled_at": app.at(Duration::hours(1))}),
        )
        .await;
        let before = app.snapshot(&ws).await;
        Fixture {
            app,
            ws,
            acct,
            other_acct,
            before,
        }
    }

    /// A post that would be accepted, to spoil one field of.
    fn valid(&self) -> Value {
        json!({
            "text": "hello",
            "accounts": [self.acct],
            "scheduled_at": self.app.at(Duration::hours(2)),
        })
    }

    fn with(&self, field: &str, value: Value) -> Value {
        let mut body = self.valid();
        body[field] = value;
        body
    }

    async fn create(&self, body: Value) -> Answer {
        self.app.post("/v1/posts", &self.ws.key, body).await
    }

    async fn assert_nothing_written(&self) {
        assert_eq!(
            self.app.snapshot(&self.ws).await,
            self.before,
            "an error must change nothing"
        );
    }
}

#[tokio::test]
async fn malformed_json_is_400_and_writes_nothing() {
    let f = Fixture::new().await;
    for raw in [
        r#"{"text": "hello", "accounts": ["#,
        "not json at all",
        r#"{"text": "hello", "accounts": []} trailing"#,
        r#"{"text": "hello", "accounts": [],}"#,
        "",
    ] {
        let a = f
            .app
            .post_raw("/v1/posts", &f.ws.key, "application/json", raw.to_owned())
            .await;
        a.problem(StatusCode::BAD_REQUEST);
        f.assert_nothing_written().await;
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_by_content_type_is_415_and_writes_nothing() {
    let f = Fixture::new().await;
    let body = f.valid().to_string();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let a = f
            .app
            .post_raw("/v1/posts", &f.ws.key, content_type, body.clone())
            .await;
        a.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        f.assert_nothing_written().await;
    }
}

#[tokio::test]
async fn a_body_over_256_kib_is_413_and_writes_nothing() {
    let f = Fixture::new().await;
    let body = f
        .with("text", json!("a".repeat(256 * 1024 + 1)))
        .to_string();
    assert!(body.len() > herald_intake::MAX_BODY);
    let a = f
        .app
        .post_raw("/v1/posts", &f.ws.key, "application/json", body)
        .await;
    a.problem(StatusCode::PAYLOAD_TOO_LARGE);
    f.assert_nothing_written().await;
}

#[tokio::test]
async fn an_unknown_field_is_422_naming_the_field_and_writes_nothing() {
    let f = Fixture::new().await;
    let a = f.create(f.with("colour", json!("red"))).await;
    let problem = a.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem.to_string().contains("colour"),
        "the unknown field is named: {problem}"
    );
    f.assert_nothing_written().await;
}

/// serde reports a missing field at its parent (here the body's root): the edge must still name
/// the field itself.
#[tokio::test]
async fn an_unknown_or_missing_field_is_named_as_the_errors_field() {
    let f = Fixture::new().await;
    let unknown = f.create(f.with("colour", json!("red"))).await;
    unknown.invalid_field("colour");
    let mut body = f.valid();
    body.as_object_mut().unwrap().remove("accounts");
    let missing = f.create(body).await;
    missing.invalid_field("accounts");
    f.assert_nothing_written().await;
}

#[tokio::test]
async fn a_malformed_account_id_is_422_naming_the_account_and_writes_nothing() {
    let f = Fixture::new().await;
    for bad in [
        json!("nope"),
        json!(42),
        json!("post_01jzzzzzzzzzzzzzzzzzzzzzzz"),
    ] {
        let a = f.create(f.with("accounts", json!([bad]))).await;
        a.invalid_field("accounts[0]");
        f.assert_nothing_written().await;
    }
}

#[tokio::test]
async fn invalid_values_are_422_naming_their_field_and_write_nothing() {
    let f = Fixture::new().await;
    for (field, value) in [
        ("scheduled_at", json!("tomorrow at noon")),
        ("kind", json!("spam")),
        ("accounts", json!("not a list")),
        ("tags", json!([""])),
        ("text", json!("   ")),
    ] {
        let a = f.create(f.with(field, value)).await;
        a.invalid_field(field);
        f.assert_nothing_written().await;
    }
    let a = f.create(f.with("accounts", json!([]))).await;
    a.invalid_field("accounts");
    let twice = f.create(f.with("accounts", json!([f.acct, f.acct]))).await;
    twice.invalid_field("accounts");
    f.assert_nothing_written().await;
}

#[tokio::test]
async fn an_unknown_account_is_422_and_writes_nothing() {
    let f = Fixture::new().await;
    let missing = AccountId::generate(1_900_000_000_000, 12345).to_string();
    let a = f.create(f.with("accounts", json!([f.acct, missing]))).await;
    let message = a.invalid_field("accounts[1]");
    assert!(message.contains("unknown"), "{message}");
    f.assert_nothing_written().await;
}

#[tokio::test]
async fn another_workspaces_account_is_422_like_an_unknown_one_and_writes_nothing() {
    let f = Fixture::new().await;
    let missing = AccountId::generate(1_900_000_000_000, 12345).to_string();
    let foreign = f.create(f.with("accounts", json!([f.other_acct]))).await;
    let unknown = f.create(f.with("accounts", json!([missing]))).await;
    assert_eq!(
        foreign.invalid_field("accounts[0]"),
        unknown.invalid_field("accounts[0]"),
        "a foreign account reads exactly as a missing one"
    );
    f.assert_nothing_written().await;
    // And nothing reached the other workspace either.
    let other_outbox = f
        .app
        .get(&format!("/v1/sandbox/{}/outbox", f.other_acct), &f.ws.key)
        .await;
    other_outbox.problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_media_is_422_naming_the_item_and_writes_nothing() {
    let f = Fixture::new().await;
    let missing = MediaId::generate(1_900_000_000_000, 12345).to_string();
    let a = f.create(f.with("media", json!([missing]))).await;
    let message = a.invalid_field("media[0]");
    assert!(message.contains("unknown media"), "{message}");
    f.assert_nothing_written().await;
}

#[tokio::test]
async fn a_scheduled_time_in_the_past_is_422_and_writes_nothing() {
    let f = Fixture::new().await;
    for past in [Duration::minutes(-1), Duration::days(-400)] {
        let a = f
            .create(f.with("scheduled_at", json!(f.app.at(past))))
            .await;
        a.invalid_field("scheduled_at");
        f.assert_nothing_written().await;
    }
}

#[tokio::test]
async fn text_over_the_sandbox_limit_is_422_naming_sandbox_and_writes_nothing() {
    let f = Fixture::new().await;
    let a = f.create(f.with("text", json!("x".repeat(5_001)))).await;
    let message = a.invalid_field("text");
    assert!(message.contains("sandbox"), "{message}");
    assert!(message.contains("5000"), "{message}");
    f.assert_nothing_written().await;
    // Exactly at the limit is fine.
    let ok = f.create(f.with("text", json!("x".repeat(5_000)))).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{ok:?}");
}

#[tokio::test]
async fn a_variant_for_a_network_the_post_does_not_go_to_is_422_and_writes_nothing() {
    let f = Fixture::new().await;
    let a = f
        .create(f.with("variants", json!({"bluesky": {"text": "hi"}})))
        .await;
    a.invalid_field("variants.bluesky");
    f.assert_nothing_written().await;
}

#[tokio::test]
async fn a_failed_request_does_not_use_up_its_idempotency_key() {
    let f = Fixture::new().await;
    let send = |body: Value| {
        let request = axum::http::Request::post("/v1/posts")
            .header("authorization", format!("Bearer {}", f.ws.key))
            .header("content-type", "application/json")
            .header("idempotency-key", "retry-me")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        f.app.send(request)
    };
    let bad = send(f.with("scheduled_at", json!(f.app.at(Duration::hours(-1))))).await;
    bad.invalid_field("scheduled_at");
    f.assert_nothing_written().await;
    let good = send(f.valid()).await;
    assert_eq!(good.status, StatusCode::CREATED, "{good:?}");
    assert_eq!(good.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn errors_of_several_fields_are_all_named_at_once() {
    let f = Fixture::new().await;
    let missing = AccountId::generate(1_900_000_000_000, 1).to_string();
    let a = f
        .create(json!({
            "text": "y".repeat(5_001),
            "accounts": [f.acct, missing],
            "scheduled_at": f.app.at(Duration::hours(2)),
        }))
        .await;
    a.invalid_field("accounts[1]");
    a.invalid_field("text");
    f.assert_nothing_written().await;
}
