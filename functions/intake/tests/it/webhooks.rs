//! Webhooks through the API: inbound posts signed per the Standard Webhooks spec (every forged
//! form refused with nothing written, a repeat creating nothing new, the secret rotating with
//! a day's overlap), and outbound endpoints (checked when saved, the secret shown once).

use crate::support::{App, Ws};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Duration;
use herald_domain::webhook::{Secret, sign};
use serde_json::{Value, json};

/// The three Standard Webhooks headers, each present or not.
type Headers = [Option<String>; 3];

pub async fn inbound_secret(app: &App, ws: &Ws) -> String {
    let a = app
        .post("/v1/webhooks/inbound-secret", &ws.key, json!({}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    let secret = a.body["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    secret
}

/// A request to the inbound route with exactly these headers (None leaves one out).
pub async fn hook(
    app: &App,
    ws_id: &str,
    headers: [Option<String>; 3],
    body: &[u8],
) -> crate::support::Answer {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/hooks/v1/{ws_id}/posts"))
        .header(header::CONTENT_TYPE, "application/json");
    for (name, value) in ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .into_iter()
        .zip(headers)
    {
        if let Some(v) = value {
            request = request.header(name, v);
        }
    }
    app.send(request.body(Body::from(body.to_vec())).expect("request"))
        .await
}

/// A request signed with `secret` at the app's now.
pub async fn signed(
    app: &App,
    ws_id: &str,
    secret: &str,
    id: &str,
    body: &[u8],
) -> crate::support::Answer {
    let ts = app.now().timestamp();
    let sig = sign(&Secret::parse(secret).unwrap(), id, ts, body);
    hook(
        app,
        ws_id,
        [Some(id.into()), Some(ts.to_string()), Some(sig)],
        body,
    )
    .await
}

async fn post_body(app: &App, ws: &Ws) -> Vec<u8> {
    let account = app.sandbox(ws, "shop").await;
    json!({"text": "New in the shop", "accounts": [account], "scheduled_at": app.at(Duration::hours(1))})
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn a_signed_inbound_webhook_creates_a_post_once() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let secret = inbound_secret(&app, &ws).await;
    let body = post_body(&app, &ws).await;
    let a = signed(&app, &ws.id, &secret, "msg_first", &body).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{a:?}");
    let id = a.body["id"].as_str().expect("id").to_owned();
    assert_eq!(app.post_view(&ws, &id).await["status"], "scheduled");
    // The sender retries: same id, a fresh timestamp and signature a minute later.
    app.clock.advance(Duration::minutes(1));
    let again = signed(&app, &ws.id, &secret, "msg_first", &body).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{again:?}");
    assert_eq!(again.body["id"], id.as_str());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.calendar(&ws).await.len(), 1);
    // Another id is another post.
    let other = signed(&app, &ws.id, &secret, "msg_second", &body).await;
    assert_eq!(other.status, StatusCode::ACCEPTED, "{other:?}");
    assert_ne!(other.body["id"], id.as_str());
    assert_eq!(app.calendar(&ws).await.len(), 2);
}

#[tokio::test]
async fn every_forged_stale_future_replayed_or_unsigned_form_is_refused_and_writes_nothing() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let secret = inbound_secret(&app, &ws).await;
    let body = post_body(&app, &ws).await;
    let other_ws = app.workspace("Elsewhere").await;
    let other_secret = inbound_secret(&app, &other_ws).await;
    let before = app.snapshot(&ws).await;
    let key = Secret::parse(&secret).unwrap();
    let now = app.now().timestamp();
    let id = || Some("msg_forged".to_owned());
    let ts = |t: i64| Some(t.to_string());
    let good = sign(&key, "msg_forged", now, &body);
    let truncated = good[..good.len() - 6].to_owned();
    let mut changed = body.clone();
    changed[10] ^= 1;
    let cases: Vec<(&str, Headers, Vec<u8>)> = vec![
        ("unsigned", [None, None, None], body.clone()),
        ("no id", [None, ts(now), Some(good.clone())], body.clone()),
        (
            "no timestamp",
            [id(), None, Some(good.clone())],
            body.clone(),
        ),
        ("no signature", [id(), ts(now), None], body.clone()),
        (
            "empty v1,",
            [id(), ts(now), Some("v1,".into())],
            body.clone(),
        ),
        ("truncated", [id(), ts(now), Some(truncated)], body.clone()),
        (
            "other version",
            [id(), ts(now), Some(good.replace("v1,", "v2,"))],
            body.clone(),
        ),
        (
            "wrong secret",
            [
                id(),
                ts(now),
                Some(sign(
                    &Secret::parse(&other_secret).unwrap(),
                    "msg_forged",
                    now,
                    &body,
                )),
            ],
            body.clone(),
        ),
        (
            "stale",
            [
                id(),
                ts(now - 301),
                Some(sign(&key, "msg_forged", now - 301, &body)),
            ],
            body.clone(),
        ),
        (
            "future",
            [
                id(),
                ts(now + 301),
                Some(sign(&key, "msg_forged", now + 301, &body)),
            ],
            body.clone(),
        ),
        ("changed body", [id(), ts(now), Some(good.clone())], changed),
        (
            "timestamp not a number",
            [id(), Some("soon".into()), Some(good.clone())],
            body.clone(),
        ),
    ];
    for (what, headers, body) in cases {
        let a = hook(&app, &ws.id, headers, &body).await;
        let p = a.problem(StatusCode::UNAUTHORIZED);
        assert_eq!(p["type"], "/problems/bad-signature", "{what}: {p}");
    }
    // A valid signature sent to another workspace, or to one with no secret, is refused too.
    let a = signed(&app, &other_ws.id, &secret, "msg_x", &body).await;
    a.problem(StatusCode::UNAUTHORIZED);
    let bare = app.workspace("No secret").await;
    let a = signed(&app, &bare.id, &secret, "msg_x", &body).await;
    a.problem(StatusCode::UNAUTHORIZED);
    let a = signed(&app, "not-a-workspace", &secret, "msg_x", &body).await;
    a.problem(StatusCode::UNAUTHORIZED);
    assert_eq!(app.snapshot(&ws).await, before);
    // A captured request replayed after the window is refused; within it, it is a repeat.
    let ok = signed(&app, &ws.id, &secret, "msg_captured", &body).await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{ok:?}");
    let captured = [
        Some("msg_captured".to_owned()),
        ts(now),
        Some(sign(&key, "msg_captured", now, &body)),
    ];
    app.clock.advance(Duration::seconds(301));
    let replay = hook(&app, &ws.id, captured, &body).await;
    replay.problem(StatusCode::UNAUTHORIZED);
    assert_eq!(app.calendar(&ws).await.len(), 1);
}

#[tokio::test]
async fn an_oversize_body_is_413_before_any_signature_check() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let secret = inbound_secret(&app, &ws).await;
    let big = vec![b' '; herald_intake_max() + 1];
    // Unsigned: a signature check would say 401; the size is refused first.
    let a = hook(&app, &ws.id, [None, None, None], &big).await;
    a.problem(StatusCode::PAYLOAD_TOO_LARGE);
    let a = signed(&app, &ws.id, &secret, "msg_big", &big).await;
    a.problem(StatusCode::PAYLOAD_TOO_LARGE);
    // At the limit it is read, and (signed) checked as a post: whitespace is not JSON.
    let edge = vec![b' '; herald_intake_max()];
    let a = signed(&app, &ws.id, &secret, "msg_edge", &edge).await;
    a.problem(StatusCode::BAD_REQUEST);
    assert!(app.calendar(&ws).await.is_empty());
}

fn herald_intake_max() -> usize {
    64 * 1024
}

#[tokio::test]
async fn a_signed_but_invalid_post_is_refused_as_post_v1_posts_refuses_it() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let secret = inbound_secret(&app, &ws).await;
    let body = json!({"text": "", "accounts": ["acct_00000000000000000000000000"]}).to_string();
    let a = signed(&app, &ws.id, &secret, "msg_bad", body.as_bytes()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{a:?}");
    let a = signed(&app, &ws.id, &secret, "msg_bad2", b"{not json").await;
    a.problem(StatusCode::BAD_REQUEST);
    assert!(app.calendar(&ws).await.is_empty());
}

#[tokio::test]
async fn a_rotated_secret_keeps_the_old_one_valid_for_a_day_and_not_after() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    let old = inbound_secret(&app, &ws).await;
    let new = inbound_secret(&app, &ws).await;
    assert_ne!(old, new);
    let body = post_body(&app, &ws).await;
    let a = signed(&app, &ws.id, &old, "msg_old", &body).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{a:?}");
    let a = signed(&app, &ws.id, &new, "msg_new", &body).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{a:?}");
    app.clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    let body = post_body(&app, &ws).await;
    let a = signed(&app, &ws.id, &old, "msg_old_late", &body).await;
    a.problem(StatusCode::UNAUTHORIZED);
    let a = signed(&app, &ws.id, &new, "msg_new_late", &body).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{a:?}");
    // A third rotation drops the first secret at once (only the one before stays).
    let _third = inbound_secret(&app, &ws).await;
    let a = signed(&app, &ws.id, &old, "msg_oldest", &body).await;
    a.problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn endpoints_are_checked_when_saved_and_show_their_secret_once() {
    let app = App::new().await;
    let ws = app.workspace("Shop").await;
    for url in [
        "http://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "ftp://example.com/hook",
        "https://user:pw@example.com/hook",
        "not a url",
    ] {
        let a = app
            .post(
                "/v1/webhooks/endpoints",
                &ws.key,
                json!({"url": url, "events": ["post.published"]}),
            )
            .await;
        a.invalid_field("url");
    }
    let a = app
        .post(
            "/v1/webhooks/endpoints",
            &ws.key,
            json!({"url": "https://hooks.example.com/in", "events": ["post.exploded"]}),
        )
        .await;
    a.invalid_field("events[0]");
    let a = app
        .post(
            "/v1/webhooks/endpoints",
            &ws.key,
            json!({"url": "https://hooks.example.com/in", "events": []}),
        )
        .await;
    a.invalid_field("events");
    let empty = app.get("/v1/webhooks/endpoints", &ws.key).await;
    assert_eq!(empty.body["items"], json!([]));

    let a = app
        .post(
            "/v1/webhooks/endpoints",
            &ws.key,
            json!({"url": "https://hooks.example.com/in", "events": ["post.published", "post.failed", "post.published"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    let id = a.body["id"].as_str().unwrap().to_owned();
    assert!(a.body["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(a.body["events"], json!(["post.published", "post.failed"]));
    let list = app.get("/v1/webhooks/endpoints", &ws.key).await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["status"], "enabled");
    assert!(items[0].get("secret").is_none(), "{list:?}");
    assert!(!String::from_utf8_lossy(&list.raw).contains("whsec_"));
    // Another workspace sees none of it.
    let other = app.workspace("Other").await;
    let a = app
        .get(
            &format!("/v1/webhooks/endpoints/{id}/deliveries"),
            &other.key,
        )
        .await;
    a.problem(StatusCode::NOT_FOUND);
    let a = app
        .call(
            Method::DELETE,
            &format!("/v1/webhooks/endpoints/{id}"),
            Some(&other.key),
            None,
        )
        .await;
    a.problem(StatusCode::NOT_FOUND);
    let a = app
        .call(
            Method::DELETE,
            &format!("/v1/webhooks/endpoints/{id}"),
            Some(&ws.key),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    let a = app
        .call(
            Method::DELETE,
            &format!("/v1/webhooks/endpoints/{id}"),
            Some(&ws.key),
            None,
        )
        .await;
    a.problem(StatusCode::NOT_FOUND);
    let empty: Value = app.get("/v1/webhooks/endpoints", &ws.key).await.body;
    assert_eq!(empty["items"], json!([]));
}
