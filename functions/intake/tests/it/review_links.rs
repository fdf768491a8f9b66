//! Client review links (API.md, "Teams, approvals, audit"): a manager shares a window of posts
//! through a signed, expiring URL; a client with no key sees them, approves or comments, and
//! what the client did is in the audit log. A forged, altered, expired or revoked link is 404.

use crate::support::{App, Ws};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Duration;
use serde_json::{Value, json};

struct Shared {
    ws: Ws,
    editor: String,
    manager: String,
    account: String,
}

async fn shared(app: &App) -> Shared {
    let ws = app.workspace("Acme Shoes").await;
    let account = app.sandbox(&ws, "acmeshoes").await;
    let (_, editor) = app.member(&ws, "editor").await;
    let (_, manager) = app.member(&ws, "manager").await;
    app.approvals(&ws, true).await;
    Shared {
        ws,
        editor,
        manager,
        account,
    }
}

async fn in_review(app: &App, s: &Shared, text: &str, in_hours: i64) -> String {
    let a = app
        .post(
            "/v1/posts",
            &s.editor,
            json!({"text": text, "accounts": [s.account], "scheduled_at": app.at(Duration::hours(in_hours))}),
        )
        .await;
    assert_eq!(a.body["status"], "in_review", "{a:?}");
    a.body["id"].as_str().unwrap().to_owned()
}

async fn link(app: &App, s: &Shared, days: i64) -> (String, String) {
    let a = app
        .post(
            "/v1/review-links",
            &s.manager,
            json!({"from": app.at(Duration::zero()), "to": app.at(Duration::days(days))}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    let url = a.body["url"].as_str().unwrap();
    let path = &url[url.find("/review/").expect("a review path")..];
    (a.body["id"].as_str().unwrap().to_owned(), path.to_owned())
}

/// A request with no key at all, as a client's browser sends it.
async fn browser(
    app: &App,
    method: Method,
    path: &str,
    form: Option<&str>,
) -> crate::support::Answer {
    let mut request = Request::builder().method(method).uri(path);
    let body = match form {
        Some(form) => {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form.to_owned())
        }
        None => Body::empty(),
    };
    app.send(request.body(body).unwrap()).await
}

async fn audit(app: &App, key: &str) -> Vec<Value> {
    let a = app
        .get(
            &format!(
                "/v1/audit?from={}&to={}&limit=500",
                app.at(Duration::days(-1)),
                app.at(Duration::days(1))
            ),
            key,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    a.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_clients_approval_through_the_link_schedules_the_post_and_is_audited() {
    let app = App::new().await;
    let s = shared(&app).await;
    let post = in_review(&app, &s, "New spring colours <b>today</b>", 2).await;
    let (link_id, path) = link(&app, &s, 7).await;

    let page = browser(&app, Method::GET, &path, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = String::from_utf8(page.raw.clone()).unwrap();
    assert!(
        html.contains("New spring colours &lt;b&gt;today&lt;/b&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>today</b>"));
    assert!(html.contains("acmeshoes (sandbox)"));
    assert!(html.contains("Waiting for your approval"));
    let approve = format!("{path}/posts/{post}/approve");
    assert!(html.contains(&format!("action=\"{approve}\"")), "{html}");

    let a = browser(&app, Method::POST, &approve, None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{a:?}");
    assert_eq!(a.header("location"), Some(path.as_str()));
    let view = app.post_view(&s.ws, &post).await;
    assert_eq!(view["status"], "scheduled");
    assert_eq!(view["approval"]["by"], format!("client:{link_id}"));

    let entries = audit(&app, &s.manager).await;
    let client = entries
        .iter()
        .find(|e| e["actor"] == format!("client:{link_id}"))
        .expect("the client's approval is audited");
    assert_eq!(client["action"], "POST /review/{token}/posts/{id}/approve");
    assert_eq!(client["target"], post.as_str());
    // The token, a credential, is nowhere in the log.
    let token = path.trim_start_matches("/review/");
    assert!(!serde_json::to_string(&entries).unwrap().contains(token));

    // Approved, it goes out at its time.
    app.clock.advance(Duration::hours(2));
    assert_eq!(app.run_publisher().await.due, 1);
    assert_eq!(app.outbox(&s.ws, &s.account).await.len(), 1);
}

#[tokio::test]
async fn a_clients_comment_lands_on_the_post_and_in_the_audit_log() {
    let app = App::new().await;
    let s = shared(&app).await;
    let post = in_review(&app, &s, "Sale starts Friday", 3).await;
    let (link_id, path) = link(&app, &s, 7).await;
    let comments = format!("{path}/posts/{post}/comments");
    let a = browser(
        &app,
        Method::POST,
        &comments,
        Some("comment=Please+say+Saturday+%26+Sunday"),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{a:?}");
    let view = app.post_view(&s.ws, &post).await;
    assert_eq!(view["status"], "in_review", "a comment decides nothing");
    assert_eq!(view["comments"][0]["text"], "Please say Saturday & Sunday");
    assert_eq!(view["comments"][0]["by"], format!("client:{link_id}"));
    let entries = audit(&app, &s.manager).await;
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == format!("client:{link_id}")
                && e["action"] == "POST /review/{token}/posts/{id}/comments"
                && e["target"] == post.as_str())
    );
    let html = String::from_utf8(browser(&app, Method::GET, &path, None).await.raw).unwrap();
    assert!(html.contains("Please say Saturday &amp; Sunday"));

    // Bad comments change nothing.
    let before = app.post_view(&s.ws, &post).await;
    for (content_type, body, status) in [
        (
            "application/x-www-form-urlencoded",
            "comment=",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "application/x-www-form-urlencoded",
            "other=1",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "application/json",
            "{\"comment\":\"hi\"}",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let request = Request::builder()
            .method(Method::POST)
            .uri(&comments)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        let a = app.send(request).await;
        assert_eq!(a.status, status, "{body} {a:?}");
    }
    let long = format!("comment={}", "x".repeat(2001));
    assert_eq!(
        browser(&app, Method::POST, &comments, Some(&long))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(app.post_view(&s.ws, &post).await, before);
}

#[tokio::test]
async fn forged_altered_expired_and_revoked_links_are_404_and_do_nothing() {
    let app = App::new().await;
    let s = shared(&app).await;
    let post = in_review(&app, &s, "Hold me", 2).await;
    let (link_id, path) = link(&app, &s, 7).await;
    let token = path.trim_start_matches("/review/").to_owned();
    // Altered: each position changed, and cut short.
    let mut altered = Vec::new();
    for i in [0, token.len() / 2, token.len() - 1] {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        altered.push(String::from_utf8(bytes).unwrap());
    }
    altered.push(token[..token.len() - 4].to_owned());
    altered.push("forged".into());
    altered.push(format!("{token}x"));
    for bad in &altered {
        let a = browser(&app, Method::GET, &format!("/review/{bad}"), None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{bad}");
        let a = browser(
            &app,
            Method::POST,
            &format!("/review/{bad}/posts/{post}/approve"),
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{bad}");
    }
    assert_eq!(app.post_view(&s.ws, &post).await["status"], "in_review");

    // Another workspace's post, or one outside the window, is not reachable through it.
    let later = in_review(&app, &s, "Next month", 24 * 20).await;
    let a = browser(
        &app,
        Method::POST,
        &format!("{path}/posts/{later}/approve"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{a:?}");
    let other = app.workspace("Other").await;
    let theirs_acct = app.sandbox(&other, "other").await;
    let theirs = app
        .create_post(&other, json!({"text": "theirs", "accounts": [theirs_acct], "scheduled_at": app.at(Duration::hours(1))}))
        .await;
    let a = browser(
        &app,
        Method::POST,
        &format!("{path}/posts/{theirs}/comments"),
        Some("comment=hi"),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{a:?}");

    // Revoked: 404 at once.
    let a = app
        .call(
            Method::DELETE,
            &format!("/v1/review-links/{link_id}"),
            Some(&s.manager),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    assert_eq!(
        browser(&app, Method::GET, &path, None).await.status,
        StatusCode::NOT_FOUND
    );

    // Expired: 404 once its time is up.
    let (_, path) = link(&app, &s, 7).await;
    assert_eq!(
        browser(&app, Method::GET, &path, None).await.status,
        StatusCode::OK
    );
    app.clock.advance(Duration::days(14) + Duration::seconds(1));
    assert_eq!(
        browser(&app, Method::GET, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.post_view(&s.ws, &post).await["status"], "in_review");
}

#[tokio::test]
async fn a_link_is_checked_when_it_is_made() {
    let app = App::new().await;
    let s = shared(&app).await;
    for (body, field) in [
        (
            json!({"from": app.at(Duration::days(1)), "to": app.at(Duration::zero())}),
            "to",
        ),
        (
            json!({"from": app.at(Duration::zero()), "to": app.at(Duration::days(93))}),
            "to",
        ),
        (
            json!({"from": app.at(Duration::zero()), "to": app.at(Duration::days(1)), "expires_at": app.at(Duration::days(31))}),
            "expires_at",
        ),
        (
            json!({"from": app.at(Duration::zero()), "to": app.at(Duration::days(1)), "expires_at": app.at(Duration::seconds(-1))}),
            "expires_at",
        ),
        (json!({"from": app.at(Duration::zero())}), "to"),
    ] {
        let a = app.post("/v1/review-links", &s.manager, body.clone()).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{body} {a:?}");
        a.invalid_field(field);
    }
    let a = app
        .post(
            "/v1/review-links",
            &s.editor,
            json!({"from": app.at(Duration::zero()), "to": app.at(Duration::days(1))}),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{a:?}");
}
